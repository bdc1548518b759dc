-- How many approvers an approval request needs in the console (the rule's
-- approvers; 0 means one).
ALTER TABLE requests ADD COLUMN approvers INTEGER NOT NULL DEFAULT 0;
