-- An exec run during a user's admin session names the session (its grant)
-- in the audit (docs/elevation.md); 0 for none.
ALTER TABLE events ADD COLUMN session INTEGER NOT NULL DEFAULT 0;
-- An admin session that made its user a member of the platform's
-- administrators group (macOS: admin) takes them out at its end, even one
-- that ended while gatehoused was down; 0 when the user was one already or
-- the platform has no such group.
ALTER TABLE grants ADD COLUMN group_added INTEGER NOT NULL DEFAULT 0;
