-- The machine's name in its offline challenges (what its users read out to
-- the help desk), which response codes are bound to; '' for machines
-- enrolled before it was sent: their hostname.
ALTER TABLE machines ADD COLUMN offline_name TEXT NOT NULL DEFAULT '';
