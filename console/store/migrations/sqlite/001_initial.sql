-- The console's first schema. Times are unix nanoseconds (0: none).

-- Machines enrolled: their identity is the client certificate the console
-- issued (machine id in it); the offline secret escrowed at enrollment
-- lets the help desk compute response codes.
CREATE TABLE machines (
	id              TEXT    PRIMARY KEY,
	hostname        TEXT    NOT NULL,
	tags            TEXT    NOT NULL DEFAULT '[]',
	enrolled        INTEGER NOT NULL,
	last_seen       INTEGER NOT NULL DEFAULT 0,
	policy_revision INTEGER NOT NULL DEFAULT 0,
	offline_secret  BLOB,
	cert_serial     TEXT    NOT NULL DEFAULT '',
	revoked         INTEGER NOT NULL DEFAULT 0
);

-- Enrollment tokens, by the SHA-256 of their secret (the token itself is
-- shown once, when made).
CREATE TABLE enroll_tokens (
	hash       TEXT    PRIMARY KEY,
	created    INTEGER NOT NULL,
	expires    INTEGER NOT NULL,
	uses_left  INTEGER NOT NULL, -- -1: unlimited until it expires
	tags       TEXT    NOT NULL DEFAULT '[]',
	created_by TEXT    NOT NULL
);

-- Approval requests uploaded by endpoints; (machine_id, endpoint_id) is the
-- request's identity on its machine, so an upload repeated is one request.
CREATE TABLE requests (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	machine_id       TEXT    NOT NULL REFERENCES machines (id),
	endpoint_id      INTEGER NOT NULL,
	created          INTEGER NOT NULL,
	uid              INTEGER NOT NULL,
	user_name        TEXT    NOT NULL,
	kind             TEXT    NOT NULL,
	path             TEXT    NOT NULL,
	sha256           TEXT    NOT NULL DEFAULT '',
	facts            TEXT    NOT NULL DEFAULT '{}', -- JSON: the program's facts as the endpoint sent them
	reason           TEXT    NOT NULL DEFAULT '',
	window_start     INTEGER NOT NULL DEFAULT 0,
	window_end       INTEGER NOT NULL DEFAULT 0,
	rule             INTEGER NOT NULL DEFAULT 0,
	policy_revision  INTEGER NOT NULL DEFAULT 0,
	approvals_needed INTEGER NOT NULL DEFAULT 1,
	state            TEXT    NOT NULL, -- pending, approved, denied
	decided          INTEGER NOT NULL DEFAULT 0,
	UNIQUE (machine_id, endpoint_id)
);
CREATE INDEX requests_state ON requests (state, created);

-- Each approver's vote; a person counts once.
CREATE TABLE votes (
	request_id INTEGER NOT NULL REFERENCES requests (id),
	voter      TEXT    NOT NULL,
	approve    INTEGER NOT NULL,
	note       TEXT    NOT NULL DEFAULT '',
	at         INTEGER NOT NULL,
	PRIMARY KEY (request_id, voter)
);

-- Decisions as each machine receives them, in order (seq), signed.
CREATE TABLE decisions (
	seq          INTEGER PRIMARY KEY AUTOINCREMENT,
	machine_id   TEXT    NOT NULL REFERENCES machines (id),
	request_id   INTEGER NOT NULL REFERENCES requests (id),
	endpoint_id  INTEGER NOT NULL,
	approve      INTEGER NOT NULL,
	window_start INTEGER NOT NULL DEFAULT 0,
	window_end   INTEGER NOT NULL DEFAULT 0,
	decided_by   TEXT    NOT NULL,
	note         TEXT    NOT NULL DEFAULT '',
	at           INTEGER NOT NULL,
	signature    BLOB    NOT NULL
);
CREATE INDEX decisions_machine ON decisions (machine_id, seq);

-- API tokens of people and tools, by the SHA-256 of the token.
CREATE TABLE api_tokens (
	hash    TEXT    PRIMARY KEY,
	name    TEXT    NOT NULL,
	role    TEXT    NOT NULL, -- admin, approver, helpdesk, auditor
	created INTEGER NOT NULL,
	revoked INTEGER NOT NULL DEFAULT 0
);

-- Every change made through the console, with who made it.
CREATE TABLE audit (
	id     INTEGER PRIMARY KEY AUTOINCREMENT,
	at     INTEGER NOT NULL,
	actor  TEXT    NOT NULL,
	action TEXT    NOT NULL,
	detail TEXT    NOT NULL DEFAULT ''
);
