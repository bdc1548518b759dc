// The admin-rights dialog (the menu's Request admin rights…): the length
// starts at the policy's default, a required reason is checked before
// anything is sent, RequestAdmin gets the length's value and the trimmed
// reason, the outcome is shown with OK, and Escape cancels. An approval
// entry's button says Request Approval.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, serve, open, calls, shot, layout } from './helpers.js';
import { admin } from './fixtures.js';

const env = await launch();
const server = env.skip ? null : await serve();
after(async () => { await env.browser?.close(); await server?.close(); });

describe('admin dialog', { skip: env.skip }, () => {

  test('length and reason go to RequestAdmin; the outcome is shown', async (t) => {
    const page = await open(env.browser, server, { current: admin });
    assert.equal(await page.evaluate(() => document.activeElement.id), 'length');
    assert.equal(await page.inputValue('#length'), '15m0s');
    assert.equal(await page.textContent('label[for=length]'), 'For how long');
    assert.equal(await page.textContent('label[for=reason]'), 'Reason');
    assert.equal(await page.textContent('#request-admin'), 'Request');
    assert.deepEqual(await layout(page), []);
    await shot(page, 'admin');
    await page.fill('#reason', 'short');
    await page.click('#request-admin');
    assert.equal(await page.textContent('#reason-error'), 'Please give at least 10 characters (you have 5).');
    assert.deepEqual(await calls(page), []);
    await page.selectOption('#length', '1h0m0s');
    await page.fill('#reason', '  install the printer driver  ');
    await page.click('#request-admin');
    await page.waitForSelector('#ok');
    assert.deepEqual(await calls(page), [{ method: 'RequestAdmin', args: ['1h0m0s', 'install the printer driver'] }]);
    assert.equal(await page.textContent('#dlg-title'), 'Admin rights');
    assert.match(await page.textContent('#dlg-body'), /You have admin rights until 15:30/);
    await shot(page, 'admin-granted');
    await page.click('#ok');
    assert.equal((await calls(page, 'Close')).length, 1);
  });

  test('a refusal is shown; Escape cancels the dialog, not a request', async (t) => {
    const err = 'your policy does not let you have admin rights on this computer';
    const page = await open(env.browser, server, { current: admin, results: { RequestAdmin: [{ err }] } });
    await page.fill('#reason', 'install the printer driver');
    await page.click('#request-admin');
    await page.waitForSelector('#error:not([hidden])');
    assert.equal(await page.textContent('#error'), 'Your policy does not let you have admin rights on this computer');
    await page.keyboard.press('Escape');
    assert.deepEqual(await calls(page), [
      { method: 'RequestAdmin', args: ['15m0s', 'install the printer driver'] },
      { method: 'Cancel', args: [-1] },
    ]);
  });

  test('an entry that needs approval: optional reason, Request Approval', async (t) => {
    const page = await open(env.browser, server, {
      current: { ...admin, min_justification: 0, admin: { ...admin.admin, require: 'approval' } },
    });
    assert.equal(await page.textContent('#request-admin'), 'Request Approval');
    assert.equal(await page.textContent('label[for=reason]'), 'Reason (optional)');
    await page.click('#request-admin');
    await page.waitForSelector('#ok');
    assert.deepEqual(await calls(page), [{ method: 'RequestAdmin', args: ['15m0s', ''] }]);
  });
});
