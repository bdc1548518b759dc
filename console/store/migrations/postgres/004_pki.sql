-- The console's CA and signing keys, shared by every node (console/pki's
-- files, by name).
CREATE TABLE pki (
	name TEXT  PRIMARY KEY,
	data BYTEA NOT NULL
);
