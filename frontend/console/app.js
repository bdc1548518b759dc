// The console's pages: sign-in, the live request queue, the help desk's
// offline approval, computers and the audit. Every call goes to the
// console's own API with the session cookie; every change carries the
// session's CSRF token. What a role may do is decided by the server; the
// pages only leave out what the role cannot use.

import { h } from './dom.js';

const app = document.getElementById('app');

// On a phone the tables are stacked, a card per row (style.css): each cell
// names its column, and the table roles are said outright, as a table
// shown as blocks can lose them in the accessibility tree.
function labelCells(table) {
  table.setAttribute('role', 'table');
  const names = [...table.querySelectorAll('thead th')].map((th) => { th.setAttribute('role', 'columnheader'); return th.textContent; });
  table.querySelectorAll('tr').forEach((tr) => {
    tr.setAttribute('role', 'row');
    [...tr.children].forEach((td, i) => {
      if (td.tagName !== 'TD') return;
      td.setAttribute('role', 'cell');
      if (names[i]) td.dataset.label = names[i];
    });
  });
}
new MutationObserver(() => app.querySelectorAll('table').forEach(labelCells)).observe(app, { childList: true, subtree: true });
const live = document.getElementById('live');
let session = null; // {user, role, csrf}
let stopLive = null; // ends the request queue's long poll

const pages = [
  { hash: '#/requests', title: 'Requests', roles: ['admin', 'approver', 'helpdesk', 'auditor'], show: showRequests },
  { hash: '#/offline', title: 'Offline approval', roles: ['admin', 'helpdesk'], show: showOffline },
  { hash: '#/computers', title: 'Computers', roles: ['admin', 'approver', 'helpdesk', 'auditor'], show: showComputers },
  { hash: '#/audit', title: 'Audit', roles: ['admin', 'approver', 'helpdesk', 'auditor'], show: showAudit },
  { hash: '#/policy', title: 'Policy', roles: ['admin'], show: showPolicy },
  { hash: '#/notifications', title: 'Notifications', roles: ['admin'], show: showNotifications },
];

class APIError extends Error {
  constructor(status, message, data) {
    super(message);
    this.status = status;
    this.data = data || {};
  }
}

async function api(method, path, body, signal) {
  const headers = {};
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
  }
  if (method !== 'GET' && session) {
    headers['X-CSRF-Token'] = session.csrf;
  }
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', signal });
  let data = null;
  try {
    data = await resp.json();
  } catch {
    data = null;
  }
  if (!resp.ok) {
    if (resp.status === 401 && path !== '/v1/session') {
      session = null;
      showSignIn('Your session has ended: sign in again.');
    }
    throw new APIError(resp.status, (data && data.error) || `the console answered ${resp.status}`, data);
  }
  return data;
}

function say(text) {
  live.textContent = '';
  setTimeout(() => { live.textContent = text; }, 30);
}

function when(t) {
  if (!t) {
    return '';
  }
  const d = new Date(t);
  return isNaN(d) ? '' : d.toLocaleString();
}

// fill replaces el's children with kids, leaving out null, undefined and
// false (which replaceChildren would show as text).
function fill(el, ...kids) {
  el.replaceChildren(...kids.flat().filter((k) => k !== null && k !== undefined && k !== false));
}

function page(title, ...content) {
  fill(app, h('h1', { text: title }), ...content);
  document.title = `${title} — Gatehouse console`;
}

function errorLine(id) {
  return h('p', { class: 'error', id, role: 'alert', hidden: true });
}

function setError(el, msg) {
  el.textContent = msg || '';
  el.hidden = !msg;
}

// ---- sign-in and the frame ----

