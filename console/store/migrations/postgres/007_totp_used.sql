-- The last time step whose one-time code an account used (sqlite/007).
ALTER TABLE users ADD COLUMN totp_used BIGINT NOT NULL DEFAULT 0;
