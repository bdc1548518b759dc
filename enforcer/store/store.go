// Package store is gatehoused's SQLite database: the audit log of
// decisions, the requests users make when a program is blocked, and the
// grants that answer them.
//
// The file is written only by the root daemon. It holds other users'
// command lines, so it is created 0600 in a 0700 directory. It runs in WAL
// mode with synchronous=NORMAL: a committed transaction survives a crash of
// the daemon (SIGKILL, panic), and the last few may be lost if the machine
// loses power. The hot path never touches the database: it hands audit
// events to an AuditWriter, which never blocks.
//
// The schema is a series of embedded migrations (migrations/NNN_name.sql);
// PRAGMA user_version records how many are applied. A database written by a
// newer gatehoused is refused rather than guessed at.
package store

import (
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/internal/sqlitedb"
)

// ErrNotFound is returned (wrapped) for an id that is not in the store.
var ErrNotFound = errors.New("not found")

// Store is the daemon's database. Its methods are safe for concurrent use.
type Store struct {
	path string
	// w has a single connection, so writes queue in the process (in
	// database/sql, honouring the caller's context) instead of spinning in
	// SQLite's busy handler. Its transactions are BEGIN IMMEDIATE: a
	// transaction that reads and then writes (Transition) holds the write
	// lock from the start, so two of them cannot both read the old state.
	w *sql.DB
	// r is for reads. In WAL mode readers do not block the writer nor
	// the writer them.
	r *sql.DB
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

// schema is the store's migrations for sqlitedb.
func schema() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the embedded directory is there: a build without it fails
	}
	return sub
}

// Open opens the database at path, creating it (and its directory, 0700)
// if missing, and brings its schema up to date.
func Open(path string) (*Store, error) {
	w, r, err := sqlitedb.Open(path, sqlitedb.Options{Migrations: schema(), Product: "gatehoused"})
	if err != nil {
		return nil, err
	}
	return &Store{path: path, w: w, r: r}, nil
}

// Close closes the database. Close an AuditWriter on the store first.
func (s *Store) Close() error {
	// Let SQLite refresh the statistics its query planner uses; cheap.
	_, _ = s.w.Exec("PRAGMA optimize")
	return errors.Join(s.r.Close(), s.w.Close())
}

// Path is the database file's path, as given to Open.
func (s *Store) Path() string { return s.path }

// Times are stored as unix nanoseconds, and the zero time.Time as 0 (so a
// time of exactly 1970-01-01T00:00:00Z reads back as the zero time).
// Times outside what int64 nanoseconds hold (years 1678 to 2262) are
// clamped, which keeps their order: a grant "forever" ends in 2262.
var (
	minTime = time.Unix(0, math.MinInt64)
	maxTime = time.Unix(0, math.MaxInt64)
)

func nanos(t time.Time) int64 {
	switch {
	case t.IsZero():
		return 0
	case t.Before(minTime):
		return math.MinInt64
	case t.After(maxTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// Args are stored as a JSON array, NULL when empty; they read back as nil.
// JSON holds UTF-8 only: invalid bytes in an argument become U+FFFD.
func argsValue(a []string) (any, error) {
	if len(a) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(a)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func parseArgs(s sql.NullString) ([]string, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	var a []string
	if err := json.Unmarshal([]byte(s.String), &a); err != nil {
		return nil, fmt.Errorf("stored args %.40q: %w", s.String, err)
	}
	return a, nil
}

// rowScanner is *sql.Row or *sql.Rows.
type rowScanner interface {
	Scan(dest ...any) error
}

// columns counts the columns of a comma-separated column list, so that an
// INSERT's placeholders follow the list.
func columns(list string) int { return strings.Count(list, ",") + 1 }

// placeholders returns "?, ?, ?" for n values.
func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
