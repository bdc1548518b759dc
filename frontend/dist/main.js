// The agent's dialog window: it shows one dialog at a time, the one the
// agent (Go, package app) says is current. The contract is app/model.go:
// window.go.app.Bridge holds the methods (each returns a Promise; a Go error
// rejects it with its text), and the runtime event "dialog" carries the
// dialog to show next (a Dialog, or null).
//
// The window only asks and shows: every decision is made by the agent and
// the enforcer. Input is checked here so the user gets a clear message at
// once; the agent checks it again.

import { S, lang } from './strings.js';
import { h } from './dom.js';
import {
  checkReason, checkWindow, checkResponseCode, errorText, formatResponseCode,
  responseCodeChars, safeURL, toLocalInput,
} from './format.js';

const root = document.getElementById('app');

// The view on screen: {dialog, dkey, onEnter, onEscape, errEl, busy,
// closing}. dkey
// identifies the dialog (request, kind and state) so a repeated event does
// not wipe typed input or an outcome notice.
let view = null;

// seq orders what arrives: a "dialog" event that comes while Current() is
// still on its way is newer than Current()'s answer.
let seq = 0;

function bridge() {
  return window.go && window.go.app && window.go.app.Bridge;
}

function rt() {
  return window.runtime || null;
}

// ---------------------------------------------------------------- frame

const kindClass = {
  warning: 'k-warning',
  justification: 'k-ask',
  approval: 'k-ask',
  approval_offline: 'k-ask',
  notice: 'k-ask',
  denied: 'k-denied',
};

// frame builds the dialog: branding, title, program, scrolling content and
// a footer with buttons (left: extra, right: secondary then primary).
function frame({ kind, company, title, program, content, left = [], right = [] }) {
  const header = h('header', { class: 'head' },
    h('p', { class: 'brand', text: company || S.defaultCompany }),
    h('h1', { id: 'dlg-title', text: title }),
    program && program.name ? programLine(program) : null,
  );
  return h('section', {
    class: `dialog ${kindClass[kind] || 'k-neutral'}`,
    role: 'dialog',
    'aria-modal': 'true',
    'aria-labelledby': 'dlg-title',
    'aria-describedby': 'dlg-body',
  },
  header,
  h('div', {
    class: 'content',
    id: 'dlg-content',
    // A line under the header once the content scrolls beneath it.
    onscroll: (e) => e.target.parentElement.classList.toggle('scrolled', e.target.scrollTop > 0),
  }, content),
  left.length || right.length
    ? h('footer', { class: 'foot' },
      h('div', { class: 'left' }, left),
      h('div', { class: 'right' }, right))
    : null,
  );
}

function programLine(p) {
  return h('p', { class: 'program', title: p.path || p.name },
    h('span', { class: 'visually-hidden', text: `${S.programLabel}: ` }),
    h('span', { class: 'pname', text: p.name }),
    p.path ? h('span', { class: 'ppath', text: p.path }) : null,
  );
}

// body is the policy's message: plain text, newlines are line breaks.
function body(text, id = 'dlg-body') {
  return h('p', { class: 'body', id, text: text || '' });
}

function moreInfo(url) {
  const href = safeURL(url);
  if (!href) {
    return null;
  }
  return h('p', { class: 'more' },
    h('a', {
      href,
      id: 'more-info',
      onclick: (e) => {
        // Never navigate the dialog window itself: open the user's browser.
        e.preventDefault();
        const r = rt();
        if (r && r.BrowserOpenURL) {
          r.BrowserOpenURL(href);
        }
      },
    }, S.moreInfo, h('span', { class: 'visually-hidden', text: ` ${S.moreInfoHint}` })));
}

function button(label, cls, onclick, id) {
  return h('button', { type: 'button', class: `btn ${cls}`, id, onclick, text: label });
}

// errorLine is an aria-live region for one error message.
function errorLine(id) {
  return h('p', { class: 'error', id, role: 'alert', 'aria-live': 'assertive', hidden: true });
}

function setError(el, text, field) {
  el.textContent = text || '';
  el.hidden = !text;
  if (field) {
    markInvalid(field, !!text);
  }
  if (text) {
    // The content scrolls in the small window: keep the message in sight.
    el.scrollIntoView({ block: 'nearest' });
  }
}

