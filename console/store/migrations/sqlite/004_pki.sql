-- The console's CA and signing keys (console/pki's files, by name), for a
-- console on PostgreSQL whose nodes must share them. A console on SQLite
-- keeps them in its data directory's pki/ and leaves this table empty.
CREATE TABLE pki (
	name TEXT PRIMARY KEY,
	data BLOB NOT NULL
);
