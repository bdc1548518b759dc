-- What each machine runs (sqlite/010_versions.sql says more).
ALTER TABLE machines ADD COLUMN daemon_version TEXT NOT NULL DEFAULT '';
ALTER TABLE machines ADD COLUMN sync_version   TEXT NOT NULL DEFAULT '';
ALTER TABLE machines ADD COLUMN agents         TEXT NOT NULL DEFAULT '[]';