function markInvalid(field, invalid) {
  if (invalid) {
    field.setAttribute('aria-invalid', 'true');
  } else {
    field.removeAttribute('aria-invalid');
  }
}

function describe(field, ...ids) {
  field.setAttribute('aria-describedby', ids.filter(Boolean).join(' '));
}

// ---------------------------------------------------------------- calls

// busy disables every button of the view while a call is on its way, so a
// double click cannot answer twice; it returns a function that undoes it.
function busy(v) {
  const buttons = [...root.querySelectorAll('button')];
  const was = buttons.map((b) => b.disabled);
  buttons.forEach((b) => { b.disabled = true; });
  root.querySelector('.dialog')?.setAttribute('aria-busy', 'true');
  v.busy = true;
  return () => {
    buttons.forEach((b, i) => { b.disabled = was[i]; });
    root.querySelector('.dialog')?.removeAttribute('aria-busy');
    v.busy = false;
  };
}

// call runs a bridge method for view v. On success it handles the Outcome;
// on failure it shows the Promise's rejection text in errEl and calls
// onError (after the buttons are enabled again).
async function call(v, fn, { errEl, field, onError, noticeTitle } = {}) {
  if (v.busy || view !== v) {
    return;
  }
  const done = busy(v);
  if (errEl) {
    setError(errEl, '', field);
  }
  let outcome;
  try {
    const b = bridge();
    if (!b) {
      throw new Error(S.noBridgeTitle);
    }
    outcome = await fn(b);
  } catch (err) {
    if (view !== v) {
      return;
    }
    done();
    if (errEl) {
      setError(errEl, errorText(err), field);
    }
    if (onError) {
      onError(err);
    }
    return;
  }
  if (view !== v) {
    return;
  }
  handleOutcome(v, outcome, noticeTitle);
}

// handleOutcome: with close the agent hides the window and announces the
// next dialog, so nothing else is called and the buttons stay disabled
// until then; otherwise the message is shown with OK, which calls Close.
function handleOutcome(v, outcome, noticeTitle) {
  if (!outcome || outcome.close) {
    v.closing = true;
    return;
  }
  showNotice(v.dialog, noticeTitle || S.doneTitle, outcome.message || S.doneBody);
}

function cancel(v) {
  return call(v, (b) => b.Cancel(v.dialog.request_id).then(() => ({ close: true })), { errEl: v.errEl });
}

function closeWindow(v) {
  return call(v, (b) => b.Close().then(() => ({ close: true })), { errEl: v.errEl });
}

// ---------------------------------------------------------------- views

function mount(v, el, focus) {
  view = v;
  root.replaceChildren(el);
  if (focus) {
    // Without scrolling: the policy's message at the top is read first.
    focus.focus({ preventScroll: true });
  }
}

function dialogKey(d) {
  return d ? `${d.request_id}/${d.kind}/${d.state || ''}` : 'none';
}

function showEmpty() {
  const v = { dialog: null, dkey: 'none' };
  mount(v, h('section', {
    class: 'dialog k-neutral empty', role: 'dialog', 'aria-labelledby': 'dlg-title', 'aria-describedby': 'dlg-body',
  },
  h('header', { class: 'head' }, h('p', { class: 'brand', text: S.defaultCompany })),
  h('div', { class: 'content center' },
    h('h1', { id: 'dlg-title', text: S.emptyTitle }),
    h('p', { class: 'body muted', id: 'dlg-body', text: S.emptyBody }))), null);
}

function showBroken(title, text) {
  const v = { dialog: null, dkey: 'broken' };
  mount(v, h('section', {
    class: 'dialog k-denied empty', role: 'alertdialog', 'aria-labelledby': 'dlg-title', 'aria-describedby': 'dlg-body',
  },
  h('header', { class: 'head' }, h('p', { class: 'brand', text: S.defaultCompany })),
  h('div', { class: 'content center' },
    h('h1', { id: 'dlg-title', text: title }),
    h('p', { class: 'body muted', id: 'dlg-body', text }))), null);
}

