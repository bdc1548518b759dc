-- Notifiers and their outbox (sqlite/008_notifications.sql says more).
CREATE TABLE notifiers (
	id         BIGSERIAL PRIMARY KEY,
	kind       TEXT   NOT NULL,
	format     TEXT   NOT NULL DEFAULT '',
	target     TEXT   NOT NULL,
	created    BIGINT NOT NULL,
	created_by TEXT   NOT NULL
);
CREATE TABLE outbox (
	id          BIGSERIAL PRIMARY KEY,
	notifier_id BIGINT  NOT NULL REFERENCES notifiers (id) ON DELETE CASCADE,
	request_id  BIGINT  NOT NULL REFERENCES requests (id),
	attempts    BIGINT  NOT NULL DEFAULT 0,
	next_at     BIGINT  NOT NULL,
	sent        BOOLEAN NOT NULL DEFAULT FALSE,
	last_error  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX outbox_due ON outbox (sent, next_at);
