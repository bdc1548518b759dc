-- Policies and their assignments (sqlite/003_policies.sql says more).
CREATE TABLE policies (
	id          BIGSERIAL PRIMARY KEY,
	name        TEXT   NOT NULL,
	revision    BIGINT NOT NULL,
	body        BYTEA  NOT NULL,
	uploaded    BIGINT NOT NULL,
	uploaded_by TEXT   NOT NULL,
	UNIQUE (name, revision)
);
CREATE TABLE assignments (
	target      TEXT   PRIMARY KEY,
	policy_name TEXT   NOT NULL,
	assigned    BIGINT NOT NULL,
	assigned_by TEXT   NOT NULL
);
