-- What the agent shows about a blocked program, and the offline approval
-- challenge of an approval_offline request.
ALTER TABLE requests ADD COLUMN app_type         TEXT    NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN publisher        TEXT    NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN team_id          TEXT    NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN signing_id       TEXT    NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN machine          TEXT    NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN request_code     TEXT    NOT NULL DEFAULT '';
ALTER TABLE requests ADD COLUMN offline_attempts INTEGER NOT NULL DEFAULT 0;