// showNotice shows a message with OK (Close): an Outcome's message, or an
// approval that was already submitted.
function showNotice(d, title, text) {
  const v = { dialog: d, dkey: dialogKey(d) };
  v.errEl = errorLine('notice-error');
  const ok = button(S.ok, 'primary', () => closeWindow(v), 'ok');
  v.onEnter = () => ok.click();
  v.onEscape = () => ok.click();
  mount(v, frame({
    kind: 'notice',
    company: d && d.company,
    title,
    program: d && d.program,
    content: [h('p', { class: 'body notice', id: 'dlg-body', text }), v.errEl],
    right: [ok],
  }), ok);
}

function showWarning(d) {
  const v = { dialog: d, dkey: dialogKey(d) };
  v.errEl = errorLine('error');
  const cont = button(S.continue, 'primary', () => call(v, (b) => b.Continue(d.request_id, ''), { errEl: v.errEl }), 'continue');
  const cancelBtn = button(S.cancel, 'secondary', () => cancel(v), 'cancel');
  v.onEnter = () => cont.click();
  v.onEscape = () => cancelBtn.click();
  mount(v, frame({
    kind: d.kind, company: d.company, title: d.title, program: d.program,
    content: [body(d.body), moreInfo(d.url), v.errEl],
    right: [cancelBtn, cont],
  }), cont);
}

function reasonField({ min, required, rows = 3, placeholder = S.reasonPlaceholder }) {
  const label = required || min > 0 ? S.reasonLabel : S.reasonLabelOptional;
  const field = h('textarea', {
    id: 'reason', rows: String(rows), class: `rows-${rows}`, placeholder, spellcheck: 'true', 'aria-required': required || min > 0 ? 'true' : 'false',
  });
  const hint = min > 0 ? h('span', { class: 'hint', id: 'reason-hint', text: S.reasonHintMin(min) }) : null;
  const err = errorLine('reason-error');
  describe(field, hint && 'reason-hint', 'reason-error');
  const wrap = h('div', { class: 'field' },
    h('div', { class: 'label-row' }, h('label', { for: 'reason', text: label }), hint),
    field, err);
  // After a first attempt, the message follows the typing (and goes away
  // once the reason is long enough).
  let tried = false;
  field.addEventListener('input', () => {
    if (tried) {
      setError(err, checkReason(field.value, min, required), field);
    }
  });
  return {
    wrap,
    field,
    check() {
      tried = true;
      const msg = checkReason(field.value, min, required);
      setError(err, msg, field);
      return msg === '';
    },
  };
}

function showJustification(d) {
  const v = { dialog: d, dkey: dialogKey(d) };
  v.errEl = errorLine('error');
  const min = Number(d.min_justification) || 0;
  const reason = reasonField({ min, required: true });
  const cont = button(S.continue, 'primary', () => {
    if (!reason.check()) {
      reason.field.focus();
      return;
    }
    call(v, (b) => b.Continue(d.request_id, reason.field.value.trim()), { errEl: v.errEl });
  }, 'continue');
  const cancelBtn = button(S.cancel, 'secondary', () => cancel(v), 'cancel');
  v.onEnter = () => cont.click();
  v.onEscape = () => cancelBtn.click();
  mount(v, frame({
    kind: d.kind, company: d.company, title: d.title, program: d.program,
    content: [body(d.body), moreInfo(d.url), reason.wrap, v.errEl],
    right: [cancelBtn, cont],
  }), reason.field);
}

// isMac says whether this is macOS, where a program without a signature is
// "Not signed"; elsewhere there is no code signing to speak of.
function isMac() {
  return /Mac OS X|Macintosh/.test(navigator.userAgent);
}

function publisherPanel(p) {
  const rows = [];
  const row = (label, value, cls) => {
    rows.push(h('dt', { text: label }), h('dd', { class: cls, text: value }));
  };
  const signed = p.publisher || p.team_id || p.signing_id;
  if (signed) {
    row(S.publisher, p.publisher || S.none);
    row(S.teamID, p.team_id || S.none, 'mono');
    row(S.signingID, p.signing_id || S.none, 'mono');
  } else {
    row(S.signature, isMac() ? S.notSigned : S.noPublisherInfo);
  }
  row(S.path, p.path || S.notKnown, 'mono');
  row(S.sha256, p.sha256 || S.notKnown, 'mono hash');
  row(S.appType, p.app_type || S.notKnown);
  return h('section', { class: 'panel', id: 'publisher-panel', 'aria-label': S.publisherPanelLabel, hidden: true },
    h('dl', {}, rows));
}

