// The denied dialog: the custom message, Close (Cancel) and Publisher Info
// only, and the panel's contents for signed and unsigned programs.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, serve, open, calls, shot, layout } from './helpers.js';
import { denied, deniedUnsigned } from './fixtures.js';

const env = await launch();
const server = env.skip ? null : await serve();
after(async () => { await env.browser?.close(); await server?.close(); });

// panel returns the Publisher Info panel as [label, value] pairs.
function panel(page) {
  return page.$$eval('#publisher-panel dt', (dts) => dts.map((dt) => [dt.textContent, dt.nextElementSibling.textContent]));
}

describe('denied dialog', { skip: env.skip }, () => {

  test('shows the message with only Publisher Info and Close', async (t) => {
    const page = await open(env.browser, server, { current: denied });
    assert.equal(await page.textContent('#dlg-body'), denied.body);
    const buttons = await page.$$eval('.foot button', (bs) => bs.map((b) => [b.id, b.textContent, b.disabled]));
    assert.deepEqual(buttons, [['publisher-info', 'Publisher Info', false], ['cancel', 'Close', false]]);
    assert.equal(await page.locator('#continue, #request-approval, #submit').count(), 0);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'cancel');
    assert.equal(await page.isHidden('#publisher-panel'), true);
    assert.deepEqual(await layout(page), []);
    await shot(page, 'denied');
  });

  test('Publisher Info toggles the panel with publisher, team, signing id, path, hash and type', async (t) => {
    const page = await open(env.browser, server, { current: denied });
    assert.equal(await page.getAttribute('#publisher-info', 'aria-expanded'), 'false');
    assert.equal(await page.getAttribute('#publisher-info', 'aria-controls'), 'publisher-panel');
    await page.click('#publisher-info');
    assert.equal(await page.isVisible('#publisher-panel'), true);
    assert.equal(await page.getAttribute('#publisher-info', 'aria-expanded'), 'true');
    assert.deepEqual(await panel(page), [
      ['Publisher', denied.program.publisher],
      ['Team ID', 'BJ4HAAB9B3'],
      ['Signing ID', 'us.zoom.xos'],
      ['Path', denied.program.path],
      ['SHA-256', denied.program.sha256],
      ['App type', 'Application bundle'],
    ]);
    assert.deepEqual(await layout(page), []);
    await shot(page, 'denied-publisher-info');
    await page.click('#publisher-info');
    assert.equal(await page.isHidden('#publisher-panel'), true);
    // Publisher Info calls nothing.
    assert.deepEqual(await calls(page), []);
  });

  test('an unsigned program on Linux: no publisher information on this system', async (t) => {
    const page = await open(env.browser, server, { current: deniedUnsigned });
    await page.click('#publisher-info');
    assert.deepEqual(await panel(page), [
      ['Signature', 'No publisher information on this system'],
      ['Path', deniedUnsigned.program.path],
      ['SHA-256', deniedUnsigned.program.sha256],
      ['App type', 'ELF executable'],
    ]);
    await shot(page, 'denied-unsigned');
  });

  test('an unsigned program on macOS: Not signed; missing facts say so', async (t) => {
    const mac = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)';
    const program = { name: 'tool', path: '/usr/local/bin/tool' };
    const page = await open(env.browser, server, { current: { ...deniedUnsigned, program } }, { userAgent: mac });
    t.after(() => page.context().close());
    await page.click('#publisher-info');
    assert.deepEqual(await panel(page), [
      ['Signature', 'Not signed'],
      ['Path', '/usr/local/bin/tool'],
      ['SHA-256', 'Not known'],
      ['App type', 'Not known'],
    ]);
  });

  test('Close, Escape and Enter call Cancel(id)', async (t) => {
    for (const how of ['click', 'Escape', 'Enter']) {
      const page = await open(env.browser, server, { current: denied });
      if (how === 'click') {
        await page.click('#cancel');
      } else {
        await page.keyboard.press(how);
      }
      assert.deepEqual(await calls(page), [{ method: 'Cancel', args: [103] }], how);
    }
  });
});
