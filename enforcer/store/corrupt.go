package store

// SQLite's primary result codes the store tells apart (sqlite3.h).
const (
	sqlitePerm     = 3
	sqliteReadonly = 8
	sqliteIOErr    = 10
	sqliteCorrupt  = 11
	sqliteFull     = 13
	sqliteCantOpen = 14
	sqliteNotADB   = 26
)

// corruptHint tells the user what to do when SQLite says the file is not a
// database or is damaged.
func corruptHint(err error) string {
	if c, ok := sqliteCode(err); ok && (c == sqliteNotADB || c == sqliteCorrupt) {
		return "; the file is damaged: move it aside to let gatehoused create a new one, or restore it from a backup"
	}
	return ""
}

// writeHint is corruptHint, and for a full disk says so.
func writeHint(err error) string {
	if c, ok := sqliteCode(err); ok && c == sqliteFull {
		return "; the disk is full: free space on the database's file system"
	}
	return corruptHint(err)
}

// lasting reports whether err is one that waiting does not mend: a damaged
// file, a full disk, a read-only or failing device, a file that cannot be
// opened. Anything else (the lock held by another process above all) may
// pass, and is tried again.
func lasting(err error) bool {
	c, ok := sqliteCode(err)
	if !ok {
		return false
	}
	switch c {
	case sqliteCorrupt, sqliteNotADB, sqliteFull, sqliteReadonly, sqliteIOErr, sqliteCantOpen, sqlitePerm:
		return true
	}
	return false
}
