// Warning and justification dialogs: Continue / Cancel, the reason's
// minimum length, Enter and Escape, rejected calls and outcome messages.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, serve, open, calls, shot, layout } from './helpers.js';
import { warning, justification } from './fixtures.js';

const env = await launch();
const server = env.skip ? null : await serve();
after(async () => { await env.browser?.close(); await server?.close(); });

describe('warning dialog', { skip: env.skip }, () => {

  test('shows the policy text, branding and program; Continue sends an empty reason', async (t) => {
    const page = await open(env.browser, server, { current: warning });
    assert.equal(await page.textContent('.brand'), 'Acme Corporation');
    assert.equal(await page.textContent('#dlg-title'), warning.title);
    assert.equal(await page.textContent('#dlg-body'), warning.body);
    assert.equal(await page.textContent('.pname'), 'ffmpeg');
    assert.equal(await page.textContent('.ppath'), warning.program.path);
    const role = await page.getAttribute('.dialog', 'role');
    assert.equal(role, 'dialog');
    assert.equal(await page.getAttribute('.dialog', 'aria-labelledby'), 'dlg-title');
    assert.equal(await page.getAttribute('.dialog', 'aria-describedby'), 'dlg-body');
    // The default button has the focus.
    assert.equal(await page.evaluate(() => document.activeElement.id), 'continue');
    assert.deepEqual(await layout(page), []);
    await shot(page, 'warning');
    await page.click('#continue');
    assert.deepEqual(await calls(page), [{ method: 'Continue', args: [101, ''] }]);
    // Outcome close: the agent hides the window; nothing else is called and
    // the buttons stay disabled so a second click cannot answer again.
    await page.waitForTimeout(50);
    assert.equal(await page.isDisabled('#continue'), true);
    assert.deepEqual(await calls(page), [{ method: 'Continue', args: [101, ''] }]);
    assert.deepEqual(page.jsErrors, []);
  });

  test('More information opens the browser, not the dialog window', async (t) => {
    const page = await open(env.browser, server, { current: warning });
    await page.click('#more-info');
    assert.deepEqual(await calls(page), [{ method: 'BrowserOpenURL', args: [warning.url] }]);
    assert.equal(page.url().endsWith('/'), true);
  });

  test('a link that is not http(s) is not shown', async (t) => {
    const page = await open(env.browser, server, { current: { ...warning, url: 'javascript:alert(1)' } });
    assert.equal(await page.locator('#more-info').count(), 0);
  });

  test('Cancel and Escape call Cancel(id)', async (t) => {
    const page = await open(env.browser, server, { current: warning });
    await page.click('#cancel');
    assert.deepEqual(await calls(page), [{ method: 'Cancel', args: [101] }]);

    const page2 = await open(env.browser, server, { current: warning });
    await page2.keyboard.press('Escape');
    assert.deepEqual(await calls(page2), [{ method: 'Cancel', args: [101] }]);
  });

  test('Enter is Continue', async (t) => {
    const page = await open(env.browser, server, { current: warning });
    await page.locator('.body').click(); // focus off the buttons
    await page.keyboard.press('Enter');
    assert.deepEqual(await calls(page), [{ method: 'Continue', args: [101, ''] }]);
  });

  test('an outcome message is shown with OK, which calls Close()', async (t) => {
    const msg = 'ffmpeg may run now. Run it again from the terminal where you started it.';
    const page = await open(env.browser, server, { current: warning, results: { Continue: [{ ok: { message: msg } }] } });
    await page.click('#continue');
    await page.waitForSelector('#ok');
    assert.equal(await page.textContent('#dlg-body'), msg);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'ok');
    await shot(page, 'outcome-message');
    await page.keyboard.press('Enter');
    assert.deepEqual(await calls(page), [{ method: 'Continue', args: [101, ''] }, { method: 'Close', args: [] }]);
  });

  test('a rejected Continue shows the error and can be tried again', async (t) => {
    const page = await open(env.browser, server, {
      current: warning,
      results: { Continue: [{ err: 'request 101 is no longer waiting for you; close this window' }] },
    });
    await page.click('#continue');
    await page.waitForSelector('#error:not([hidden])');
    assert.equal(await page.textContent('#error'), 'Request 101 is no longer waiting for you; close this window');
    assert.equal(await page.getAttribute('#error', 'role'), 'alert');
    assert.equal(await page.isEnabled('#continue'), true);
    await shot(page, 'warning-error');
  });
});

describe('justification dialog', { skip: env.skip }, () => {

  test('focuses the reason, which has a label and a hint', async (t) => {
    const page = await open(env.browser, server, { current: justification });
    assert.equal(await page.evaluate(() => document.activeElement.id), 'reason');
    assert.equal(await page.textContent('label[for=reason]'), 'Reason');
    assert.match(await page.getAttribute('#reason', 'aria-describedby'), /reason-hint/);
    assert.equal(await page.textContent('#reason-hint'), 'At least 10 characters.');
    assert.deepEqual(await layout(page), []);
    await shot(page, 'justification');
  });

  test('a reason that is too short is refused with a clear message', async (t) => {
    const page = await open(env.browser, server, { current: justification });
    await page.fill('#reason', '  test  ');
    await page.click('#continue');
    assert.equal(await page.textContent('#reason-error'), 'Please give at least 10 characters (you have 4).');
    assert.equal(await page.getAttribute('#reason', 'aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'reason');
    assert.deepEqual(await calls(page), []);
    await shot(page, 'justification-too-short');
    // The message follows the typing and goes once the reason is enough.
    await page.fill('#reason', 'testing the build');
    assert.equal(await page.isHidden('#reason-error'), true);
    assert.equal(await page.getAttribute('#reason', 'aria-invalid'), null);
    await page.click('#continue');
    assert.deepEqual(await calls(page), [{ method: 'Continue', args: [102, 'testing the build'] }]);
  });

  test('with no minimum, an empty reason is refused', async (t) => {
    const page = await open(env.browser, server, { current: { ...justification, min_justification: 0 } });
    await page.click('#continue');
    assert.equal(await page.textContent('#reason-error'), 'Please give a reason.');
    assert.deepEqual(await calls(page), []);
  });

  test('Enter in the reason is a new line; Ctrl+Enter is Continue; Escape is Cancel', async (t) => {
    const page = await open(env.browser, server, { current: justification });
    await page.keyboard.type('Quarterly report');
    await page.keyboard.press('Enter');
    await page.keyboard.type('for finance');
    assert.equal(await page.inputValue('#reason'), 'Quarterly report\nfor finance');
    assert.deepEqual(await calls(page), []);
    await page.keyboard.press('Control+Enter');
    assert.deepEqual(await calls(page), [{ method: 'Continue', args: [102, 'Quarterly report\nfor finance'] }]);

    const page2 = await open(env.browser, server, { current: justification });
    await page2.keyboard.type('abc');
    await page2.keyboard.press('Escape');
    assert.deepEqual(await calls(page2), [{ method: 'Cancel', args: [102] }]);
  });

  test('Meta+Enter (Cmd on a Mac) is Continue too', async (t) => {
    const page = await open(env.browser, server, { current: justification });
    await page.keyboard.type('Needed for the customer demo');
    await page.keyboard.press('Meta+Enter');
    assert.deepEqual(await calls(page), [{ method: 'Continue', args: [102, 'Needed for the customer demo'] }]);
  });
});
