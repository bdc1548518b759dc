// What VoiceOver (macOS) and Orca (Linux) read: every control of every
// dialog has an accessible name in the browser's own accessibility tree
// (Chromium's, through the DevTools protocol), and the dialog is one
// labelled, modal dialog. Includes the Publisher Info panel opened.

import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, serve, open } from './helpers.js';
import { warning, justification, denied, deniedUnsigned, approval, offline, admin } from './fixtures.js';

const env = await launch();
const server = env.skip ? null : await serve();
after(async () => { await env.browser?.close(); await server?.close(); });

// Roles a user operates, which must be named.
const controls = new Set(['button', 'textbox', 'combobox', 'checkbox', 'radio', 'spinbutton', 'link', 'listbox', 'slider', 'switch', 'menuitem']);

async function unnamed(page) {
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = await cdp.send('Accessibility.getFullAXTree');
  const roles = nodes.filter((n) => !n.ignored).map((n) => ({ role: n.role?.value, name: (n.name?.value || '').trim() }));
  return {
    unnamed: roles.filter((n) => controls.has(n.role) && n.name === ''),
    dialogs: roles.filter((n) => n.role === 'dialog' || n.role === 'alertdialog'),
    count: roles.filter((n) => controls.has(n.role)).length,
  };
}

describe('accessibility', { skip: env.skip }, () => {
  for (const [name, d] of Object.entries({ warning, justification, denied, deniedUnsigned, approval, offline, admin })) {
    test(`${name}: every control is named, and the dialog is labelled`, async () => {
      const page = await open(env.browser, server, { current: d });
      let r = await unnamed(page);
      assert.ok(r.count > 0, 'no controls found: the tree was not read');
      assert.deepEqual(r.unnamed, [], 'controls without an accessible name');
      assert.equal(r.dialogs.length, 1, 'one dialog');
      assert.notEqual(r.dialogs[0].name, '', 'the dialog has a name');
      if (await page.locator('#publisher-info').count() > 0) {
        await page.click('#publisher-info');
        assert.equal(await page.getAttribute('#publisher-info', 'aria-expanded'), 'true');
        r = await unnamed(page);
        assert.deepEqual(r.unnamed, [], 'controls without a name in the Publisher Info panel');
      }
    });
  }
});
