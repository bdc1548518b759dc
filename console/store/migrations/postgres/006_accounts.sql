-- People who sign in to the console's pages (sqlite/006 says more).
CREATE TABLE users (
	name         TEXT    PRIMARY KEY,
	role         TEXT    NOT NULL,
	password     TEXT    NOT NULL DEFAULT '',
	totp_secret  TEXT    NOT NULL DEFAULT '',
	failures     BIGINT  NOT NULL DEFAULT 0,
	locked_until BIGINT  NOT NULL DEFAULT 0,
	created      BIGINT  NOT NULL,
	disabled     BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE TABLE sessions (
	hash      TEXT   PRIMARY KEY,
	user_name TEXT   NOT NULL REFERENCES users (name),
	csrf      TEXT   NOT NULL,
	created   BIGINT NOT NULL,
	expires   BIGINT NOT NULL,
	last_seen BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_name);
