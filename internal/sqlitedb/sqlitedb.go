// Package sqlitedb opens the SQLite files Gatehouse's programs keep —
// gatehoused's database, the console's — the same way: one writer
// connection (writes queue in the process; transactions BEGIN IMMEDIATE),
// a pool of query-only readers, WAL mode with synchronous=NORMAL (a
// committed transaction survives a crash of the program), the file 0600 in
// a 0700 directory, a file that is not SQLite refused before SQLite sees
// it, and the schema brought up to date from embedded migrations
// (NNN_name.sql, PRAGMA user_version counting those applied; a database
// from a newer program refused rather than guessed at).
//
// The driver is chosen at build time (driver_*.go): mattn/go-sqlite3 with
// cgo, modernc.org/sqlite without (the macOS daemon cross-built from
// Linux, or `-tags puresqlite`).
package sqlitedb

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// BusyTimeout is how long a statement waits for another process (a CLI,
// an administrator's sqlite3 shell) that holds the write lock.
const BusyTimeout = 5 * time.Second

// Options say what schema the database has and whose it is.
type Options struct {
	// Migrations holds the schema's NNN_name.sql files at its root,
	// numbered 1, 2, 3… without gaps.
	Migrations fs.FS
	// Product names the program in what errors tell the user to do
	// ("upgrade gatehoused", "let gatehoused create a new one").
	Product string
}

// Migration is one schema step.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the migrations in fsys in order; their numbers must
// run 1, 2, 3... without gaps.
func Migrations(fsys fs.FS) ([]Migration, error) {
	ents, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, err
	}
	sort.Slice(ents, func(i, j int) bool { return ents[i].Name() < ents[j].Name() })
	var out []Migration
	for i, e := range ents {
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v != i+1 {
			return nil, fmt.Errorf("migration file %s: want a name like %03d_name.sql", e.Name(), i+1)
		}
		b, err := fs.ReadFile(fsys, e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: v, Name: e.Name(), SQL: string(b)})
	}
	return out, nil
}

// Open opens the database at path, creating it (and its directory, 0700)
// if missing, and brings its schema up to date. w has a single connection;
// r is for reads (in WAL mode readers and the writer do not block each
// other).
func Open(path string, o Options) (w, r *sql.DB, err error) {
	if path == "" {
		return nil, nil, errors.New("open database: no path given")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, nil, fmt.Errorf("create database directory: %w", err)
	}
	if err := prepareFile(path, o.Product); err != nil {
		return nil, nil, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, nil, fmt.Errorf("open database %s: %w", path, err)
	}
	w, err = sql.Open(DriverName, DSN(abs, false))
	if err != nil {
		return nil, nil, fmt.Errorf("open database %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := setup(w, o); err != nil {
		w.Close()
		if derr := DirWritable(filepath.Dir(abs)); derr != nil {
			// SQLite reports a directory it cannot create its -wal and
			// -shm files in as "unable to open database file: no such
			// file or directory"; say what is wrong instead.
			return nil, nil, fmt.Errorf("open database %s: %w", path, derr)
		}
		return nil, nil, fmt.Errorf("open database %s: %w%s", path, err, CorruptHint(err, o.Product))
	}
	r, err = sql.Open(DriverName, DSN(abs, true))
	if err != nil {
		w.Close()
		return nil, nil, fmt.Errorf("open database %s: %w", path, err)
	}
	r.SetMaxOpenConns(4)
	r.SetMaxIdleConns(4)
	return w, r, nil
}

// DSN is a file: URI, so that a path holding '?' or '#' is not mistaken
// for parameters: the writer's (immediate transactions) or the readers'
// (query only), in the driver's words (driver_*.go).
func DSN(abs string, readOnly bool) string {
	q := fmt.Sprintf("_busy_timeout=%d&_foreign_keys=1&_synchronous=NORMAL&", BusyTimeout.Milliseconds())
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
func prepareFile(path, product string) error {
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
	// The databases hold other users' command lines: owner only.
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
		return fmt.Errorf("open database %s: the file is not a SQLite database; move it aside to let %s create a new one, or restore it from a backup", path, product)
	}
	return nil
}

// setup sets the journal mode and migrates the schema.
func setup(db *sql.DB, o Options) error {
	ctx := context.Background()
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return err
	}
	if mode != "wal" {
		return fmt.Errorf("journal mode is %q, not wal; put the database on a local file system", mode)
	}
	return migrate(ctx, db, o)
}

// migrate applies the migrations the database lacks, all in one
// transaction with the new user_version: the schema is either the old one
// or the new one, never half of it.
func migrate(ctx context.Context, db *sql.DB, o Options) error {
	migs, err := Migrations(o.Migrations)
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
		return fmt.Errorf("database schema version %d is newer than this %s (%d); upgrade %s", v, o.Product, latest, o.Product)
	case v == latest:
		return nil
	case v < 0:
		return fmt.Errorf("database schema version %d is not valid; move the file aside to let %s create a new one", v, o.Product)
	}
	for _, m := range migs[v:] {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	// PRAGMA takes no bound parameters; latest is an int we computed.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", latest)); err != nil {
		return err
	}
	return tx.Commit()
}

// DirWritable reports why files cannot be created in dir (nil if they
// can), by creating and removing one.
func DirWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".gatehouse-probe-*")
	if err != nil {
		return fmt.Errorf("files cannot be created in %s (%v), and SQLite needs its journal files (-wal, -shm) next to the database: check the directory's owner, mode and attributes (lsattr -d %s shows an immutable i flag; chattr -i removes it)", dir, errors.Unwrap(err), dir)
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return nil
}

// SQLite's primary result codes the stores tell apart (sqlite3.h).
const (
	Perm     = 3
	Readonly = 8
	IOErr    = 10
	Corrupt  = 11
	Full     = 13
	CantOpen = 14
	NotADB   = 26
)

// CorruptHint tells the user what to do when SQLite says the file is not a
// database or is damaged ("" otherwise).
func CorruptHint(err error, product string) string {
	if c, ok := Code(err); ok && (c == NotADB || c == Corrupt) {
		return "; the file is damaged: move it aside to let " + product + " create a new one, or restore it from a backup"
	}
	return ""
}
