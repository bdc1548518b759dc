-- The audit writer's account of its last run, one row, updated in the
-- transaction of every batch it commits: which run it was (run_id, random
-- per start), how many of the events that run accepted are accounted for
-- (committed, or counted in a committed "unwritten" record), how many of
-- those it refused are counted in committed "dropped" records, whether it
-- kept a run file, and whether it stopped cleanly. The next start compares
-- it with the run file to record an unclean stop and its gap
-- (docs/enforcer.md, "Audit").
CREATE TABLE audit_run (
	id        INTEGER PRIMARY KEY CHECK (id = 1),
	run_id    INTEGER NOT NULL, -- uint64 stored bit for bit
	started   INTEGER NOT NULL,
	accounted INTEGER NOT NULL DEFAULT 0,
	dropped   INTEGER NOT NULL DEFAULT 0,
	run_file  INTEGER NOT NULL DEFAULT 0,
	clean     INTEGER NOT NULL DEFAULT 0
);
