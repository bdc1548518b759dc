// The offline approval dialog: computer and request code to read to the
// help desk, the response code typed in groups of four, its errors inline.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, serve, open, calls, shot, layout } from './helpers.js';
import { offline } from './fixtures.js';

const env = await launch();
const server = env.skip ? null : await serve();
after(async () => { await env.browser?.close(); await server?.close(); });

describe('offline approval dialog', { skip: env.skip }, () => {

  test('shows computer and request code; Copy puts the code on the clipboard', async (t) => {
    const page = await open(env.browser, server, { current: offline });
    assert.equal(await page.textContent('#computer'), 'LAPTOP-ALICE-7');
    assert.equal(await page.textContent('#request-code'), '191279');
    assert.equal(await page.textContent('#policy-revision'), '12');
    assert.equal(await page.$eval('#request-code', (e) => getComputedStyle(e).userSelect), 'all');
    assert.match(await page.textContent('#dlg-body'), /Call your help desk, read them the details below/);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'response-code');
    assert.deepEqual(await layout(page), []);
    await shot(page, 'offline');
    await page.click('#copy-code');
    await page.waitForFunction(() => document.getElementById('copy-status').textContent === 'Copied');
    assert.deepEqual(await calls(page), [{ method: 'ClipboardSetText', args: ['191279'] }]);
  });

  test('without a policy revision the column is left out', async () => {
    const page = await open(env.browser, server, { current: { ...offline, policy_revision: undefined } });
    assert.equal(await page.locator('#policy-revision').count(), 0);
    assert.deepEqual(await layout(page), []);
  });

  test('the response code is shown in groups of four; lower case, spaces and dashes are fine', async (t) => {
    const page = await open(env.browser, server, { current: offline });
    await page.keyboard.type('ab3d efg-hj k7m9');
    assert.equal(await page.inputValue('#response-code'), 'AB3D-EFGH-JK7M-9');
    await page.keyboard.press('Backspace');
    await page.keyboard.press('Backspace'); // over the dash: removes M
    assert.equal(await page.inputValue('#response-code'), 'AB3D-EFGH-JK7');
    await page.keyboard.type('n');
    assert.equal(await page.inputValue('#response-code'), 'AB3D-EFGH-JK7N');
    // Typing in the middle keeps the caret after what was typed.
    await page.keyboard.press('Home');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('Delete');
    await page.keyboard.type('z');
    assert.equal(await page.inputValue('#response-code'), 'ABZD-EFGH-JK7N');
    assert.equal(await page.$eval('#response-code', (e) => e.selectionStart), 3);
    await shot(page, 'offline-typed');
    await page.keyboard.press('Enter');
    assert.deepEqual(await calls(page), [{ method: 'SubmitResponseCode', args: [106, 'ABZD-EFGH-JK7N'] }]);
  });

  test('a pasted code with spaces is accepted as it is', async (t) => {
    const page = await open(env.browser, server, { current: offline });
    await page.fill('#response-code', 'abzd efgh jk7n');
    assert.equal(await page.inputValue('#response-code'), 'ABZD-EFGH-JK7N');
    await page.click('#submit');
    assert.deepEqual(await calls(page), [{ method: 'SubmitResponseCode', args: [106, 'ABZD-EFGH-JK7N'] }]);
  });

  test('a code of the wrong length is refused here', async (t) => {
    const page = await open(env.browser, server, { current: offline });
    await page.click('#submit');
    assert.equal(await page.textContent('#response-error'), 'Type the 12-character response code the help desk gave you.');
    await page.fill('#response-code', 'ABCD-EFG');
    await page.click('#submit');
    assert.equal(await page.textContent('#response-error'), 'The response code has 12 characters; you typed 7.');
    assert.equal(await page.getAttribute('#response-code', 'aria-invalid'), 'true');
    assert.deepEqual(await calls(page), []);
  });

  for (const [name, err] of [
    ['wrong code', 'the response code is not right for this request; check it with the help desk'],
    ['too many attempts', 'too many wrong response codes for this request; ask the help desk for a new request'],
    ['expired', 'this offline request has expired; start the program again for a new request code'],
  ]) {
    test(`a rejected code (${name}) shows the agent's text inline`, async (t) => {
      const page = await open(env.browser, server, { current: offline, results: { SubmitResponseCode: [{ err }] } });
      await page.fill('#response-code', 'ABZD-EFGH-JK7N');
      await page.click('#submit');
      await page.waitForSelector('#response-error:not([hidden])');
      assert.equal(await page.textContent('#response-error'), err[0].toUpperCase() + err.slice(1));
      assert.equal(await page.getAttribute('#response-error', 'role'), 'alert');
      assert.equal(await page.isEnabled('#submit'), true);
      assert.equal(await page.evaluate(() => document.activeElement.id), 'response-code');
      assert.deepEqual(await layout(page), []);
      if (name === 'wrong code') {
        await shot(page, 'offline-wrong-code');
      }
      // Typing again clears the message.
      await page.keyboard.type('X');
      assert.equal(await page.isHidden('#response-error'), true);
    });
  }

  test('a right code: the outcome message, or nothing when the agent closes', async (t) => {
    const msg = 'ffmpeg may run now. Run it again from the terminal where you started it.';
    const page = await open(env.browser, server, { current: offline, results: { SubmitResponseCode: [{ ok: { message: msg } }] } });
    await page.fill('#response-code', 'ABZD-EFGH-JK7N');
    await page.click('#submit');
    await page.waitForSelector('#ok');
    assert.equal(await page.textContent('#dlg-body'), msg);

    const page2 = await open(env.browser, server, { current: offline });
    await page2.fill('#response-code', 'ABZD-EFGH-JK7N');
    await page2.click('#submit');
    await page2.waitForTimeout(50);
    assert.equal(await page2.locator('#ok').count(), 0);
    assert.deepEqual((await calls(page2)).map((c) => c.method), ['SubmitResponseCode']);
  });

  test('Escape is Cancel', async (t) => {
    const page = await open(env.browser, server, { current: offline });
    await page.keyboard.press('Escape');
    assert.deepEqual(await calls(page), [{ method: 'Cancel', args: [106] }]);
  });
});
