-- The last time step whose one-time code an account used: a code works
-- once.
ALTER TABLE users ADD COLUMN totp_used INTEGER NOT NULL DEFAULT 0;
