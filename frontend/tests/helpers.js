// Shared by the dialog tests: a static server for dist/, Debian's chromium
// through playwright-core, and a fake Wails bridge (window.go.app.Bridge and
// window.runtime) that records calls and answers as a test scripts it.

import { createServer } from 'node:http';
import { existsSync, mkdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const frontendDir = path.resolve(here, '..');
export const distDir = path.join(frontendDir, 'dist');
export const resultsDir = path.join(frontendDir, 'test-results');

// The window's size as the agent sets it (main.go).
export const viewport = { width: 480, height: 360 };

const types = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

// serve serves dist/ on 127.0.0.1 at a free port. Requests that leave
// dist/ get 404. The requests made are kept, so a test can check that
// nothing was loaded from elsewhere.
export async function serve() {
  const requests = [];
  const server = createServer(async (req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    requests.push(url.pathname);
    let rel = decodeURIComponent(url.pathname);
    if (rel.endsWith('/')) {
      rel += 'index.html';
    }
    const file = path.join(distDir, path.normalize(rel));
    if (!file.startsWith(distDir + path.sep)) {
      res.writeHead(404).end();
      return;
    }
    try {
      const data = await readFile(file);
      res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(data);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    requests,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

const chromiumArgs = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

// launch starts headless chromium. Without chromium or playwright-core it
// returns {skip: reason}, or throws in CI (CI=true), where the dialog tests
// must run.
export async function launch() {
  const exe = process.env.CHROMIUM || '/usr/bin/chromium';
  let why = '';
  let pw;
  if (!existsSync(exe)) {
    why = `${exe} not found: install Debian's chromium (scripts/setup does) or set CHROMIUM`;
  } else {
    try {
      pw = await import('playwright-core');
    } catch (err) {
      why = `playwright-core is not installed: run "npm ci" in frontend/ (${err.message})`;
    }
  }
  if (why) {
    if (/^(1|true|yes)$/i.test(process.env.CI || '')) {
      throw new Error(`the dialog tests need Chromium in CI: ${why}`);
    }
    return { skip: why };
  }
  // No system bus: a test elsewhere (cmd/gatehoused's polkit test) runs
  // one at the standard path and stops it, and a browser connected to it
  // must not go down with it.
  const env = { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: 'unix:path=/nonexistent/gatehouse-tests-no-system-bus' };
  const browser = await pw.chromium.launch({ executablePath: exe, args: chromiumArgs, env });
  return { browser };
}

// fakeWails runs in the page before its scripts (an init script). cfg:
//   current: the Dialog Current() returns (or null)
//   results: {Method: [answer, ...]} consumed in order; an answer is
//            {ok: value}, {err: "text"} (a rejection with a string, as
//            Wails does) or either with delay (ms); when a method's list is
//            empty it resolves with its default.
//   noBridge: leave window.go out (the page must say it cannot connect).
function fakeWails(cfg) {
  const calls = [];
  const listeners = {};
  const results = cfg.results || {};
  window.__calls = calls;
  window.__emit = (name, data) => (listeners[name] || []).forEach((cb) => cb(data));
  // window.__settled counts the answers given: a test that must act after
  // the page has handled one waits for it (the page's handlers run in the
  // same task, right after the answer).
  window.__settled = 0;
  const answer = (method, args, dflt) => {
    calls.push({ method, args });
    const q = results[method];
    const r = q && q.length ? q.shift() : { ok: dflt };
    return new Promise((resolve, reject) => {
      setTimeout(() => {
        if ('err' in r) {
          reject(r.err);
        } else {
          resolve(r.ok);
        }
        window.__settled++;
      }, r.delay || 0);
    });
  };
  if (cfg.noBridge) {
    return;
  }
  window.go = {
    app: {
      Bridge: {
        Current: () => answer('Current', [], cfg.current === undefined ? null : cfg.current),
        Continue: (id, reason) => answer('Continue', [id, reason], { close: true, relaunched: true }),
        Cancel: (id) => answer('Cancel', [id], null),
        RequestApproval: (id, reason, start, end) => answer('RequestApproval', [id, reason, start, end], {
          message: 'Your request to run tool was sent for approval. A notification will tell you when it is decided.',
        }),
        SubmitResponseCode: (id, code) => answer('SubmitResponseCode', [id, code], { close: true, relaunched: true }),
        RequestAdmin: (length, reason) => answer('RequestAdmin', [length, reason], {
          message: 'You have admin rights until 15:30. Use sudo as an administrator would; the menu shows the time left.',
        }),
        Close: () => answer('Close', [], null),
      },
    },
  };
  window.runtime = {
    EventsOn: (name, cb) => {
      (listeners[name] = listeners[name] || []).push(cb);
      return () => {};
    },
    BrowserOpenURL: (url) => { calls.push({ method: 'BrowserOpenURL', args: [url] }); },
    ClipboardSetText: (text) => answer('ClipboardSetText', [text], true),
  };
}

// Starting a page costs far more than loading one (a renderer process each),
// so the tests of a browser share one page and reload it with the next
// test's bridge script, kept in sessionStorage. A test that needs other
// context options (user agent, colour scheme) gets a page of its own.
const shared = new WeakMap();
const fakeKey = '__gatehouse_fake';
const baseContext = { viewport, deviceScaleFactor: 1, locale: 'en-US', timezoneId: 'Europe/Berlin' };

async function newPage(browser, contextOptions) {
  const context = await browser.newContext({ ...baseContext, ...contextOptions });
  const page = await context.newPage();
  page.jsErrors = [];
  page.on('pageerror', (err) => page.jsErrors.push(err));
  page.on('console', (msg) => { if (msg.type() === 'error') { page.jsErrors.push(new Error(msg.text())); } });
  await page.addInitScript({
    content: `(${fakeWails})((() => {
      try { return JSON.parse(sessionStorage.getItem(${JSON.stringify(fakeKey)}) || '{}'); } catch { return {}; }
    })());`,
  });
  return page;
}

// open loads the dialog window with a fake bridge answering as cfg says.
// Times are Berlin's, so RFC 3339 offsets are known (+01:00 in winter).
// Close a page with its own context (contextOptions given) when done:
// t.after(() => page.context().close()).
export async function open(browser, server, cfg = {}, contextOptions = null) {
  let page;
  if (contextOptions) {
    page = await newPage(browser, contextOptions);
  } else {
    page = shared.get(browser);
    if (!page) {
      page = await newPage(browser, {});
      shared.set(browser, page);
    }
  }
  if (!page.url().startsWith(server.url)) {
    await page.goto(server.url);
  }
  await page.evaluate(([k, c]) => sessionStorage.setItem(k, JSON.stringify(c)), [fakeKey, cfg]);
  await page.goto(server.url);
  await page.waitForSelector('.dialog');
  page.jsErrors.length = 0;
  return page;
}

// calls returns the bridge calls made so far (all, or one method's).
export async function calls(page, method) {
  const all = await page.evaluate(() => window.__calls);
  return method ? all.filter((c) => c.method === method) : all.filter((c) => c.method !== 'Current');
}

// emit sends a runtime event to the page, as the agent does.
export function emit(page, name, data) {
  return page.evaluate(([n, d]) => window.__emit(n, d), [name, data]);
}

// shot saves a screenshot of the whole window to test-results/.
export async function shot(page, name) {
  mkdirSync(resultsDir, { recursive: true });
  await page.screenshot({ path: path.join(resultsDir, `${name}.png`) });
}

// layout reports what would look broken at the window's size: elements
// sticking out sideways, and footer buttons outside the window.
export function layout(page) {
  return page.evaluate(() => {
    const w = document.documentElement.clientWidth;
    const h = document.documentElement.clientHeight;
    const out = [];
    // What shows of an element: its box cut by every ancestor that clips
    // (an ellipsis line, the scrolling content).
    const shown = (el) => {
      const r = el.getBoundingClientRect();
      let left = r.left;
      let right = r.right;
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        if (getComputedStyle(p).overflowX !== 'visible') {
          const pr = p.getBoundingClientRect();
          left = Math.max(left, pr.left);
          right = Math.min(right, pr.right);
        }
      }
      return { left, right, width: r.width };
    };
    for (const el of document.querySelectorAll('.dialog *')) {
      const r = shown(el);
      if (r.width > 0 && outside(r) && !el.closest('.visually-hidden')) {
        out.push(`${el.tagName.toLowerCase()}#${el.id}.${el.className} sticks out: ${Math.round(r.left)}..${Math.round(r.right)} of ${w}`);
      }
    }
    function outside(r) { return r.right > w + 0.5 || r.left < -0.5; }
    // A message shown must be in sight, not scrolled or cut off.
    const content = document.querySelector('.content');
    const box = content ? content.getBoundingClientRect() : { top: 0, bottom: h };
    for (const e of document.querySelectorAll('.error:not([hidden])')) {
      const r = e.getBoundingClientRect();
      if (r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5) {
        out.push(`message #${e.id} out of sight: ${Math.round(r.top)}..${Math.round(r.bottom)}, content ${Math.round(box.top)}..${Math.round(box.bottom)}`);
      }
    }
    for (const b of document.querySelectorAll('.foot button')) {
      const r = b.getBoundingClientRect();
      if (r.bottom > h + 0.5 || r.top < 0) {
        out.push(`button #${b.id} outside the window: ${Math.round(r.top)}..${Math.round(r.bottom)} of ${h}`);
      }
    }
    return out;
  });
}