function showSignIn(message) {
  if (stopLive) {
    stopLive();
  }
  document.getElementById('top').hidden = true;
  const name = h('input', { id: 'name', autocomplete: 'username', required: true });
  const password = h('input', { id: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const code = h('input', { id: 'code', inputmode: 'numeric', autocomplete: 'one-time-code', maxlength: 7 });
  const codeField = h('div', { hidden: true }, h('label', { for: 'code', text: 'One-time code' }), code);
  const err = errorLine('signin-error');
  const submit = h('button', { type: 'submit', class: 'primary', id: 'sign-in', text: 'Sign in' });
  const form = h('form', { class: 'signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title', text: 'Sign in to the Gatehouse console' }),
    message ? h('p', { text: message }) : null,
    h('label', { for: 'name', text: 'Name' }), name,
    h('label', { for: 'password', text: 'Password' }), password,
    codeField,
    err,
    h('p', {}, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    try {
      const body = { name: name.value, password: password.value };
      if (!codeField.hidden) {
        body.code = code.value.trim();
      }
      session = await api('POST', '/v1/session', body);
      start();
    } catch (ex) {
      setError(err, ex.message);
      if (ex.data.code_required || !codeField.hidden) {
        codeField.hidden = false;
        code.select();
        code.focus();
      } else {
        password.select();
        password.focus();
      }
    } finally {
      submit.disabled = false;
    }
  });
  app.replaceChildren(form);
  document.title = 'Sign in — Gatehouse console';
  name.focus();
  api('GET', '/v1/sso').then((sso) => {
    if (sso.enabled) {
      form.append(h('p', {}, h('a', { href: '/v1/sso/start', id: 'sso', text: 'Sign in with single sign-on' })));
    }
  }).catch(() => {});
}

function start() {
  document.getElementById('top').hidden = false;
  document.getElementById('who').textContent = `${session.user} (${session.role})`;
  const nav = document.getElementById('nav');
  nav.replaceChildren(...pages.filter((p) => p.roles.includes(session.role)).map((p) => h('a', { href: p.hash, text: p.title })));
  route();
}

function route() {
  if (!session) {
    return;
  }
  if (stopLive) {
    stopLive();
    stopLive = null;
  }
  const allowed = pages.filter((p) => p.roles.includes(session.role));
  const p = allowed.find((x) => x.hash === location.hash) || allowed[0];
  for (const a of document.querySelectorAll('#nav a')) {
    if (a.getAttribute('href') === p.hash) {
      a.setAttribute('aria-current', 'page');
    } else {
      a.removeAttribute('aria-current');
    }
  }
  p.show();
  app.focus();
}

document.getElementById('sign-out').addEventListener('click', async () => {
  try {
    await api('DELETE', '/v1/session');
  } catch {
    // signed out either way
  }
  session = null;
  showSignIn('You are signed out.');
});
window.addEventListener('hashchange', route);

// ---- requests ----

const canDecide = () => session && (session.role === 'admin' || session.role === 'approver');

function facts(r) {
  const f = r.facts || {};
  const rows = [
    ['Path', r.path],
    ['SHA-256', r.sha256],
    ['Publisher', f.publisher],
    ['Team ID', f.team_id],
    ['Signing ID', f.signing_id],
    ['Arguments', Array.isArray(f.args) ? f.args.join(' ') : ''],
    ['User', r.user ? `${r.user} (uid ${r.uid})` : ''],
    ['Computer', r.hostname || r.machine_id],
    ['Reason', r.reason],
    ['Window', r.window_start || r.window_end ? `${when(r.window_start) || 'now'} – ${when(r.window_end) || 'the approval\'s default'}` : ''],
    ['Rule', `rule ${r.rule}, policy revision ${r.policy_revision}`],
    ['Asked', when(r.created)],
  ];
  return h('dl', { class: 'facts' }, rows.filter(([, v]) => v).map(([k, v]) => [h('dt', { text: k }), h('dd', { text: String(v) })]));
}

// programName is what the user calls the program: an app bundle's name
// for its executable, else the file's name (as the agent's dialogs say).
function programName(path) {
  const i = path.indexOf('.app/Contents/MacOS/');
  const p = i >= 0 ? path.slice(0, i) : path;
  return p.split('/').pop() || path;
}

function progress(r) {
  const yes = r.votes.filter((v) => v.approve);
  let text = `${yes.length} of ${r.approvals_needed} approval${r.approvals_needed === 1 ? '' : 's'}`;
  if (r.votes.length) {
    text += ': ' + r.votes.map((v) => `${v.voter} ${v.approve ? 'approved' : 'denied'}${v.note ? ` (“${v.note}”)` : ''}`).join(', ');
  }
  return h('p', { class: 'progress', text });
}

function requestCard(r, refresh) {
  const name = programName(r.path);
  const titleId = `req-${r.id}-title`;
  const card = h('article', { class: 'card', 'aria-labelledby': titleId, 'data-request': String(r.id) },
    h('h3', { id: titleId, text: `${name} on ${r.hostname || r.machine_id}` }),
    facts(r),
    progress(r));
  if (r.state !== 'pending') {
    const decider = r.votes.length ? r.votes[r.votes.length - 1].voter : '';
    card.append(h('p', { class: `state-${r.state}`, text: `${r.state === 'approved' ? 'Approved' : 'Denied'}${decider ? ` by ${decider}` : ''}, ${when(r.decided)}` }));
    return card;
  }
  if (!canDecide()) {
    return card;
  }
  const voted = r.votes.some((v) => v.voter === session.user);
  const noteId = `req-${r.id}-note`;
  const endId = `req-${r.id}-end`;
  const note = h('textarea', { id: noteId, rows: 1 });
  const end = h('input', { id: endId, type: 'datetime-local' });
  const err = errorLine(`req-${r.id}-error`);
  const decide = async (approve, btn) => {
    btn.disabled = true;
    setError(err, '');
    const body = { approve, note: note.value.trim() };
    if (approve && end.value) {
      body.window_end = new Date(end.value).toISOString();
    }
    try {
      const after = await api('POST', `/v1/admin/requests/${r.id}/decide`, body);
      say(after.state === 'pending' ? `Your approval of ${name} is counted; it needs ${after.approvals_needed} in all.` : `${name} is ${after.state}.`);
      refresh();
    } catch (ex) {
      setError(err, ex.message);
      btn.disabled = false;
    }
  };
  const approve = h('button', { type: 'button', class: 'primary', text: 'Approve', 'aria-describedby': titleId });
  const deny = h('button', { type: 'button', class: 'deny', text: 'Deny', 'aria-describedby': titleId });
  approve.addEventListener('click', () => decide(true, approve));
  deny.addEventListener('click', () => decide(false, deny));
  if (voted) {
    approve.disabled = deny.disabled = true;
  }
  card.append(h('div', { class: 'actions' },
    h('div', {}, h('label', { for: noteId, text: 'Comment' }), note),
    h('div', {}, h('label', { for: endId, text: 'Approve until (optional)' }), end),
    approve, deny), err);
  if (voted) {
    card.append(h('p', { class: 'progress', text: 'You have voted on this request.' }));
  }
  return card;
}

function showRequests() {
  const pendingList = h('section', { 'aria-labelledby': 'pending-title' }, h('h2', { id: 'pending-title', text: 'Waiting for a decision' }));
  const decidedList = h('section', { 'aria-labelledby': 'decided-title' }, h('h2', { id: 'decided-title', text: 'Decided' }));
  const err = errorLine('requests-error');
  page('Requests', err, pendingList, decidedList);
  let known = -1;
  const refresh = async () => {
    try {
      const rs = await api('GET', '/v1/admin/requests');
      const pending = rs.filter((r) => r.state === 'pending');
      const decided = rs.filter((r) => r.state !== 'pending').slice(0, 20);
      pendingList.replaceChildren(pendingList.firstChild, ...(pending.length ? pending.map((r) => requestCard(r, refresh)) : [h('p', { text: 'Nothing is waiting.' })]));
      decidedList.replaceChildren(decidedList.firstChild, ...decided.map((r) => requestCard(r, refresh)));
      if (known >= 0 && pending.length > known) {
        say(`${pending.length - known} new request${pending.length - known === 1 ? '' : 's'}.`);
      }
      known = pending.length;
      setError(err, '');
    } catch (ex) {
      setError(err, ex.message);
    }
  };
  refresh();
  // New requests and votes appear without a reload: a long poll on the
  // queue's version.
  const ctl = new AbortController();
  stopLive = () => ctl.abort();
  (async () => {
    let version = 0;
    while (!ctl.signal.aborted) {
      try {
        const v = await api('GET', `/v1/admin/requests/changes?after=${version}&wait=25s`, undefined, ctl.signal);
        if (v.version !== version) {
          const first = version === 0;
          version = v.version;
          if (!first) {
            await refresh();
          }
        }
      } catch (ex) {
        if (ctl.signal.aborted || ex.status === 401) {
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    }
  })();
}

// ---- the help desk's offline approval ----

async function showOffline() {
  const machine = h('select', { id: 'computer' });
  const code = h('input', { id: 'request-code', inputmode: 'numeric', autocomplete: 'off', maxlength: 7, 'aria-describedby': 'request-code-hint' });
  const revision = h('input', { id: 'revision', inputmode: 'numeric', autocomplete: 'off' });
  const reason = h('textarea', { id: 'offline-reason', rows: 2, 'aria-describedby': 'reason-hint' });
  const err = errorLine('offline-error');
  const result = h('div', { id: 'offline-result', role: 'status', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', class: 'primary', id: 'make-code', text: 'Get the response code' });
  const form = h('form', {},
    h('label', { for: 'computer', text: 'Computer' }), machine,
    h('label', { for: 'request-code', text: 'Request code' }), code,
    h('p', { class: 'progress', id: 'request-code-hint', text: 'The 6 digits the user reads out.' }),
    h('label', { for: 'revision', text: 'Policy revision the computer shows' }), revision,
    h('label', { for: 'offline-reason', text: 'Reason for issuing' }), reason,
    h('p', { class: 'progress', id: 'reason-hint', text: 'Required; kept with the code\'s record (ticket number, who asked).' }),
    err, h('p', {}, submit), result);
  page('Offline approval', form);
  let machines = [];
  try {
    machines = await api('GET', '/v1/admin/machines');
  } catch (ex) {
    setError(err, ex.message);
  }
  machine.replaceChildren(...machines.filter((m) => !m.revoked).map((m) => h('option', { value: m.id, text: m.offline_name && m.offline_name !== m.hostname ? `${m.hostname} (${m.offline_name})` : m.hostname })));
  const prefill = () => {
    const m = machines.find((x) => x.id === machine.value);
    revision.value = m ? String(m.policy_revision) : '';
  };
  machine.addEventListener('change', prefill);
  prefill();
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    setError(err, '');
    result.replaceChildren();
    submit.disabled = true;
    try {
      const out = await api('POST', '/v1/admin/offline-code', {
        machine_id: machine.value, request_code: code.value.trim(), revision: Number(revision.value) || 0, reason: reason.value.trim(),
      });
      result.replaceChildren(h('p', { text: `Read this response code to the user of ${out.machine}:` }), h('p', { class: 'code', id: 'response-code', text: out.code }));
    } catch (ex) {
      setError(err, ex.message);
    } finally {
      submit.disabled = false;
    }
  });
}

// ---- computers ----

async function showComputers() {
  const err = errorLine('computers-error');
  const table = h('table', {}, h('caption', { class: 'visually-hidden', text: 'Enrolled computers' }),
    h('thead', {}, h('tr', {}, ['Computer', 'Tags', 'Pending', 'Last seen', 'Policy revision', 'Daemon', 'Agents', 'Enrolled', ''].map((t) => h('th', { scope: 'col', text: t })))));
  const body = h('tbody');
  table.append(body);
  page('Computers', err, table);
  const load = async () => {
    try {
      const ms = await api('GET', '/v1/admin/machines');
      body.replaceChildren(...ms.map((m) => {
        // What it runs, as its sync last said (nothing before it did).
        const daemon = m.daemon_version ? `${m.daemon_version}${m.sync_version && m.sync_version !== m.daemon_version ? ` (sync ${m.sync_version})` : ''}` : 'not reported';
        const agents = (m.agents || []).map((a) => `${a.user} ${a.version}`).join(', ') || 'none reported';
        const cells = [m.hostname, (m.tags || []).join(', '), String(m.pending), when(m.last_seen) || 'never', String(m.policy_revision), daemon, agents, when(m.enrolled)];
        const row = h('tr', {}, cells.map((c) => h('td', { text: c })));
        const last = h('td');
        if (m.revoked) {
          last.textContent = 'revoked';
        } else if (session.role === 'admin') {
          const b = h('button', { type: 'button', class: 'deny', text: 'Revoke', 'aria-label': `Revoke ${m.hostname}` });
          b.addEventListener('click', async () => {
            if (!window.confirm(`Revoke ${m.hostname}? It will have to enroll again.`)) {
              return;
            }
            try {
              await api('POST', `/v1/admin/machines/${m.id}/revoke`);
              say(`${m.hostname} is revoked.`);
              load();
            } catch (ex) {
              setError(err, ex.message);
            }
          });
          last.append(b);
        }
        row.append(last);
        return row;
      }));
    } catch (ex) {
      setError(err, ex.message);
    }
  };
  load();
}

// ---- audit ----

const svgNS = 'http://www.w3.org/2000/svg';

function svg(tag, attrs) {
  const el = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs)) {
    el.setAttribute(k, String(v));
  }
  return el;
}

// chart draws the events per day, allowed and denied stacked, with a
// description for screen readers.
function chart(evs) {
  const days = new Map();
  // Decisions: a program's first record repeats its first exec's.
  for (const e of evs.filter((x) => x.kind === 'exec')) {
    const day = (e.time || '').slice(0, 10);
    const d = days.get(day) || { allowed: 0, denied: 0 };
    if (e.allowed) {
      d.allowed++;
    } else {
      d.denied++;
    }
    days.set(day, d);
  }
  const list = [...days.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).slice(-30);
  const max = Math.max(1, ...list.map(([, d]) => d.allowed + d.denied));
  // Days are labelled by their number, or month and day when the bars span months.
  const months = new Set(list.map(([day]) => day.slice(0, 7))).size > 1;
  const w = months ? 40 : 24;
  const height = 120;
  const label = list.length
    ? 'Decisions per day: ' + list.map(([day, d]) => `${day} ${d.allowed} allowed, ${d.denied} denied`).join('; ')
    : 'No decisions to draw.';
  const pic = svg('svg', { width: Math.max(list.length * w, w), height: height + 20, role: 'img', 'aria-label': label, class: 'chart' });
  list.forEach(([day, d], i) => {
    const ha = (d.allowed / max) * height;
    const hd = (d.denied / max) * height;
    pic.append(svg('rect', { x: i * w + 4, y: height - ha - hd, width: w - 8, height: hd, class: 'bar-denied' }));
    pic.append(svg('rect', { x: i * w + 4, y: height - ha, width: w - 8, height: ha, class: 'bar-allowed' }));
    const t = svg('text', { x: i * w + w / 2, y: height + 14, 'text-anchor': 'middle', class: 'bar-label' });
    t.textContent = months ? day.slice(5) : day.slice(8);
    pic.append(t);
  });
  return h('figure', { class: 'chart-box' }, pic, h('figcaption', { text: 'Decisions per day (green allowed, red denied) of the events listed.' }));
}

async function showAudit() {
  const err = errorLine('audit-error');
  const machine = h('select', { id: 'f-machine' }, h('option', { value: '', text: 'Any computer' }));
  const user = h('input', { id: 'f-user', autocomplete: 'off' });
  const program = h('input', { id: 'f-path', autocomplete: 'off' });
  const hash = h('input', { id: 'f-sha256', autocomplete: 'off' });
  const action = h('select', { id: 'f-action' }, ['', 'allow', 'deny', 'warning', 'justification', 'approval', 'approval_offline', 'audit']
    .map((a) => h('option', { value: a, text: a || 'Any action' })));
  const since = h('input', { id: 'f-since', type: 'date' });
  const until = h('input', { id: 'f-until', type: 'date' });
  const field = (id, text, input) => h('div', { class: 'filter' }, h('label', { for: id, text }), input);
  const csvLink = h('a', { id: 'csv', href: '#', download: 'gatehouse-events.csv', text: 'Download CSV' });
  const search = h('button', { type: 'submit', class: 'primary', id: 'search', text: 'Search' });
  const form = h('form', { class: 'filters', 'aria-label': 'Filter the audit' },
    field('f-machine', 'Computer', machine), field('f-user', 'User', user), field('f-path', 'Program (part of its path)', program),
    field('f-sha256', 'SHA-256', hash), field('f-action', 'Action', action), field('f-since', 'From', since), field('f-until', 'Until', until),
    h('div', { class: 'filter' }, search));
  const count = h('p', { class: 'progress', id: 'audit-count', role: 'status' });
  const picture = h('div');
  const table = h('table', {}, h('caption', { class: 'visually-hidden', text: 'Audit events from the computers' }),
    h('thead', {}, h('tr', {}, ['Time', 'Computer', 'User', 'Action', 'Rule', 'Program'].map((t) => h('th', { scope: 'col', text: t })))));
  const body = h('tbody');
  table.append(body);
  page('Audit', form, err, h('p', {}, csvLink), count, picture, table);
  let host = {};
  try {
    const ms = await api('GET', '/v1/admin/machines');
    host = Object.fromEntries(ms.map((m) => [m.id, m.hostname]));
    machine.append(...ms.map((m) => h('option', { value: m.id, text: m.hostname })));
  } catch (ex) {
    setError(err, ex.message);
  }
  const query = () => {
    const q = new URLSearchParams({ order: 'newest', limit: '1000' });
    const set = (k, v) => { if (v) { q.set(k, v); } };
    set('machine', machine.value);
    set('user', user.value.trim());
    set('path', program.value.trim());
    set('sha256', hash.value.trim());
    set('action', action.value);
    set('since', since.value ? new Date(`${since.value}T00:00:00`).toISOString() : '');
    set('until', until.value ? new Date(new Date(`${until.value}T00:00:00`).getTime() + 86400000).toISOString() : '');
    return q;
  };
  const run = async () => {
    setError(err, '');
    const q = query();
    csvLink.href = `/v1/admin/events?${q}&format=csv`;
    try {
      const evs = await api('GET', `/v1/admin/events?${q}`);
      count.textContent = `${evs.length} event${evs.length === 1 ? '' : 's'}${evs.length === 1000 ? ' (the newest 1,000)' : ''}.`;
      picture.replaceChildren(chart(evs));
      body.replaceChildren(...evs.map((e) => h('tr', {},
        [when(e.time), host[e.machine_id] || e.machine_id, e.user || '', e.kind === 'program' ? `first seen${e.action ? `: ${e.action}` : ' (as a parent)'}` : `${e.kind} ${e.action || ''}${e.allowed ? ' (allowed)' : ''}`, String(e.rule || ''), e.path || '']
          .map((c) => h('td', { text: c })))));
    } catch (ex) {
      setError(err, ex.message);
    }
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); run(); });
  run();
}

