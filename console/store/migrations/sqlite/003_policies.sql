-- Policies uploaded, each revision kept (history), and which policy each
-- target gets: "machine:<id>", "tag:<tag>", or "*" for every machine.
CREATE TABLE policies (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	name        TEXT    NOT NULL,
	revision    INTEGER NOT NULL,
	body        BLOB    NOT NULL,
	uploaded    INTEGER NOT NULL,
	uploaded_by TEXT    NOT NULL,
	UNIQUE (name, revision)
);
CREATE TABLE assignments (
	target      TEXT    PRIMARY KEY,
	policy_name TEXT    NOT NULL,
	assigned    INTEGER NOT NULL,
	assigned_by TEXT    NOT NULL
);
