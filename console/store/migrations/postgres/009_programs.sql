-- The programs each machine has seen (sqlite/009_programs.sql says more).
CREATE TABLE programs (
	machine_id TEXT   NOT NULL REFERENCES machines (id),
	sha256     TEXT   NOT NULL,
	path       TEXT   NOT NULL,
	first_seen BIGINT NOT NULL,
	event_id   BIGINT NOT NULL DEFAULT 0,
	facts      TEXT   NOT NULL,
	PRIMARY KEY (machine_id, sha256)
);
CREATE INDEX programs_path ON programs (path);
CREATE INDEX events_machine_sha256 ON events (machine_id, sha256);