function showDenied(d) {
  const v = { dialog: d, dkey: dialogKey(d) };
  v.errEl = errorLine('error');
  const panel = publisherPanel(d.program || {});
  const info = button(S.publisherInfo, 'secondary', () => {
    panel.hidden = !panel.hidden;
    info.setAttribute('aria-expanded', String(!panel.hidden));
    if (!panel.hidden) {
      panel.scrollIntoView({ block: 'nearest' });
    }
  }, 'publisher-info');
  info.setAttribute('aria-expanded', 'false');
  info.setAttribute('aria-controls', 'publisher-panel');
  const closeBtn = button(S.close, 'primary', () => cancel(v), 'cancel');
  v.onEnter = () => closeBtn.click();
  v.onEscape = () => closeBtn.click();
  mount(v, frame({
    kind: d.kind, company: d.company, title: d.title, program: d.program,
    content: [body(d.body), moreInfo(d.url), panel, v.errEl],
    left: [info],
    right: [closeBtn],
  }), closeBtn);
}

function showApproval(d) {
  if (d.state === 'submitted') {
    showNotice(d, S.submittedTitle, S.submittedBody);
    return;
  }
  const v = { dialog: d, dkey: dialogKey(d) };
  v.errEl = errorLine('error');
  const min = Number(d.min_justification) || 0;
  const reason = reasonField({ min, required: false, rows: 2 });

  const now = new Date();
  const start = h('input', { type: 'datetime-local', id: 'window-start', min: toLocalInput(now) });
  const end = h('input', { type: 'datetime-local', id: 'window-end', min: toLocalInput(now) });
  const winErr = errorLine('window-error');
  describe(start, 'window-error');
  describe(end, 'window-error');
  const win = h('fieldset', { class: 'window' },
    h('legend', { text: S.windowLegend }),
    h('div', { class: 'pair' },
      h('div', { class: 'field' }, h('label', { for: 'window-start', text: S.windowStart }), start),
      h('div', { class: 'field' }, h('label', { for: 'window-end', text: S.windowEnd }), end)),
    winErr);
  const checkWin = () => {
    const w = checkWindow(start.value, end.value, new Date());
    setError(winErr, w.error || '', null);
    markInvalid(start, w.field === 'start');
    markInvalid(end, w.field === 'end');
    return w;
  };
  let triedWin = false;
  for (const f of [start, end]) {
    f.addEventListener('change', () => { if (triedWin) { checkWin(); } });
  }

  const req = button(S.requestApproval, 'primary', () => {
    const okReason = reason.check();
    triedWin = true;
    const w = checkWin();
    if (!okReason) {
      reason.field.focus();
      return;
    }
    if (w.error) {
      (w.field === 'end' ? end : start).focus();
      return;
    }
    call(v, (b) => b.RequestApproval(d.request_id, reason.field.value.trim(), w.start, w.end), {
      errEl: v.errEl,
      noticeTitle: S.submittedTitle,
      // A submission that failed leaves Request Approval disabled: the
      // user reads the error and cancels (the agent has what it needs to
      // say why; sending the same request again would fail the same way).
      onError: () => { req.disabled = true; },
    });
  }, 'request-approval');
  const cancelBtn = button(S.cancel, 'secondary', () => cancel(v), 'cancel');
  v.onEnter = () => req.click();
  v.onEscape = () => cancelBtn.click();
  mount(v, frame({
    kind: d.kind, company: d.company, title: d.title, program: d.program,
    content: [body(d.body), moreInfo(d.url), reason.wrap, win, v.errEl],
    right: [cancelBtn, req],
  }), reason.field);
}

