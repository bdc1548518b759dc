-- A grant is for an exec of a file (kind 'exec', as before), or for one
-- exact sudo command (kind 'sudo': the path, its SHA-256 and these
-- arguments, as a JSON array, NULL for none), which gatehoused turns into a
-- time-boxed sudoers drop-in when the user runs it (docs/elevation.md).
ALTER TABLE grants ADD COLUMN kind TEXT NOT NULL DEFAULT 'exec';
ALTER TABLE grants ADD COLUMN args TEXT;
