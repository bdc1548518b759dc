// Pure helpers of the dialogs: no DOM, no clock reads (callers pass now),
// so they are tested in Node as well as in the browser.

import { S } from './strings.js';

// reasonLength counts what the agent counts: characters after trimming
// spaces (code points, so an emoji is one).
export function reasonLength(reason) {
  return [...String(reason).trim()].length;
}

// checkReason returns the message for a reason that is not enough, or ''.
// A minimum above 0 always applies; with 0 a required reason (justification)
// must not be empty and an optional one (approval) may be.
export function checkReason(reason, min, required) {
  const have = reasonLength(reason);
  if (min > 0 && have < min) {
    return S.reasonTooShort(min, have);
  }
  if (required && have === 0) {
    return S.reasonRequired;
  }
  return '';
}

// parseLocal reads the value of an <input type=datetime-local>
// ("2026-11-23T14:00" or with seconds) as a local time. It returns null for
// anything else. A time in a daylight-saving gap comes out as the
// browser's Date makes it (moved forward); the offset sent is that of the
// resulting instant, so the instant is never wrong.
export function parseLocal(value) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?$/.exec(String(value));
  if (!m) {
    return null;
  }
  const [y, mo, d, h, mi, s] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  const t = new Date(y, mo - 1, d, h, mi, s);
  if (Number.isNaN(t.getTime()) || t.getMonth() !== mo - 1 || t.getDate() !== d) {
    return null;
  }
  return t;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

// toRFC3339 writes t with its local offset: 2026-11-23T14:00:00+01:00.
// Whole seconds: the agent's window has no use for less.
export function toRFC3339(t) {
  const off = -t.getTimezoneOffset();
  const sign = off < 0 ? '-' : '+';
  const abs = Math.abs(off);
  return (
    `${pad(t.getFullYear(), 4)}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}` +
    `T${pad(t.getHours())}:${pad(t.getMinutes())}:${pad(t.getSeconds())}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

// toLocalInput writes t as a datetime-local value ("2026-11-23T14:00").
export function toLocalInput(t) {
  return (
    `${pad(t.getFullYear(), 4)}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}` +
    `T${pad(t.getHours())}:${pad(t.getMinutes())}`
  );
}

// A start up to this far in the past is taken as "now": the user filled the
// form a moment ago.
export const startSlackMs = 60 * 1000;

// checkWindow validates an execution window given as datetime-local values.
// It returns {start, end} as RFC 3339 strings ("" and "" for no window) or
// {error, field} naming the field to fix ('start' or 'end').
export function checkWindow(startValue, endValue, now) {
  const hasStart = String(startValue).trim() !== '';
  const hasEnd = String(endValue).trim() !== '';
  if (!hasStart && !hasEnd) {
    return { start: '', end: '' };
  }
  if (!hasStart || !hasEnd) {
    return { error: S.windowBothOrNone, field: hasStart ? 'end' : 'start' };
  }
  const start = parseLocal(startValue);
  if (!start) {
    return { error: S.windowBadTime, field: 'start' };
  }
  const end = parseLocal(endValue);
  if (!end) {
    return { error: S.windowBadTime, field: 'end' };
  }
  if (start.getTime() < now.getTime() - startSlackMs) {
    return { error: S.windowStartPast, field: 'start' };
  }
  if (end.getTime() <= start.getTime()) {
    return { error: S.windowEndBeforeStart, field: 'end' };
  }
  return { start: toRFC3339(start), end: toRFC3339(end) };
}

// isSeparator is what may stand between groups of a typed response code:
// white space and dashes of any kind, as the agent accepts them.
const separators = /[\s\p{Pd}]/gu;

// responseCodeChars returns the typed code without separators, upper case.
// Other characters stay, so the agent can say what is wrong with them.
export function responseCodeChars(typed) {
  return String(typed).replace(separators, '').toUpperCase();
}

// formatResponseCode shows a typed code in groups of four: ABCD-EFGH-JKMN.
export function formatResponseCode(typed) {
  const chars = [...responseCodeChars(typed)];
  const groups = [];
  for (let i = 0; i < chars.length; i += 4) {
    groups.push(chars.slice(i, i + 4).join(''));
  }
  return groups.join('-');
}

// checkResponseCode returns the message for a code that cannot be right, or
// ''. The agent checks the characters themselves (and reads O as 0).
export function checkResponseCode(typed) {
  const n = [...responseCodeChars(typed)].length;
  if (n === 0) {
    return S.responseCodeEmpty;
  }
  if (n !== 12) {
    return S.responseCodeLength(n);
  }
  return '';
}

// errorText turns a rejected bridge call into the text to show. Wails
// rejects with the Go error's text (a string); anything else is an Error
// of the page. The first letter is raised (Go errors start lower case).
export function errorText(err) {
  let s;
  if (typeof err === 'string') {
    s = err;
  } else if (err && typeof err.message === 'string') {
    s = err.message;
  } else {
    s = String(err);
  }
  s = err === undefined || err === null ? '' : s.trim();
  if (!s) {
    return S.unknownError;
  }
  return s.charAt(0).toUpperCase() + s.slice(1);
}

// safeURL returns url if it is an http(s) link, else ''. The agent sends
// only such links; this keeps anything else from being opened.
export function safeURL(url) {
  try {
    const u = new URL(String(url));
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : '';
  } catch {
    return '';
  }
}
