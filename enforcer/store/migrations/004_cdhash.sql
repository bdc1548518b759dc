-- The cdhash the kernel validated for the program a request is about
-- (macOS, hex; '' for scripts, unsigned code and Linux), carried to the
-- grant it makes: a grant with one lets only code of that cdhash run.
ALTER TABLE requests ADD COLUMN cdhash TEXT NOT NULL DEFAULT '';
ALTER TABLE grants ADD COLUMN cdhash TEXT NOT NULL DEFAULT '';
