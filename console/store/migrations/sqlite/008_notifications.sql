-- Where approvers hear of new requests: webhooks (Slack, Teams, generic
-- JSON) and e-mail; and the outbox of notifications to send, kept so that
-- none is lost to a restart or an unreachable receiver (retried with
-- backoff, claimed by one node at a time).
CREATE TABLE notifiers (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	kind       TEXT    NOT NULL, -- webhook, email
	format     TEXT    NOT NULL DEFAULT '', -- slack, teams, json (webhooks)
	target     TEXT    NOT NULL, -- the URL, or the address
	created    INTEGER NOT NULL,
	created_by TEXT    NOT NULL
);
CREATE TABLE outbox (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	notifier_id INTEGER NOT NULL REFERENCES notifiers (id) ON DELETE CASCADE,
	request_id  INTEGER NOT NULL REFERENCES requests (id),
	attempts    INTEGER NOT NULL DEFAULT 0,
	next_at     INTEGER NOT NULL,
	sent        INTEGER NOT NULL DEFAULT 0,
	last_error  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (sent, next_at);