// showAdmin asks for admin rights (the menu's Request admin rights…): how
// long, from the lengths the policy allows, and why.
function showAdmin(d) {
  const v = { dialog: d, dkey: dialogKey(d) };
  v.errEl = errorLine('error');
  const a = d.admin || { lengths: [] };
  const min = Number(d.min_justification) || 0;
  const reason = reasonField({ min, required: a.require === 'justification', rows: 2, placeholder: S.adminReasonPlaceholder });
  const length = h('select', { id: 'length' },
    (a.lengths || []).map((l) => h('option', { value: l.value, text: l.label, selected: l.value === a.default })));
  const req = button(a.require === 'approval' || a.require === 'approval_offline' ? S.requestApproval : S.adminRequest, 'primary', () => {
    if (!reason.check()) {
      reason.field.focus();
      return;
    }
    call(v, (b) => b.RequestAdmin(length.value, reason.field.value.trim()), { errEl: v.errEl, noticeTitle: S.adminDoneTitle });
  }, 'request-admin');
  const cancelBtn = button(S.cancel, 'secondary', () => cancel(v), 'cancel');
  v.onEnter = () => req.click();
  v.onEscape = () => cancelBtn.click();
  mount(v, frame({
    kind: 'justification', company: d.company, title: d.title,
    content: [body(d.body),
      h('div', { class: 'field' }, h('div', { class: 'label-row' }, h('label', { for: 'length', text: S.adminLengthLabel })), length),
      reason.wrap, v.errEl],
    right: [cancelBtn, req],
  }), length);
}

async function copyText(text) {
  const r = rt();
  if (r && r.ClipboardSetText) {
    if (await r.ClipboardSetText(text)) {
      return;
    }
    throw new Error('clipboard');
  }
  await navigator.clipboard.writeText(text);
}

// responseInput formats what is typed into groups of four and keeps the
// caret after the same character.
function responseInput(field) {
  let last = '';
  field.addEventListener('input', (e) => {
    let value = field.value;
    let caret = field.selectionStart ?? value.length;
    // Backspace right after a dash removed only the dash, which formatting
    // puts back: remove the character before it instead.
    if (e.inputType === 'deleteContentBackward' && responseCodeChars(value) === responseCodeChars(last) && caret > 0) {
      value = value.slice(0, caret - 1) + value.slice(caret);
      caret -= 1;
    }
    const before = responseCodeChars(value.slice(0, caret)).length;
    const formatted = formatResponseCode(value);
    let pos = 0;
    for (let n = 0; pos < formatted.length && n < before; pos++) {
      if (formatted[pos] !== '-') {
        n++;
      }
    }
    field.value = formatted;
    field.setSelectionRange(pos, pos);
    last = formatted;
  });
}

function showOffline(d) {
  const v = { dialog: d, dkey: dialogKey(d) };
  const code = d.request_code || '';
  const status = h('span', { class: 'status', id: 'copy-status', role: 'status', 'aria-live': 'polite' });
  let statusTimer = 0;
  const copy = button(S.copy, 'secondary small', async () => {
    clearTimeout(statusTimer);
    try {
      await copyText(code);
      status.textContent = S.copied;
    } catch {
      status.textContent = S.copyFailed;
    }
    statusTimer = setTimeout(() => { status.textContent = ''; }, 4000);
  }, 'copy-code');
  copy.setAttribute('aria-label', S.copyRequestCode);

  const field = h('input', {
    type: 'text', id: 'response-code', autocomplete: 'off', spellcheck: 'false', autocapitalize: 'characters',
    placeholder: S.responseCodePlaceholder, 'aria-required': 'true', class: 'code-input',
  });
  responseInput(field);
  const err = errorLine('response-error');
  describe(field, 'response-hint', 'response-error');

  // What the user reads to the help desk, as label/value pairs.
  const fact = (label, ...value) => h('div', { class: 'fact' },
    h('dt', { class: 'fact-label', text: label }),
    h('dd', {}, value));
  const facts = h('dl', { class: 'facts' },
    fact(S.computerLabel, h('span', { class: 'computer', id: 'computer', text: d.computer || S.notKnown })),
    // Codes are made per policy revision (offline): the help desk
    // needs it too.
    d.policy_revision
      ? fact(S.policyRevisionLabel, h('span', { class: 'computer', id: 'policy-revision', text: String(d.policy_revision) }))
      : null,
    fact(S.requestCodeLabel, h('span', { class: 'code-row' },
      h('span', { class: 'request-code', id: 'request-code', text: code }),
      copy, status)));

  const submit = button(S.submit, 'primary', () => {
    const msg = checkResponseCode(field.value);
    if (msg) {
      setError(err, msg, field);
      field.focus();
      return;
    }
    call(v, (b) => b.SubmitResponseCode(d.request_id, field.value), {
      errEl: err,
      field,
      onError: () => { field.focus(); field.select(); },
    });
  }, 'submit');
  field.addEventListener('input', () => { if (!err.hidden) { setError(err, '', field); } });
  const cancelBtn = button(S.cancel, 'secondary', () => cancel(v), 'cancel');
  v.errEl = err;
  v.onEnter = () => submit.click();
  v.onEscape = () => cancelBtn.click();
  mount(v, frame({
    kind: d.kind, company: d.company, title: d.title, program: d.program,
    content: [
      d.body ? body(d.body, 'dlg-policy') : null,
      h('p', { class: 'body', id: 'dlg-body', text: S.offlineIntro }),
      facts,
      h('div', { class: 'field' },
        h('div', { class: 'label-row' },
          h('label', { for: 'response-code', text: S.responseCodeLabel }),
          h('span', { class: 'hint', id: 'response-hint', text: S.responseCodeHint })),
        field, err),
    ],
    right: [cancelBtn, submit],
  }), field);
}

