-- The machine's name in its offline challenges (sqlite/005 says more).
ALTER TABLE machines ADD COLUMN offline_name TEXT NOT NULL DEFAULT '';
