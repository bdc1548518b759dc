//go:build cgo && !puresqlite

package sqlitedb

import (
	"errors"

	"github.com/mattn/go-sqlite3"
)

// The SQLite driver where cgo is there (Linux builds): mattn/go-sqlite3,
// the C library itself. `-tags puresqlite` picks the other (driver_pure.go)
// so its tests run on Linux too.

const (
	DriverName     = "sqlite3"
	queryOnlyParam = "_query_only=1"
)

// Code is err's SQLite primary result code, if it is SQLite's.
func Code(err error) (int, bool) {
	var se sqlite3.Error
	if !errors.As(err, &se) {
		return 0, false
	}
	return int(se.Code), true
}
