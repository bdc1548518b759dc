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
	"bytes"
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
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

// busyTimeout is how long a statement waits for another process (the CLI,
// an administrator's sqlite3 shell) that holds the write lock.
const busyTimeout = 5 * time.Second

//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in order; their numbers must
// run 1, 2, 3... without gaps.
func migrations() ([]migration, error) {
	ents, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	var out []migration
	for i, e := range ents {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v != i+1 {
			return nil, fmt.Errorf("migration file %s: want a name like %03d_name.sql", e.Name(), i+1)
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: e.Name(), sql: string(b)})
	}
	return out, nil
}

// Open opens the database at path, creating it (and its directory, 0700)
// if missing, and brings its schema up to date.
func Open(path string) (*Store, error) {
	if path == "" {
		return nil, errors.New("open database: no path given")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("create database directory: %w", err)
	}
	if err := prepareFile(path); err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	w, err := sql.Open(driverName, dsn(abs, false))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := setup(w); err != nil {
		w.Close()
		if derr := dirWritable(filepath.Dir(abs)); derr != nil {
			// SQLite reports a directory it cannot create its -wal and
			// -shm files in as "unable to open database file: no such
			// file or directory"; say what is wrong instead.
			return nil, fmt.Errorf("open database %s: %w", path, derr)
		}
		return nil, fmt.Errorf("open database %s: %w%s", path, err, corruptHint(err))
	}
	r, err := sql.Open(driverName, dsn(abs, true))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	return &Store{path: path, w: w, r: r}, nil
}

// dsn is a file: URI, so that a path holding '?' or '#' is not mistaken
// for parameters: the writer's (immediate transactions) or the readers'
// (query only), in the driver's words (driver_*.go).
func dsn(abs string, readOnly bool) string {
	q := fmt.Sprintf("_busy_timeout=%d&_foreign_keys=1&_synchronous=NORMAL&", busyTimeout.Milliseconds())
	if readOnly {
		q += queryOnlyParam
	} else {
		q += "_txlock=immediate"
	}
	u := url.URL{Scheme: "file", Path: abs, RawQuery: q}
	return u.String()
}

// sqliteMagic starts every SQLite 3 database file.
var sqliteMagic = []byte("SQLite format 3\x00")

// prepareFile creates the database file 0600 if it is missing, tightens the
// mode of an existing one (SQLite gives the -wal and -shm files the mode of
// the database), and refuses a file that is not a SQLite database before
// SQLite sees it.
func prepareFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("open database %s: not a regular file", path)
	}
	// The audit log holds every user's command lines: owner only.
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if st, err := os.Stat(p); err == nil && st.Mode().Perm()&0o077 != 0 {
			if err := os.Chmod(p, st.Mode().Perm()&0o700); err != nil {
				return fmt.Errorf("open database: %w", err)
			}
		}
	}
	if fi.Size() == 0 {
		return nil // new, or created empty: SQLite makes it a database
	}
	head := make([]byte, len(sqliteMagic))
	if _, err := io.ReadFull(f, head); err != nil || !bytes.Equal(head, sqliteMagic) {
		return fmt.Errorf("open database %s: the file is not a SQLite database; move it aside to let gatehoused create a new one, or restore it from a backup", path)
	}
	return nil
}

// setup sets the journal mode and migrates the schema.
func setup(db *sql.DB) error {
	ctx := context.Background()
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return err
	}
	if mode != "wal" {
		return fmt.Errorf("journal mode is %q, not wal; put the database on a local file system", mode)
	}
	return migrate(ctx, db)
}

// migrate applies the migrations the database lacks, all in one
// transaction with the new user_version: the schema is either the old one
// or the new one, never half of it.
func migrate(ctx context.Context, db *sql.DB) error {
	migs, err := migrations()
	if err != nil {
		return err
	}
	latest := len(migs)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	// Read inside the (immediate) transaction: two processes opening a new
	// file at once do not both migrate it.
	var v int
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	switch {
	case v > latest:
		return fmt.Errorf("database schema version %d is newer than this gatehoused (%d); upgrade gatehoused", v, latest)
	case v == latest:
		return nil
	case v < 0:
		return fmt.Errorf("database schema version %d is not valid; move the file aside to let gatehoused create a new one", v)
	}
	for _, m := range migs[v:] {
		if _, err := tx.ExecContext(ctx, m.sql); err != nil {
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	// PRAGMA takes no bound parameters; latest is an int we computed.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", latest)); err != nil {
		return err
	}
	return tx.Commit()
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

// dirWritable reports why files cannot be created in dir (nil if they
// can), by creating and removing one.
func dirWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".gatehouse-probe-*")
	if err != nil {
		return fmt.Errorf("files cannot be created in %s (%v), and SQLite needs its journal files (-wal, -shm) next to the database: check the directory's owner, mode and attributes (lsattr -d %s shows an immutable i flag; chattr -i removes it)", dir, errors.Unwrap(err), dir)
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return nil
}
