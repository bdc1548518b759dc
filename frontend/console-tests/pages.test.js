// The console's pages in real Chromium against a real console, started by
// the Go test that runs this file (console/server/pages_test.go) with:
//   CONSOLE_URL   the console (HTTPS with its own CA)
//   PASSWORD      every account's password (ann: approver, desk: help
//                 desk, aud: auditor)
//   HELPER_URL    the Go test's helper: GET /upload makes the enrolled
//                 machine upload another request; GET /totp is the code
//                 root's authenticator app shows (root, an admin, has a
//                 second factor)
//   CODE_FILE     where the help desk's response code is written, for the
//                 Go test to check against the machine's secret
// Screenshots go to test-results/console-*.png.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { launch, resultsDir } from '../tests/helpers.js';

const url = process.env.CONSOLE_URL;
const password = process.env.PASSWORD;
const env = url ? await launch() : { skip: 'CONSOLE_URL is not set: run through go test ./console/server (TestPagesInChromium)' };
after(async () => { await env.browser?.close(); });

const desktop = { width: 1280, height: 800 };
const phone = { width: 390, height: 844 };

async function shot(page, name) {
  await mkdir(resultsDir, { recursive: true });
  await page.screenshot({ path: path.join(resultsDir, `console-${name}.png`), fullPage: true });
}