const views = {
  warning: showWarning,
  justification: showJustification,
  denied: showDenied,
  approval: showApproval,
  approval_offline: showOffline,
  admin: showAdmin,
};

// show puts dialog d on screen (null: the empty view). The same dialog
// again (same request, kind and state) keeps what is on screen, typed text
// and any outcome notice included, unless it was answered and is waiting
// to be hidden: then the agent is showing it anew.
function show(d) {
  if (!d) {
    showEmpty();
    return;
  }
  if (view && view.dkey === dialogKey(d) && !view.closing) {
    return;
  }
  const f = views[d.kind];
  if (!f) {
    showBroken(S.unknownKindTitle, S.unknownKindBody(d.kind));
    return;
  }
  f(d);
}

// ---------------------------------------------------------------- keys

// Enter is the default button, except on a button or link (which Enter
// activates itself) and in a text area (a new line; Ctrl/Cmd+Enter is the
// default button). Escape is Cancel.
document.addEventListener('keydown', (e) => {
  if (!view || e.isComposing || e.defaultPrevented) {
    return;
  }
  if (e.key === 'Escape') {
    if (view.onEscape) {
      e.preventDefault();
      view.onEscape();
    }
    return;
  }
  if (e.key !== 'Enter' || e.altKey || e.shiftKey) {
    return;
  }
  const t = e.target;
  if (t instanceof HTMLButtonElement || t instanceof HTMLAnchorElement) {
    return;
  }
  if (t instanceof HTMLTextAreaElement && !(e.ctrlKey || e.metaKey)) {
    return;
  }
  if (view.onEnter) {
    e.preventDefault();
    view.onEnter();
  }
});

// ---------------------------------------------------------------- start

function waitForBridge(ms) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const tick = () => {
      if (bridge() && rt()) {
        resolve(true);
      } else if (Date.now() - t0 >= ms) {
        resolve(false);
      } else {
        setTimeout(tick, 25);
      }
    };
    tick();
  });
}

async function start() {
  document.documentElement.lang = lang;
  document.title = S.windowTitle;
  // The Wails scripts run before this module; the wait covers a slow
  // development server.
  if (!(await waitForBridge(3000))) {
    showBroken(S.noBridgeTitle, S.noBridgeBody);
    return;
  }
  rt().EventsOn('dialog', (d) => {
    seq++;
    show(d || null);
  });
  const mine = ++seq;
  let d;
  try {
    d = await bridge().Current();
  } catch (err) {
    if (mine === seq) {
      showBroken(S.noBridgeTitle, S.loadFailed(errorText(err)));
    }
    return;
  }
  if (mine === seq) {
    show(d || null);
  }
}

start();
