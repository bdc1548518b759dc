// The window as a whole: the empty state, the "dialog" event switching
// dialogs, policy text shown literally, no remote content, and the states
// when the agent cannot be reached.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, serve, open, calls, emit, shot, layout } from './helpers.js';
import { warning, justification, denied, approval, offline } from './fixtures.js';

const env = await launch();
const server = env.skip ? null : await serve();
after(async () => { await env.browser?.close(); await server?.close(); });

describe('dialog window', { skip: env.skip }, () => {

  test('Current() null: a neutral "No pending requests" view', async (t) => {
    const page = await open(env.browser, server, { current: null });
    assert.equal(await page.textContent('#dlg-title'), 'No pending requests');
    assert.equal(await page.locator('button').count(), 0);
    await page.keyboard.press('Escape');
    await page.keyboard.press('Enter');
    assert.deepEqual(await calls(page), []);
    assert.deepEqual(await layout(page), []);
    await shot(page, 'empty');
  });

  test('the "dialog" event switches dialogs, and null empties the window', async (t) => {
    const page = await open(env.browser, server, { current: warning });
    await emit(page, 'dialog', justification);
    assert.equal(await page.textContent('#dlg-title'), justification.title);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'reason');
    await page.fill('#reason', 'typed before the same dialog came again');
    // The same dialog again keeps what was typed.
    await emit(page, 'dialog', justification);
    assert.equal(await page.inputValue('#reason'), 'typed before the same dialog came again');
    await emit(page, 'dialog', denied);
    assert.equal(await page.textContent('#dlg-title'), denied.title);
    // Buttons act on the dialog on screen.
    await page.click('#cancel');
    assert.deepEqual(await calls(page), [{ method: 'Cancel', args: [103] }]);
    await emit(page, 'dialog', null);
    assert.equal(await page.textContent('#dlg-title'), 'No pending requests');
    await emit(page, 'dialog', offline);
    assert.equal(await page.textContent('#request-code'), '191279');
    assert.deepEqual(page.jsErrors, []);
  });

  test('the same dialog shown again after it was answered starts afresh', async (t) => {
    const page = await open(env.browser, server, { current: justification });
    await page.fill('#reason', 'a reason long enough');
    await page.click('#continue');
    await page.waitForFunction(() => document.getElementById('continue').disabled);
    // Once the answer is handled (Current and Continue settled), say the
    // agent could not hide the window and shows the dialog again.
    await page.waitForFunction(() => window.__settled >= 2);
    await emit(page, 'dialog', justification);
    assert.equal(await page.isEnabled('#continue'), true);
    assert.equal(await page.inputValue('#reason'), '');
  });

  test('an answer that arrives after the dialog changed does not touch the new one', async (t) => {
    const page = await open(env.browser, server, {
      current: warning,
      results: { Continue: [{ ok: { message: 'late message' }, delay: 300 }] },
    });
    await page.click('#continue');
    await emit(page, 'dialog', approval);
    await page.waitForTimeout(400);
    assert.equal(await page.textContent('#dlg-title'), approval.title);
    assert.equal(await page.locator('#ok').count(), 0);
    assert.equal(await page.isEnabled('#request-approval'), true);
  });

  test('an event that comes before Current() answers wins', async (t) => {
    const page = await open(env.browser, server, {
      current: warning,
      results: { Current: [{ ok: warning, delay: 500 }] },
    });
    await emit(page, 'dialog', denied);
    await page.waitForTimeout(600);
    assert.equal(await page.textContent('#dlg-title'), denied.title);
  });

  test('policy text with HTML is shown literally', async (t) => {
    const html = '<b>bold</b> <img src=x onerror="window.__pwned=1"> <a href="https://evil.example">link</a>';
    const d = {
      ...denied,
      company: '<i>Acme</i>',
      title: '<script>window.__pwned=1</script>Title',
      body: html,
      program: { ...denied.program, name: '<u>n</u>', publisher: '<b>Pub</b>', path: '/tmp/<x>' },
    };
    const page = await open(env.browser, server, { current: d });
    await page.click('#publisher-info');
    assert.equal(await page.textContent('.brand'), '<i>Acme</i>');
    assert.equal(await page.textContent('#dlg-title'), '<script>window.__pwned=1</script>Title');
    assert.equal(await page.textContent('#dlg-body'), html);
    assert.equal(await page.textContent('.pname'), '<u>n</u>');
    assert.equal(await page.locator('.dialog b, .dialog i, .dialog u, .dialog img, .dialog script, .dialog a[href*=evil]').count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    await shot(page, 'html-literal');
    // Rejection texts too.
    await page.evaluate(() => window.__emit('dialog', null));
  });

  test('an error text with HTML is shown literally', async (t) => {
    const page = await open(env.browser, server, {
      current: warning,
      results: { Continue: [{ err: '<b>no</b> <img src=x onerror="window.__pwned=1">' }] },
    });
    await page.click('#continue');
    await page.waitForSelector('#error:not([hidden])');
    assert.equal(await page.textContent('#error'), '<b>no</b> <img src=x onerror="window.__pwned=1">');
    assert.equal(await page.locator('#error b, #error img').count(), 0);
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
  });

  test('everything comes from the page\'s own server', async (t) => {
    const seen = [];
    const page = await open(env.browser, server, { current: warning });
    page.on('request', (r) => seen.push(r.url()));
    await page.reload();
    await page.waitForSelector('.dialog');
    assert.ok(seen.length >= 4, `requests: ${seen}`);
    for (const u of seen) {
      assert.ok(u.startsWith(server.url), `remote request: ${u}`);
    }
    // The CSP forbids any other origin.
    const csp = await page.getAttribute('meta[http-equiv=Content-Security-Policy]', 'content');
    assert.match(csp, /default-src 'self'/);
  });

  test('without the Wails bridge the window says so', async (t) => {
    const page = await open(env.browser, server, { noBridge: true });
    await page.waitForSelector('text=The dialog cannot reach the Gatehouse agent');
    await shot(page, 'no-bridge');
  });

  test('a rejected Current() is shown', async (t) => {
    const page = await open(env.browser, server, { results: { Current: [{ err: 'agent stopped' }] } });
    assert.equal(await page.textContent('#dlg-body'), 'Could not load the request: Agent stopped');
  });

  test('an unknown kind is shown as such, not as a broken window', async (t) => {
    const page = await open(env.browser, server, { current: { ...warning, kind: 'elevate' } });
    assert.equal(await page.textContent('#dlg-title'), 'This request cannot be shown');
    assert.match(await page.textContent('#dlg-body'), /"elevate"/);
  });

  test('a long title, body and path stay inside the window', async (t) => {
    const long = {
      ...approval,
      company: 'Ministry of Very Long Organisation Names and Departmental Affairs of the Republic',
      title: 'com.example.enterprise.build-tools.code-signing-helper-with-a-very-long-name needs approval',
      body: 'Line one of a long policy message.\n'.repeat(12),
      program: { ...approval.program, name: 'x'.repeat(120), path: `/opt/${'deep/'.repeat(40)}tool` },
    };
    const page = await open(env.browser, server, { current: long });
    assert.deepEqual(await layout(page), []);
    await shot(page, 'long-text');
  });

  test('dark mode keeps the same layout', async (t) => {
    const page = await open(env.browser, server, { current: offline }, { colorScheme: 'dark' });
    t.after(() => page.context().close());
    assert.deepEqual(await layout(page), []);
    await shot(page, 'offline-dark');
  });
});