// ---- policy ----

// lineDiff is the line-by-line difference of a and b: [' ', line],
// ['-', line] or ['+', line] (longest common subsequence); null when the
// texts are too large to compare here.
export function lineDiff(a, b) {
  const x = a.split('\n');
  const y = b.split('\n');
  if (x.length * y.length > 4e6) {
    return null;
  }
  const n = x.length;
  const m = y.length;
  const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      out.push([' ', x[i]]);
      i++;
      j++;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) {
      out.push(['-', x[i++]]);
    } else {
      out.push(['+', y[j++]]);
    }
  }
  while (i < n) { out.push(['-', x[i++]]); }
  while (j < m) { out.push(['+', y[j++]]); }
  return out;
}

function diffView(older, newer) {
  const d = lineDiff(older, newer);
  if (!d) {
    return h('p', { class: 'progress', text: 'Too large to compare here.' });
  }
  const shown = d.filter(([op], k) => op !== ' ' || d.slice(Math.max(0, k - 2), k + 3).some(([o]) => o !== ' '));
  return h('pre', { class: 'diff' }, shown.map(([op, line]) => h('span', { class: op === '+' ? 'add' : op === '-' ? 'del' : '', text: `${op} ${line}\n` })));
}

async function showPolicy() {
  const err = errorLine('policy-error');
  const list = h('ul', { class: 'policy-list', 'aria-label': 'Policies' });
  const editor = h('section', { 'aria-labelledby': 'editor-title' });
  page('Policy', err, h('div', { class: 'policy' }, h('nav', { 'aria-label': 'Policies' }, list), editor));
  let policies = [];
  const load = async (select) => {
    try {
      policies = await api('GET', '/v1/admin/policies');
    } catch (ex) {
      setError(err, ex.message);
      return;
    }
    list.replaceChildren(...policies.map((p) => h('li', {}, h('button', { type: 'button', class: 'link', text: `${p.name} (revision ${p.revision})`, onclick: () => open(p.name) }))),
      h('li', {}, h('button', { type: 'button', id: 'new-policy', text: 'New policy', onclick: () => open('') })));
    if (select !== undefined) {
      open(select);
    } else if (policies.length) {
      open(policies[0].name);
    } else {
      open('');
    }
  };
  const open = async (name) => {
    let history = [];
    if (name) {
      try {
        history = await api('GET', `/v1/admin/policies/${encodeURIComponent(name)}`);
      } catch (ex) {
        setError(err, ex.message);
        return;
      }
    }
    const current = history[0];
    const nameField = h('input', { id: 'policy-name', value: name, readOnly: !!name, autocomplete: 'off' });
    const text = h('textarea', { id: 'policy-text', class: 'code-edit', rows: 22, spellcheck: 'false', 'aria-describedby': 'lint-result' });
    text.value = current ? current.body : 'id: fleet\nrevision: 1\ndefault: allow\ngroups: []\nrules: []\n';
    const result = h('div', { id: 'lint-result', role: 'status', 'aria-live': 'polite' });
    const publish = h('button', { type: 'button', class: 'primary', id: 'publish', text: 'Publish', disabled: true });
    const published = h('p', { id: 'published', role: 'status' });
    let errors = true;
    let timer = 0;
    const goTo = (line, col) => {
      const lines = text.value.split('\n');
      let pos = 0;
      for (let k = 0; k < line - 1 && k < lines.length; k++) {
        pos += lines[k].length + 1;
      }
      pos += Math.max(0, col - 1);
      text.focus();
      text.setSelectionRange(pos, pos);
    };
    const check = async () => {
      try {
        const out = await api('POST', '/v1/admin/policies/lint', { name: nameField.value.trim() || 'policy', yaml: text.value });
        errors = out.errors;
        const items = out.diagnostics.map((d) => h('li', {}, h('button', { type: 'button', class: `link diag-${d.severity}`, text: `Line ${d.line}, column ${d.column}: ${d.severity}: ${d.message}`, onclick: () => goTo(d.line, d.column) })));
        fill(result,
          h('p', { class: errors ? 'error' : 'progress', id: 'lint-summary', text: errors ? 'The policy has errors: it cannot be published.' : `Lints clean${out.diagnostics.length ? ` with ${out.diagnostics.length} warning${out.diagnostics.length === 1 ? '' : 's'}` : ''}: revision ${out.revision}.` }),
          items.length ? h('ul', { class: 'diagnostics' }, items) : null);
        publish.disabled = errors || !nameField.value.trim() || (current && text.value === current.body);
      } catch (ex) {
        setError(err, ex.message);
      }
    };
    text.addEventListener('input', () => { publish.disabled = true; clearTimeout(timer); timer = setTimeout(check, 400); });
    nameField.addEventListener('input', () => { clearTimeout(timer); timer = setTimeout(check, 400); });
    publish.addEventListener('click', async () => {
      publish.disabled = true;
      try {
        const out = await api('POST', '/v1/admin/policies', { name: nameField.value.trim(), yaml: text.value });
        say(`${out.name} revision ${out.revision} is published.`);
        load(out.name);
      } catch (ex) {
        setError(err, ex.message);
        publish.disabled = false;
      }
    });
    const target = h('input', { id: 'assign-target', autocomplete: 'off', placeholder: 'tag:finance, machine:ID or *', 'aria-describedby': 'assign-hint' });
    const assign = h('button', { type: 'button', id: 'assign', text: 'Assign' });
    assign.addEventListener('click', async () => {
      try {
        await api('POST', '/v1/admin/assignments', { target: target.value.trim(), policy: name });
        say(`${target.value.trim()} gets ${name}.`);
        load(name);
      } catch (ex) {
        setError(err, ex.message);
      }
    });
    const info = policies.find((p) => p.name === name);
    const historyList = h('ol', { class: 'history', reversed: true });
    history.forEach((rev, k) => {
      const older = history[k + 1];
      const item = h('li', { 'data-revision': String(rev.revision) }, h('span', { text: `Revision ${rev.revision}, by ${rev.uploaded_by}, ${when(rev.uploaded)}` }));
      const box = h('div');
      if (older) {
        const show = h('button', { type: 'button', class: 'link', text: 'Show changes', 'aria-expanded': 'false' });
        show.addEventListener('click', () => {
          const expanded = show.getAttribute('aria-expanded') === 'true';
          show.setAttribute('aria-expanded', String(!expanded));
          box.replaceChildren(...(expanded ? [] : [diffView(older.body, rev.body)]));
        });
        item.append(' ', show);
      }
      if (k > 0) {
        const back = h('button', { type: 'button', class: 'deny', text: `Roll back to revision ${rev.revision}` });
        back.addEventListener('click', async () => {
          try {
            const out = await api('POST', `/v1/admin/policies/${encodeURIComponent(name)}/rollback`, { revision: rev.revision });
            say(`Revision ${rev.revision}'s text is published again as revision ${out.revision}.`);
            load(name);
          } catch (ex) {
            setError(err, ex.message);
          }
        });
        item.append(' ', back);
      }
      item.append(box);
      historyList.append(item);
    });
    const whatIfBtn = h('button', { type: 'button', id: 'what-if', text: 'What if it were published? (the last 7 days)' });
    const whatIfOut = h('div', { id: 'what-if-result', role: 'status', 'aria-live': 'polite' });
    whatIfBtn.addEventListener('click', async () => {
      whatIfBtn.disabled = true;
      try {
        const out = await api('POST', '/v1/admin/whatif', { name: nameField.value.trim() || 'draft', yaml: text.value, days: 7 });
        const starts = (c) => {
          if (!c.unrecorded) return String(c.events);
          const unrec = `unrecorded on ${c.unrecorded} computer${c.unrecorded === 1 ? '' : 's'} (as first seen)`;
          return c.events ? `${c.events}, and ${unrec}` : unrec;
        };
        const rows = out.changed.map((c) => h('tr', {}, [c.path, c.was, `${c.would} (rule ${c.would_rule})`, starts(c), c.users.join(', '), c.computers.join(', ')].map((v) => h('td', { text: v }))));
        fill(whatIfOut,
          h('p', { id: 'what-if-summary', text: `${out.events} program start${out.events === 1 ? '' : 's'} since ${when(out.since)} replayed${out.unrecorded ? `, and ${out.unrecorded} program${out.unrecorded === 1 ? '' : 's'} that ran unrecorded, as first seen` : ''}${out.truncated ? ' (the newest 50,000 of each)' : ''}: ${out.changed.length ? `${out.changed.length} program${out.changed.length === 1 ? '' : 's'} would be decided differently.` : 'nothing would be decided differently.'}` }),
          rows.length ? h('table', {}, h('caption', { class: 'visually-hidden', text: 'Programs the draft would decide differently' }),
            h('thead', {}, h('tr', {}, ['Program', 'Was', 'Would be', 'Starts', 'Users', 'Computers'].map((t) => h('th', { scope: 'col', text: t })))),
            h('tbody', {}, rows)) : null,
          out.missing.length ? h('div', { class: 'error', id: 'what-if-missing' }, h('p', { text: 'Not covered — the draft looks at facts these starts lack, and rules on them match none of them:' }),
            h('ul', {}, out.missing.map((m) => h('li', { text: m })))) : null,
          h('ul', { class: 'progress' }, out.notes.map((n) => h('li', { text: n }))));
      } catch (ex) {
        fill(whatIfOut, h('p', { class: 'error', text: ex.message }));
      } finally {
        whatIfBtn.disabled = false;
      }
    });
    fill(editor,
      h('h2', { id: 'editor-title', text: name ? `${name}` : 'New policy' }),
      h('label', { for: 'policy-name', text: 'Name' }), nameField,
      h('label', { for: 'policy-text', text: 'Policy (YAML)' }), text,
      result, h('p', { class: 'actions' }, publish, whatIfBtn), published, whatIfOut,
      name ? h('div', {},
        h('h2', { text: 'Assigned to' }),
        h('p', { text: info && info.assigned_to && info.assigned_to.length ? info.assigned_to.join(', ') : 'Nothing yet: no machine gets it.' }),
        h('label', { for: 'assign-target', text: 'Assign to' }), target,
        h('p', { class: 'progress', id: 'assign-hint', text: 'A machine gets its own assignment, else its first tag\'s, else *\'s.' }),
        h('p', {}, assign),
        h('h2', { text: 'History' }), historyList) : null);
    check();
  };
  load();
}

