-- Audit events uploaded by machines (sqlite/002_events.sql says more).
CREATE TABLE events (
	id              BIGSERIAL PRIMARY KEY,
	machine_id      TEXT    NOT NULL REFERENCES machines (id),
	endpoint_id     BIGINT  NOT NULL,
	time            BIGINT  NOT NULL,
	kind            TEXT    NOT NULL,
	action          TEXT    NOT NULL DEFAULT '',
	allowed         BOOLEAN NOT NULL DEFAULT FALSE,
	rule            BIGINT  NOT NULL DEFAULT 0,
	policy_revision BIGINT  NOT NULL DEFAULT 0,
	uid             BIGINT  NOT NULL DEFAULT 0,
	user_name       TEXT    NOT NULL DEFAULT '',
	path            TEXT    NOT NULL DEFAULT '',
	sha256          TEXT    NOT NULL DEFAULT '',
	detail          TEXT    NOT NULL DEFAULT '{}',
	UNIQUE (machine_id, endpoint_id)
);
CREATE INDEX events_time ON events (time);
