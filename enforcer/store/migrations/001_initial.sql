-- The first schema of the gatehoused store.
--
-- Times are unix nanoseconds (0 = unset). Ids are AUTOINCREMENT so that an
-- id is never reused after Prune deletes the newest rows: clients page
-- through events with "after id", and users quote request ids.

CREATE TABLE events (
	id              INTEGER PRIMARY KEY AUTOINCREMENT,
	time            INTEGER NOT NULL,
	kind            TEXT    NOT NULL DEFAULT '',
	action          TEXT    NOT NULL DEFAULT '',
	allowed         INTEGER NOT NULL DEFAULT 0,
	rule            INTEGER NOT NULL DEFAULT 0,
	rule_name       TEXT    NOT NULL DEFAULT '',
	group_name      TEXT    NOT NULL DEFAULT '',
	policy_id       TEXT    NOT NULL DEFAULT '',
	policy_revision INTEGER NOT NULL DEFAULT 0,
	uid             INTEGER NOT NULL DEFAULT 0,
	user_name       TEXT    NOT NULL DEFAULT '',
	pid             INTEGER NOT NULL DEFAULT 0,
	path            TEXT    NOT NULL DEFAULT '',
	sha256          TEXT    NOT NULL DEFAULT '',
	args            TEXT,   -- JSON array of strings; NULL when there are none
	parent          TEXT    NOT NULL DEFAULT '',
	app_type        TEXT    NOT NULL DEFAULT '',
	source          TEXT    NOT NULL DEFAULT '',
	reason          TEXT    NOT NULL DEFAULT '',
	grant_id        INTEGER NOT NULL DEFAULT 0,
	request_id      INTEGER NOT NULL DEFAULT 0,
	count           INTEGER NOT NULL DEFAULT 0,
	detail          TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX events_time ON events(time);
CREATE INDEX events_uid_id ON events(uid, id);

CREATE TABLE requests (
	id                INTEGER PRIMARY KEY AUTOINCREMENT,
	created           INTEGER NOT NULL,
	updated           INTEGER NOT NULL,
	uid               INTEGER NOT NULL,
	user_name         TEXT    NOT NULL DEFAULT '',
	pid               INTEGER NOT NULL DEFAULT 0,
	kind              TEXT    NOT NULL,
	state             TEXT    NOT NULL,
	path              TEXT    NOT NULL DEFAULT '',
	sha256            TEXT    NOT NULL DEFAULT '',
	dev               INTEGER NOT NULL DEFAULT 0, -- uint64 stored bit for bit
	ino               INTEGER NOT NULL DEFAULT 0, -- uint64 stored bit for bit
	args              TEXT,   -- JSON array of strings; NULL when there are none
	cwd               TEXT    NOT NULL DEFAULT '',
	tty               TEXT    NOT NULL DEFAULT '',
	rule              INTEGER NOT NULL DEFAULT 0,
	rule_name         TEXT    NOT NULL DEFAULT '',
	group_name        TEXT    NOT NULL DEFAULT '',
	policy_id         TEXT    NOT NULL DEFAULT '',
	policy_revision   INTEGER NOT NULL DEFAULT 0,
	title             TEXT    NOT NULL DEFAULT '',
	body              TEXT    NOT NULL DEFAULT '',
	url               TEXT    NOT NULL DEFAULT '',
	min_justification INTEGER NOT NULL DEFAULT 0,
	reason            TEXT    NOT NULL DEFAULT '',
	window_start      INTEGER NOT NULL DEFAULT 0,
	window_end        INTEGER NOT NULL DEFAULT 0,
	decided_by        TEXT    NOT NULL DEFAULT '',
	notified          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX requests_uid_state ON requests(uid, state);

CREATE TABLE grants (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	uid        INTEGER NOT NULL,
	dev        INTEGER NOT NULL DEFAULT 0, -- uint64 stored bit for bit
	ino        INTEGER NOT NULL DEFAULT 0, -- uint64 stored bit for bit
	sha256     TEXT    NOT NULL DEFAULT '',
	path       TEXT    NOT NULL DEFAULT '',
	created    INTEGER NOT NULL DEFAULT 0,
	not_before INTEGER NOT NULL DEFAULT 0,
	expires    INTEGER NOT NULL DEFAULT 0,
	uses_left  INTEGER NOT NULL DEFAULT -1, -- -1 = unlimited
	reason     TEXT    NOT NULL DEFAULT '',
	origin     TEXT    NOT NULL DEFAULT '',
	-- The request the grant answers; NULL for grants made without one.
	-- Prune keeps a request while a grant still refers to it.
	request_id INTEGER REFERENCES requests(id),
	revoked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX grants_uid ON grants(uid);
CREATE INDEX grants_request_id ON grants(request_id);
