// The approval dialog: reason and optional execution window sent as RFC 3339
// with the local offset, the window's checks, a rejected submission (Request
// Approval disabled, error shown), the submitted notice and OK → Close.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, serve, open, calls, shot, layout } from './helpers.js';
import { approval } from './fixtures.js';

const env = await launch();
const server = env.skip ? null : await serve();
after(async () => { await env.browser?.close(); await server?.close(); });

// The page runs in Europe/Berlin (helpers.open): +01:00 in winter, +02:00
// in summer. Dates are far ahead so "not in the past" holds.
describe('approval dialog', { skip: env.skip }, () => {

  test('reason and window go to RequestApproval as RFC 3339 with the local offset', async (t) => {
    const page = await open(env.browser, server, { current: approval });
    assert.equal(await page.evaluate(() => document.activeElement.id), 'reason');
    assert.equal(await page.textContent('label[for=reason]'), 'Reason (optional)');
    assert.equal(await page.textContent('label[for=window-start]'), 'From');
    assert.equal(await page.textContent('label[for=window-end]'), 'Until');
    assert.deepEqual(await layout(page), []);
    await shot(page, 'approval');
    await page.fill('#reason', '  Monthly close needs the converter  ');
    await page.fill('#window-start', '2099-11-23T14:00');
    await page.fill('#window-end', '2099-11-23T18:30');
    await shot(page, 'approval-filled');
    await page.click('#request-approval');
    await page.waitForSelector('#ok');
    assert.deepEqual(await calls(page), [{
      method: 'RequestApproval',
      args: [105, 'Monthly close needs the converter', '2099-11-23T14:00:00+01:00', '2099-11-23T18:30:00+01:00'],
    }]);
    // The submitted notice: the agent's message, OK calls Close().
    assert.equal(await page.textContent('#dlg-title'), 'Request submitted');
    assert.match(await page.textContent('#dlg-body'), /sent for approval\. A notification will tell you/);
    await shot(page, 'approval-submitted');
    await page.click('#ok');
    assert.equal((await calls(page, 'Close')).length, 1);
  });

  test('a summer window has the summer offset; no window sends empty strings', async (t) => {
    const page = await open(env.browser, server, { current: approval });
    await page.fill('#window-start', '2099-07-01T09:30');
    await page.fill('#window-end', '2099-07-02T09:30');
    await page.click('#request-approval');
    await page.waitForSelector('#ok');
    assert.deepEqual(await calls(page), [
      { method: 'RequestApproval', args: [105, '', '2099-07-01T09:30:00+02:00', '2099-07-02T09:30:00+02:00'] },
    ]);

    const page2 = await open(env.browser, server, { current: approval });
    await page2.keyboard.press('Enter'); // in the reason: a new line, not a submission
    assert.deepEqual(await calls(page2), []);
    await page2.click('#window-start');
    await page2.keyboard.press('Enter'); // in a field: Request Approval
    await page2.waitForSelector('#ok');
    assert.deepEqual(await calls(page2), [{ method: 'RequestApproval', args: [105, '', '', ''] }]);
  });

  test('an end before the start is refused', async (t) => {
    const page = await open(env.browser, server, { current: approval });
    await page.fill('#window-start', '2099-11-23T14:00');
    await page.fill('#window-end', '2099-11-23T09:00');
    await page.click('#request-approval');
    assert.equal(await page.textContent('#window-error'), 'The end must be after the start.');
    assert.equal(await page.getAttribute('#window-end', 'aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'window-end');
    assert.deepEqual(await calls(page), []);
    assert.deepEqual(await layout(page), []);
    await shot(page, 'approval-end-before-start');
    // Fixing it clears the message.
    await page.fill('#window-end', '2099-11-24T09:00');
    assert.equal(await page.isHidden('#window-error'), true);
  });

  test('a start in the past, and half a window, are refused', async (t) => {
    const page = await open(env.browser, server, { current: approval });
    await page.fill('#window-start', '2020-01-01T10:00');
    await page.fill('#window-end', '2099-01-01T10:00');
    await page.click('#request-approval');
    assert.equal(await page.textContent('#window-error'), 'The start is in the past. Choose a time from now on, or leave both empty.');
    assert.equal(await page.getAttribute('#window-start', 'aria-invalid'), 'true');
    await page.fill('#window-start', '');
    await page.click('#request-approval');
    assert.equal(await page.textContent('#window-error'), 'Give both a start and an end, or leave both empty.');
    assert.deepEqual(await calls(page), []);
  });

  test('a start a few seconds ago counts as now', async (t) => {
    const page = await open(env.browser, server, { current: approval });
    // The current minute, which began up to 59 s ago.
    const start = await page.evaluate(() => {
      const d = new Date();
      const p = (n) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
    });
    await page.fill('#window-start', start);
    await page.fill('#window-end', '2099-01-01T10:00');
    await page.click('#request-approval');
    await page.waitForSelector('#ok');
    assert.equal((await calls(page, 'RequestApproval')).length, 1);
  });

  test('a minimum reason length applies to approval too', async (t) => {
    const page = await open(env.browser, server, { current: { ...approval, min_justification: 20 } });
    assert.equal(await page.textContent('label[for=reason]'), 'Reason');
    await page.fill('#reason', 'because');
    await page.click('#request-approval');
    assert.equal(await page.textContent('#reason-error'), 'Please give at least 20 characters (you have 7).');
    assert.deepEqual(await calls(page), []);
  });

  test('a failed submission disables Request Approval and shows the error', async (t) => {
    const err = 'gatehoused is not answering: dial unix /run/gatehouse/api.sock: connect: connection refused';
    const page = await open(env.browser, server, { current: approval, results: { RequestApproval: [{ err, delay: 50 }] } });
    await page.fill('#reason', 'Needed for the audit');
    await page.click('#request-approval');
    await page.waitForSelector('#error:not([hidden])');
    assert.equal(await page.textContent('#error'), 'Gatehoused is not answering: dial unix /run/gatehouse/api.sock: connect: connection refused');
    assert.equal(await page.isDisabled('#request-approval'), true);
    assert.equal(await page.isEnabled('#cancel'), true);
    assert.deepEqual(await layout(page), []);
    await shot(page, 'approval-failed');
    // Enter no longer submits; Escape still cancels.
    await page.focus('#reason');
    await page.keyboard.press('Control+Enter');
    await page.keyboard.press('Escape');
    assert.deepEqual((await calls(page)).map((c) => c.method), ['RequestApproval', 'Cancel']);
  });

  test('buttons are disabled while the request is on its way', async (t) => {
    const page = await open(env.browser, server, { current: approval, results: { RequestApproval: [{ ok: { message: 'sent' }, delay: 400 }] } });
    await page.click('#request-approval');
    assert.equal(await page.isDisabled('#request-approval'), true);
    assert.equal(await page.isDisabled('#cancel'), true);
    await page.keyboard.press('Escape');
    await page.waitForSelector('#ok');
    assert.deepEqual((await calls(page)).map((c) => c.method), ['RequestApproval']);
  });

  test('an approval already submitted shows the submitted notice', async (t) => {
    const page = await open(env.browser, server, { current: { ...approval, state: 'submitted' } });
    assert.equal(await page.textContent('#dlg-title'), 'Request submitted');
    assert.equal(await page.locator('#request-approval').count(), 0);
    await page.keyboard.press('Escape');
    assert.deepEqual(await calls(page), [{ method: 'Close', args: [] }]);
  });
});
