// The pure helpers, in Node (no browser): RFC 3339 with the local offset,
// the window's checks, reason lengths and response code formatting.

process.env.TZ = 'Europe/Berlin';

const { test } = await import('node:test');
const assert = (await import('node:assert/strict')).default;
const f = await import('../dist/format.js');

test('toRFC3339 writes the local offset, winter and summer', () => {
  assert.equal(f.toRFC3339(f.parseLocal('2026-11-23T14:00')), '2026-11-23T14:00:00+01:00');
  assert.equal(f.toRFC3339(f.parseLocal('2026-07-01T09:05:07')), '2026-07-01T09:05:07+02:00');
  // 02:30 on the spring-forward night does not exist in Berlin; the instant
  // sent is the one the browser makes of it, with its own offset.
  assert.equal(f.toRFC3339(f.parseLocal('2026-03-29T02:30')), '2026-03-29T03:30:00+02:00');
});

test('parseLocal refuses what is not a datetime-local value', () => {
  for (const v of ['', '2026-11-23', '2026-02-30T10:00', '2026-11-23 14:00', 'tomorrow', '2026-13-01T00:00']) {
    assert.equal(f.parseLocal(v), null, v);
  }
});

test('checkWindow', () => {
  const now = new Date(2026, 10, 23, 12, 30, 30); // 23 Nov 2026 12:30:30 local
  const cases = [
    ['', '', { start: '', end: '' }],
    ['2026-11-23T14:00', '2026-11-23T18:00', { start: '2026-11-23T14:00:00+01:00', end: '2026-11-23T18:00:00+01:00' }],
    ['2026-11-23T12:30', '2026-11-23T13:00', { start: '2026-11-23T12:30:00+01:00', end: '2026-11-23T13:00:00+01:00' }],
    ['2026-11-23T12:29', '2026-11-23T13:00', { error: 'The start is in the past. Choose a time from now on, or leave both empty.', field: 'start' }],
    ['2026-11-23T14:00', '2026-11-23T14:00', { error: 'The end must be after the start.', field: 'end' }],
    ['2026-11-23T14:00', '2026-11-22T14:00', { error: 'The end must be after the start.', field: 'end' }],
    ['2026-11-23T14:00', '', { error: 'Give both a start and an end, or leave both empty.', field: 'end' }],
    ['', '2026-11-23T14:00', { error: 'Give both a start and an end, or leave both empty.', field: 'start' }],
    ['2026-11-23T1', '2026-11-23T14:00', { error: 'That is not a complete date and time.', field: 'start' }],
  ];
  for (const [start, end, want] of cases) {
    assert.deepEqual(f.checkWindow(start, end, now), want, `${start} .. ${end}`);
  }
});

test('checkReason counts trimmed characters (code points)', () => {
  assert.equal(f.checkReason('  test  ', 10, true), 'Please give at least 10 characters (you have 4).');
  assert.equal(f.checkReason('', 10, true), 'Please give at least 10 characters (you have 0).');
  assert.equal(f.checkReason('', 1, true), 'Please give at least 1 character (you have 0).');
  assert.equal(f.checkReason('0123456789', 10, true), '');
  assert.equal(f.checkReason('👍👍👍', 3, true), '');
  assert.equal(f.checkReason('   ', 0, true), 'Please give a reason.');
  assert.equal(f.checkReason('', 0, false), '');
  assert.equal(f.checkReason('short', 10, false), 'Please give at least 10 characters (you have 5).');
});

test('response codes: separators dropped, upper case, groups of four', () => {
  assert.equal(f.formatResponseCode('abcd efgh-jkmn'), 'ABCD-EFGH-JKMN');
  assert.equal(f.formatResponseCode(' ab–cd\tef '), 'ABCD-EF'); // en dash and tab
  assert.equal(f.formatResponseCode('ABCD-'), 'ABCD');
  assert.equal(f.formatResponseCode(''), '');
  assert.equal(f.checkResponseCode('abcd efgh jkmn'), '');
  assert.equal(f.checkResponseCode(' - '), 'Type the 12-character response code the help desk gave you.');
  assert.equal(f.checkResponseCode('ABCD-EFGH-JKMN-P'), 'The response code has 12 characters; you typed 13.');
  // Other characters stay for the agent to name them.
  assert.equal(f.formatResponseCode('abc#'), 'ABC#');
});

test('errorText takes Wails\' string rejections and Errors', () => {
  assert.equal(f.errorText('the response code is wrong'), 'The response code is wrong');
  assert.equal(f.errorText(new Error('boom')), 'Boom');
  assert.equal(f.errorText(undefined), 'Something went wrong. Try again, or tell your help desk.');
  assert.equal(f.errorText(''), 'Something went wrong. Try again, or tell your help desk.');
});

test('safeURL keeps only http(s) links', () => {
  assert.equal(f.safeURL('https://intranet.example.com/a b'), 'https://intranet.example.com/a%20b');
  assert.equal(f.safeURL('http://x.example/'), 'http://x.example/');
  for (const u of ['javascript:alert(1)', 'file:///etc/passwd', 'data:text/html,x', '', 'not a url']) {
    assert.equal(f.safeURL(u), '', u);
  }
});
