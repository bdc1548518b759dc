-- The user's groups and the whole parent chain (paths, nearest first) of
-- an exec, as JSON arrays (NULL when there are none): what a policy
-- replayed on the console (what-if) needs besides the nearest parent.
ALTER TABLE events ADD COLUMN groups TEXT;
ALTER TABLE events ADD COLUMN parents TEXT;

-- The programs whose facts were recorded (a "program" event), by SHA-256:
-- each is recorded once, the first time it is seen. Kept apart from the
-- events, which are pruned.
CREATE TABLE programs_seen (
	sha256     TEXT PRIMARY KEY,
	first_seen INTEGER NOT NULL
) WITHOUT ROWID;
