//go:build cgo

package store

import (
	"errors"

	"github.com/mattn/go-sqlite3"
)

// corruptHint tells the user what to do when SQLite says the file is not a
// database or is damaged.
func corruptHint(err error) string {
	var se sqlite3.Error
	if errors.As(err, &se) && (se.Code == sqlite3.ErrNotADB || se.Code == sqlite3.ErrCorrupt) {
		return "; the file is damaged: move it aside to let gatehoused create a new one, or restore it from a backup"
	}
	return ""
}

// writeHint is corruptHint, and for a full disk says so.
func writeHint(err error) string {
	var se sqlite3.Error
	if errors.As(err, &se) && se.Code == sqlite3.ErrFull {
		return "; the disk is full: free space on the database's file system"
	}
	return corruptHint(err)
}

// lasting reports whether err is one that waiting does not mend: a damaged
// file, a full disk, a read-only or failing device, a file that cannot be
// opened. Anything else (the lock held by another process above all) may
// pass, and is tried again.
func lasting(err error) bool {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code {
	case sqlite3.ErrCorrupt, sqlite3.ErrNotADB, sqlite3.ErrFull, sqlite3.ErrReadonly,
		sqlite3.ErrIoErr, sqlite3.ErrCantOpen, sqlite3.ErrPerm:
		return true
	}
	return false
}
