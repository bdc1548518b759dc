//go:build !cgo || puresqlite

package sqlitedb

import (
	"errors"

	"modernc.org/sqlite"
)

// The SQLite driver without cgo (the macOS daemon, cross-built from Linux):
// modernc.org/sqlite, SQLite translated to Go. Its tests run on Linux with
// `-tags puresqlite` (scripts/test).

const (
	DriverName     = "sqlite"
	queryOnlyParam = "_pragma=query_only(1)"
)

// Code is err's SQLite primary result code, if it is SQLite's (the
// driver reports extended codes; the primary one is the low byte).
func Code(err error) (int, bool) {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return 0, false
	}
	return se.Code() & 0xff, true
}
