-- People who sign in to the console's pages: local accounts (an argon2id
-- password hash in PHC form; '' for accounts that only sign in through
-- single sign-on), with the failures that lock them out, and their
-- sessions, by the SHA-256 of the cookie (the cookie itself is never
-- stored), each with its CSRF token.
CREATE TABLE users (
	name         TEXT    PRIMARY KEY,
	role         TEXT    NOT NULL, -- admin, approver, helpdesk, auditor
	password     TEXT    NOT NULL DEFAULT '',
	totp_secret  TEXT    NOT NULL DEFAULT '',
	failures     INTEGER NOT NULL DEFAULT 0,
	locked_until INTEGER NOT NULL DEFAULT 0,
	created      INTEGER NOT NULL,
	disabled     INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE sessions (
	hash      TEXT    PRIMARY KEY,
	user_name TEXT    NOT NULL REFERENCES users (name),
	csrf      TEXT    NOT NULL,
	created   INTEGER NOT NULL,
	expires   INTEGER NOT NULL,
	last_seen INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_name);
