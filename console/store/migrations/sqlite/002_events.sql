-- Audit events uploaded by machines. (machine_id, endpoint_id) is the
-- event's identity: an upload repeated after a lost answer stores nothing
-- twice.
CREATE TABLE events (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	machine_id      TEXT    NOT NULL REFERENCES machines (id),
	endpoint_id     INTEGER NOT NULL,
	time            INTEGER NOT NULL,
	kind            TEXT    NOT NULL,
	action          TEXT    NOT NULL DEFAULT '',
	allowed         INTEGER NOT NULL DEFAULT 0,
	rule            INTEGER NOT NULL DEFAULT 0,
	policy_revision INTEGER NOT NULL DEFAULT 0,
	uid             INTEGER NOT NULL DEFAULT 0,
	user_name       TEXT    NOT NULL DEFAULT '',
	path            TEXT    NOT NULL DEFAULT '',
	sha256          TEXT    NOT NULL DEFAULT '',
	detail          TEXT    NOT NULL DEFAULT '{}', -- JSON: the rest, as the machine sent it
	UNIQUE (machine_id, endpoint_id)
);
CREATE INDEX events_time ON events (time);
