-- The console's first schema, for PostgreSQL: the same tables, columns and
-- constraints as sqlite/001_initial.sql (see there for what each holds).
-- Times are unix nanoseconds (0: none).

CREATE TABLE machines (
	id              TEXT    PRIMARY KEY,
	hostname        TEXT    NOT NULL,
	tags            TEXT    NOT NULL DEFAULT '[]',
	enrolled        BIGINT  NOT NULL,
	last_seen       BIGINT  NOT NULL DEFAULT 0,
	policy_revision BIGINT  NOT NULL DEFAULT 0,
	offline_secret  BYTEA,
	cert_serial     TEXT    NOT NULL DEFAULT '',
	revoked         BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE enroll_tokens (
	hash       TEXT   PRIMARY KEY,
	created    BIGINT NOT NULL,
	expires    BIGINT NOT NULL,
	uses_left  BIGINT NOT NULL, -- -1: unlimited until it expires
	tags       TEXT   NOT NULL DEFAULT '[]',
	created_by TEXT   NOT NULL
);

CREATE TABLE requests (
	id               BIGSERIAL PRIMARY KEY,
	machine_id       TEXT    NOT NULL REFERENCES machines (id),
	endpoint_id      BIGINT  NOT NULL,
	created          BIGINT  NOT NULL,
	uid              BIGINT  NOT NULL,
	user_name        TEXT    NOT NULL,
	kind             TEXT    NOT NULL,
	path             TEXT    NOT NULL,
	sha256           TEXT    NOT NULL DEFAULT '',
	facts            TEXT    NOT NULL DEFAULT '{}',
	reason           TEXT    NOT NULL DEFAULT '',
	window_start     BIGINT  NOT NULL DEFAULT 0,
	window_end       BIGINT  NOT NULL DEFAULT 0,
	rule             BIGINT  NOT NULL DEFAULT 0,
	policy_revision  BIGINT  NOT NULL DEFAULT 0,
	approvals_needed BIGINT  NOT NULL DEFAULT 1,
	state            TEXT    NOT NULL,
	decided          BIGINT  NOT NULL DEFAULT 0,
	UNIQUE (machine_id, endpoint_id)
);
CREATE INDEX requests_state ON requests (state, created);

CREATE TABLE votes (
	request_id BIGINT  NOT NULL REFERENCES requests (id),
	voter      TEXT    NOT NULL,
	approve    BOOLEAN NOT NULL,
	note       TEXT    NOT NULL DEFAULT '',
	at         BIGINT  NOT NULL,
	PRIMARY KEY (request_id, voter)
);

CREATE TABLE decisions (
	seq          BIGSERIAL PRIMARY KEY,
	machine_id   TEXT    NOT NULL REFERENCES machines (id),
	request_id   BIGINT  NOT NULL REFERENCES requests (id),
	endpoint_id  BIGINT  NOT NULL,
	approve      BOOLEAN NOT NULL,
	window_start BIGINT  NOT NULL DEFAULT 0,
	window_end   BIGINT  NOT NULL DEFAULT 0,
	decided_by   TEXT    NOT NULL,
	note         TEXT    NOT NULL DEFAULT '',
	at           BIGINT  NOT NULL,
	signature    BYTEA   NOT NULL
);
CREATE INDEX decisions_machine ON decisions (machine_id, seq);

CREATE TABLE api_tokens (
	hash    TEXT    PRIMARY KEY,
	name    TEXT    NOT NULL,
	role    TEXT    NOT NULL,
	created BIGINT  NOT NULL,
	revoked BOOLEAN NOT NULL DEFAULT FALSE
);

CREATE TABLE audit (
	id     BIGSERIAL PRIMARY KEY,
	at     BIGINT NOT NULL,
	actor  TEXT   NOT NULL,
	action TEXT   NOT NULL,
	detail TEXT   NOT NULL DEFAULT ''
);
