-- The programs each machine has seen, with every fact of each as the
-- machine recorded it the first time it ran there (a "program" event):
-- what-if replays a draft policy on them, criteria on signatures, sources,
-- protection and the parent chain included. event_id is that event, with
-- the first exec's user, groups and parent chain.
CREATE TABLE programs (
	machine_id TEXT    NOT NULL REFERENCES machines (id),
	sha256     TEXT    NOT NULL,
	path       TEXT    NOT NULL,
	first_seen INTEGER NOT NULL,
	event_id   INTEGER NOT NULL DEFAULT 0,
	facts      TEXT    NOT NULL, -- JSON: policy.SubjectRecord
	PRIMARY KEY (machine_id, sha256)
);
CREATE INDEX programs_path ON programs (path);
-- What-if looks for a machine's execs of a program.
CREATE INDEX events_machine_sha256 ON events (machine_id, sha256);