// ---- notifications ----

async function showNotifications() {
  const err = errorLine('notifiers-error');
  const kind = h('select', { id: 'n-kind' }, h('option', { value: 'webhook', text: 'Webhook' }), h('option', { value: 'email', text: 'E-mail' }));
  const format = h('select', { id: 'n-format' }, [['slack', 'Slack'], ['teams', 'Microsoft Teams (Adaptive Card)'], ['json', 'Generic JSON']].map(([v, t]) => h('option', { value: v, text: t })));
  const formatField = h('div', {}, h('label', { for: 'n-format', text: 'Format' }), format);
  const target = h('input', { id: 'n-target', autocomplete: 'off', 'aria-describedby': 'n-target-hint' });
  const hint = h('p', { class: 'progress', id: 'n-target-hint', text: 'The webhook\'s URL.' });
  kind.addEventListener('change', () => {
    formatField.hidden = kind.value !== 'webhook';
    hint.textContent = kind.value === 'webhook' ? 'The webhook\'s URL.' : 'The address approvers read (the console sends through its --smtp server).';
  });
  const add = h('button', { type: 'submit', class: 'primary', id: 'n-add', text: 'Add' });
  const form = h('form', { 'aria-label': 'Add a notifier' },
    h('label', { for: 'n-kind', text: 'Kind' }), kind, formatField,
    h('label', { for: 'n-target', text: 'Send to' }), target, hint, h('p', {}, add));
  const body = h('tbody');
  const table = h('table', {}, h('caption', { class: 'visually-hidden', text: 'Where approvers hear of new requests' }),
    h('thead', {}, h('tr', {}, ['Kind', 'Send to', 'Added by', ''].map((t) => h('th', { scope: 'col', text: t })))), body);
  page('Notifications', h('p', { text: 'Every new approval request goes to each of these, with a link to it.' }), table, h('h2', { text: 'Add' }), form, err);
  const load = async () => {
    try {
      const ns = await api('GET', '/v1/admin/notifiers');
      body.replaceChildren(...ns.map((n) => {
        const del = h('button', { type: 'button', class: 'deny', text: 'Remove', 'aria-label': `Remove ${n.target}` });
        del.addEventListener('click', async () => {
          try {
            await api('DELETE', `/v1/admin/notifiers/${n.id}`);
            say(`${n.target} removed.`);
            load();
          } catch (ex) {
            setError(err, ex.message);
          }
        });
        return h('tr', { 'data-notifier': String(n.id) }, h('td', { text: n.kind === 'webhook' ? `webhook (${n.format})` : 'e-mail' }),
          h('td', { text: n.target }), h('td', { text: `${n.by}, ${when(n.created)}` }), h('td', {}, del));
      }));
      if (!ns.length) {
        body.replaceChildren(h('tr', {}, h('td', { colspan: 4, text: 'None yet: approvers see requests only on this console.' })));
      }
    } catch (ex) {
      setError(err, ex.message);
    }
  };
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    setError(err, '');
    try {
      await api('POST', '/v1/admin/notifiers', { kind: kind.value, format: kind.value === 'webhook' ? format.value : '', target: target.value.trim() });
      say(`${target.value.trim()} added.`);
      target.value = '';
      load();
    } catch (ex) {
      setError(err, ex.message);
      target.focus();
    }
  });
  load();
}

// ---- start ----

(async () => {
  try {
    session = await api('GET', '/v1/session');
    start();
  } catch {
    showSignIn();
  }
})();
