-- What each machine runs, as its sync last reported: gatehoused's build,
-- the sync's, and each user's agent ({user, version, last_seen} as JSON).
ALTER TABLE machines ADD COLUMN daemon_version TEXT NOT NULL DEFAULT '';
ALTER TABLE machines ADD COLUMN sync_version   TEXT NOT NULL DEFAULT '';
ALTER TABLE machines ADD COLUMN agents         TEXT NOT NULL DEFAULT '[]';
