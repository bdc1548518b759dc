package store

import "github.com/gatehouse/gatehouse/internal/sqlitedb"

// corruptHint tells the user what to do when SQLite says the file is not a
// database or is damaged.
func corruptHint(err error) string { return sqlitedb.CorruptHint(err, "gatehoused") }

// writeHint is corruptHint, and for a full disk says so.
func writeHint(err error) string {
	if c, ok := sqlitedb.Code(err); ok && c == sqlitedb.Full {
		return "; the disk is full: free space on the database's file system"
	}
	return corruptHint(err)
}

// lasting reports whether err is one that waiting does not mend: a damaged
// file, a full disk, a read-only or failing device, a file that cannot be
// opened. Anything else (the lock held by another process above all) may
// pass, and is tried again.
func lasting(err error) bool {
	c, ok := sqlitedb.Code(err)
	if !ok {
		return false
	}
	switch c {
	case sqlitedb.Corrupt, sqlitedb.NotADB, sqlitedb.Full, sqlitedb.Readonly, sqlitedb.IOErr, sqlitedb.CantOpen, sqlitedb.Perm:
		return true
	}
	return false
}