async function signIn(name, viewport = desktop) {
  const ctx = await env.browser.newContext({ viewport, ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  const external = [];
  page.on('request', (r) => { if (!r.url().startsWith(url)) { external.push(r.url()); } });
  await page.goto(url);
  await page.waitForSelector('#name');
  // Keyboard only: the name field has focus; Tab to the password; Enter.
  await page.keyboard.type(name);
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#nav a');
  return { page, ctx, external };
}

const controls = new Set(['button', 'textbox', 'combobox', 'checkbox', 'link', 'listbox', 'spinbutton']);
async function unnamed(page) {
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = await cdp.send('Accessibility.getFullAXTree');
  const roles = nodes.filter((n) => !n.ignored).map((n) => ({ role: n.role?.value, name: (n.name?.value || '').trim() }));
  return { unnamed: roles.filter((n) => controls.has(n.role) && n.name === ''), count: roles.filter((n) => controls.has(n.role)).length };
}

// What each page shows once it has loaded.
const ready = {
  '#/requests': '#pending-title',
  '#/offline': '#make-code',
  '#/computers': 'tbody tr',
  '#/audit': '#audit-count:not(:empty)',
  '#/policy': '#lint-summary',
  '#/notifications': '#n-target',
};

// Every page of the signed-in role, reached from the menu by keyboard
// alone (Tab to its link, Enter), has a name for every control and
// headers on its tables; returns the pages visited.
async function everyPageByKeyboard(page) {
  const hrefs = await page.$$eval('#nav a', (as) => as.map((a) => a.getAttribute('href')));
  for (const href of hrefs) {
    let tabs = 0;
    while (await page.evaluate(() => document.activeElement?.getAttribute('href')) !== href) {
      assert.ok(++tabs < 60, `${href} is not reached by Tab`);
      await page.keyboard.press('Tab');
    }
    await page.keyboard.press('Enter');
    await page.waitForFunction((h) => location.hash === h, href);
    await page.waitForSelector(ready[href]);
    const r = await unnamed(page);
    assert.deepEqual(r.unnamed, [], `controls without an accessible name on ${href}`);
    const bare = await page.$$eval('table', (ts) => ts.filter((t) => !t.querySelector('th[scope="col"]')).length);
    assert.equal(bare, 0, `a table without column headers on ${href}`);
  }
  return hrefs;
}

describe('console pages', { skip: env.skip }, () => {
  test('a wrong password is refused on the page', async () => {
    const ctx = await env.browser.newContext({ viewport: desktop, ignoreHTTPSErrors: true });
    const page = await ctx.newPage();
    await page.goto(url);
    await page.fill('#name', 'ann');
    await page.fill('#password', 'not the password');
    await page.click('#sign-in');
    await page.waitForSelector('#signin-error:not([hidden])');
    assert.match(await page.textContent('#signin-error'), /name or the password is not right/);
    await shot(page, 'signin-refused');
    await ctx.close();
  });

  test('single sign-on signs in the account the provider names', async () => {
    const ctx = await env.browser.newContext({ viewport: desktop, ignoreHTTPSErrors: true });
    const page = await ctx.newPage();
    await page.goto(url);
    await page.waitForSelector('#sso');
    await page.click('#sso');
    await page.waitForSelector('#nav a');
    assert.equal(await page.textContent('#who'), 'sso@example.com (auditor)');
    await ctx.close();
  });

  test('an approver sees the queue live and approves', async () => {
    const { page, ctx, external } = await signIn('ann');
    const links = await page.$$eval('#nav a', (as) => as.map((a) => a.textContent));
    assert.deepEqual(links, ['Requests', 'Computers', 'Audit'], 'an approver has no offline approval page');
    await page.waitForSelector('article[data-request]');
    const first = page.locator('article[data-request]').first();
    assert.match(await first.locator('h3').textContent(), /^Tool \d on mac-e2e$/, 'an app bundle is called by its name');
    assert.doesNotMatch(await first.textContent(), /null|undefined/);
    assert.match(await first.textContent(), /quarterly report/);
    assert.match(await first.textContent(), /mac-e2e/);
    assert.match(await first.textContent(), /0 of 1 approval/);
    const r = await unnamed(page);
    assert.ok(r.count > 3, 'no controls found');
    assert.deepEqual(r.unnamed, [], 'controls without an accessible name');
    await shot(page, 'requests');
    // A new request appears without a reload.
    const before = await page.locator('#pending-title ~ article').count();
    const resp = await fetch(`${process.env.HELPER_URL}/upload`);
    assert.equal(resp.status, 200);
    await page.waitForFunction((n) => document.querySelectorAll('#pending-title ~ article').length === n + 1, before, { timeout: 10000 });
    // Approve the oldest with a comment.
    const card = page.locator('#pending-title ~ article').last();
    const id = await card.getAttribute('data-request');
    await card.locator('textarea').fill('ok for the quarter');
    await card.getByRole('button', { name: 'Approve' }).click();
    await page.waitForSelector(`#decided-title ~ article[data-request="${id}"] .state-approved`, { timeout: 10000 });
    assert.match(await page.textContent(`#decided-title ~ article[data-request="${id}"]`), /Approved by ann/);
    await shot(page, 'requests-approved');
    assert.deepEqual(await everyPageByKeyboard(page), ['#/requests', '#/computers', '#/audit']);
    assert.deepEqual(external, [], 'nothing is loaded from elsewhere');
    await ctx.close();
  });

  test('the help desk reads back a response code', async () => {
    const { page, ctx } = await signIn('desk');
    await page.click('#nav a[href="#/offline"]');
    await page.waitForSelector('#computer option', { state: 'attached' });
    assert.equal(await page.inputValue('#revision'), '3', 'the revision the computer last reported is prefilled');
    await page.fill('#request-code', '191279');
    await page.fill('#offline-reason', 'no');
    await page.click('#make-code');
    await page.waitForSelector('#offline-error:not([hidden])');
    assert.match(await page.textContent('#offline-error'), /reason is required/);
    await page.fill('#offline-reason', 'ticket 4711, user on the phone');
    await page.click('#make-code');
    await page.waitForSelector('#response-code');
    const code = await page.textContent('#response-code');
    assert.match(code, /^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    await writeFile(process.env.CODE_FILE, code);
    const r = await unnamed(page);
    assert.deepEqual(r.unnamed, [], 'controls without an accessible name');
    await shot(page, 'offline');
    assert.deepEqual(await everyPageByKeyboard(page), ['#/requests', '#/offline', '#/computers', '#/audit']);
    await ctx.close();
  });

  test('an admin with a second factor is asked for the one-time code', async () => {
    const ctx = await env.browser.newContext({ viewport: desktop, ignoreHTTPSErrors: true });
    const page = await ctx.newPage();
    await page.goto(url);
    await page.fill('#name', 'root');
    await page.fill('#password', password);
    await page.click('#sign-in');
    await page.waitForSelector('#code', { state: 'visible' });
    assert.match(await page.textContent('#signin-error'), /one-time code/);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'code', 'the code field has focus');
    const code = await (await fetch(`${process.env.HELPER_URL}/totp`)).text();
    await page.keyboard.type(code);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#nav a');
    const links = await page.$$eval('#nav a', (as) => as.map((a) => a.textContent));
    assert.deepEqual(links, ['Requests', 'Offline approval', 'Computers', 'Audit', 'Policy', 'Notifications'], 'an admin has every page');
    await shot(page, 'admin-signed-in');

    // The policy: lint inline, publish only when clean, history with the
    // changes, assignment, one-click rollback.
    await page.click('#nav a[href="#/policy"]');
    await page.waitForSelector('#lint-summary');
    assert.doesNotMatch(await page.textContent('main'), /\bnull\b|\bundefined\b/);
    await page.fill('#policy-name', 'fleet');
    const broken = 'id: fleet\nrevision: 1\ndefault: allow\ngroups: []\nrules:\n  - {group: nowhere, action: deny}\n';
    await page.fill('#policy-text', broken);
    await page.waitForSelector('.diagnostics .diag-error');
    assert.match(await page.textContent('.diagnostics'), /^Line 6, column \d+: error: /);
    assert.ok(await page.isDisabled('#publish'), 'a policy with errors cannot be published');
    await shot(page, 'policy-lint');
    // Clicking a finding puts the caret on its line.
    await page.click('.diagnostics button');
    const caretLine = await page.evaluate(() => { const t = document.querySelector('#policy-text'); return t.value.slice(0, t.selectionStart).split('\n').length; });
    assert.equal(caretLine, 6);
    const good = (rev, dir) => `# the fleet\nid: fleet\nrevision: ${rev}\ndefault: allow\ngroups:\n  - name: blocked\n    definitions: [{path: {starts_with: ${dir}}}]\nrules:\n  - {group: blocked, action: deny}\n`;
    await page.fill('#policy-text', good(1, '/opt/one/'));
    await page.waitForFunction(() => /Lints clean/.test(document.querySelector('#lint-summary')?.textContent || ''));
    await page.click('#publish');
    await page.waitForSelector('.policy-list button:has-text("fleet (revision 1)")');
    await page.waitForFunction(() => document.querySelector('#policy-text').value.includes('revision: 1'));
    await page.fill('#policy-text', good(2, '/opt/two/'));
    await page.waitForFunction(() => !document.querySelector('#publish').disabled);
    await page.click('#publish');
    await page.waitForSelector('.history li[data-revision="2"]');
    await page.fill('#assign-target', 'tag:lab');
    await page.click('#assign');
    await page.waitForFunction(() => document.body.textContent.includes('tag:lab'));
    await page.click('.history li[data-revision="2"] button:has-text("Show changes")');
    await page.waitForSelector('pre.diff .add');
    const added = await page.$$eval('pre.diff .add', (els) => els.map((e) => e.textContent).join(''));
    assert.match(added, /^\+ revision: 2\n\+ .*\/opt\/two\//);
    assert.match(await page.textContent('pre.diff'), /- .*\/opt\/one\//);
    await shot(page, 'policy-history');
    await page.click('.history li[data-revision="1"] button:has-text("Roll back")');
    await page.waitForSelector('.history li[data-revision="3"]');
    await page.waitForSelector('#lint-summary');
    assert.doesNotMatch(await page.textContent('main'), /\bnull\b|\bundefined\b/);
    assert.match(await page.textContent('.history li[data-revision="3"]'), /rollback to 1/);
    // What-if: the policy now denies /opt/one/ only; the uploaded denial
    // of /opt/blocked/tool would be an allow.
    await page.click('#what-if');
    await page.waitForSelector('#what-if-summary');
    assert.match(await page.textContent('#what-if-summary'), /would be decided differently/);
    const row = page.locator('#what-if-result tbody tr', { hasText: '/opt/blocked/tool' });
    assert.match(await row.textContent(), /deny.*allow \(rule 0\).*alice.*mac-e2e/);
    // A program that ran unrecorded (first seen a month ago) is replayed as first seen.
    assert.match(await page.textContent('#what-if-summary'), /and 1 program that ran unrecorded, as first seen/);
    const quiet = page.locator('#what-if-result tbody tr', { hasText: '/opt/one/quiet' });
    assert.match(await quiet.textContent(), /allow.*deny \(rule 1\).*unrecorded on 1 computer \(as first seen\).*carol.*mac-e2e/);
    await shot(page, 'policy-what-if');
    // Notifications: a bad URL is refused with the console's reason; a
    // Slack webhook is added and removed.
    await page.click('#nav a[href="#/notifications"]');
    await page.waitForSelector('#n-target');
    await page.fill('#n-target', 'not a url');
    await page.click('#n-add');
    await page.waitForSelector('#notifiers-error:not([hidden])');
    assert.match(await page.textContent('#notifiers-error'), /webhook's http\(s\) URL/);
    await page.fill('#n-target', `${process.env.HELPER_URL}/hook`);
    await page.click('#n-add');
    await page.waitForSelector('tr[data-notifier]');
    assert.match(await page.textContent('tr[data-notifier]'), /webhook \(slack\)/);
    await shot(page, 'notifications');
    await page.click('tr[data-notifier] button');
    await page.waitForSelector('tr[data-notifier]', { state: 'detached' });
    await page.click('#nav a[href="#/policy"]');
    await page.waitForSelector('#lint-summary');
    const r = await unnamed(page);
    assert.deepEqual(r.unnamed, [], 'controls without an accessible name');
    assert.equal((await everyPageByKeyboard(page)).length, 6);
    await ctx.close();
  });

  test('an auditor reads but cannot decide; the pages fit a phone', async () => {
    const { page, ctx } = await signIn('aud', phone);
    await page.waitForSelector('article[data-request]');
    assert.equal(await page.getByRole('button', { name: 'Approve' }).count(), 0, 'no Approve for an auditor');
    await shot(page, 'requests-phone');
    await page.click('#nav a[href="#/computers"]');
    await page.waitForSelector('tbody tr');
    assert.match(await page.textContent('tbody'), /mac-e2e/);
    // What the computer runs, as its sync reported.
    assert.match(await page.textContent('tbody'), /1\.4\.0 \(sync 1\.4\.0-rc1\)/);
    assert.match(await page.textContent('tbody'), /alice 1\.3\.9, bob 1\.4\.0/);
    await shot(page, 'computers-phone');
    await page.click('#nav a[href="#/audit"]');
    await page.waitForSelector('#audit-count:not(:empty)');
    assert.match(await page.textContent('#audit-count'), /^4 events/);
    await shot(page, 'audit-phone');
    // Search by user: only alice's; the picture says what it shows.
    await page.fill('#f-user', 'alice');
    await page.click('#search');
    await page.waitForFunction(() => document.querySelector('#audit-count').textContent.startsWith('2 events'));
    const users = await page.$$eval('tbody tr td:nth-child(3)', (tds) => tds.map((td) => td.textContent));
    assert.deepEqual(users, ['alice', 'alice']);
    assert.match(await page.getAttribute('svg.chart', 'aria-label'), /0 allowed, 1 denied/);
    // The CSV is the same search.
    const href = await page.getAttribute('#csv', 'href');
    assert.match(href, /format=csv/);
    const csv = await page.evaluate(async (u) => (await fetch(u)).text(), href);
    assert.equal(csv.trim().split('\n').length, 3, 'a header and alice\'s two events');
    assert.deepEqual(await everyPageByKeyboard(page), ['#/requests', '#/computers', '#/audit']);
    // Signing out ends the session.
    await page.click('#sign-out');
    await page.waitForSelector('#name');
    await ctx.close();
  });
});
