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
