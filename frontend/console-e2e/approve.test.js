// One approval through the console's pages, for the end-to-end test
// (cmd/gatehoused, TestE2EConsoleBrowserApproval): an approver signs in
// and clicks Approve on the request for REQUEST_PATH. Env: CONSOLE_URL,
// USER_NAME, PASSWORD, REQUEST_PATH.

import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { mkdir } from 'node:fs/promises';
import { launch, resultsDir } from '../tests/helpers.js';

const url = process.env.CONSOLE_URL;
const env = url ? await launch() : { skip: 'CONSOLE_URL is not set: run through go test ./cmd/gatehoused (TestE2EConsoleBrowserApproval)' };
after(async () => { await env.browser?.close(); });

test('an approver approves the blocked program in the browser', { skip: env.skip }, async () => {
  const ctx = await env.browser.newContext({ viewport: { width: 1280, height: 800 }, ignoreHTTPSErrors: true });
  const page = await ctx.newPage();
  await page.goto(url);
  await page.fill('#name', process.env.USER_NAME);
  await page.fill('#password', process.env.PASSWORD);
  await page.click('#sign-in');
  const card = page.locator('#pending-title ~ article', { hasText: process.env.REQUEST_PATH });
  await card.waitFor({ timeout: 20000 });
  await card.locator('textarea').fill('approved from the browser');
  await card.getByRole('button', { name: 'Approve' }).click();
  const decided = page.locator('#decided-title ~ article', { hasText: process.env.REQUEST_PATH }).locator('.state-approved');
  await decided.waitFor({ timeout: 10000 });
  assert.match(await decided.textContent(), new RegExp(`^Approved by ${process.env.USER_NAME},`));
  await mkdir(resultsDir, { recursive: true });
  await page.screenshot({ path: path.join(resultsDir, 'console-e2e-approved.png'), fullPage: true });
  await ctx.close();
});
