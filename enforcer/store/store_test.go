package store

import (
	"bytes"
	"database/sql"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/scratch"
	"github.com/gatehouse/gatehouse/internal/sqlitedb"
)

// openTest opens a store in a new temporary directory, closed at cleanup.
func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(filepath.Join(t.TempDir(), "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// rawDB opens path with the driver directly, as another process would (a
// writer's connection).
func rawDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open(sqlitedb.DriverName, sqlitedb.DSN(abs, false))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func userVersion(t testing.TB, db *sql.DB) int {
	t.Helper()
	var v int
	if err := db.QueryRow("PRAGMA user_version").Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func latestVersion(t testing.TB) int {
	t.Helper()
	migs, err := sqlitedb.Migrations(schema())
	if err != nil {
		t.Fatal(err)
	}
	return len(migs)
}

func TestMigrationFiles(t *testing.T) {
	migs, err := sqlitedb.Migrations(schema())
	if err != nil {
		t.Fatal(err)
	}
	if len(migs) == 0 {
		t.Fatal("no migrations embedded")
	}
	for i, m := range migs {
		if m.Version != i+1 {
			t.Errorf("migration %s has version %d, want %d", m.Name, m.Version, i+1)
		}
		if strings.TrimSpace(m.SQL) == "" {
			t.Errorf("migration %s is empty", m.Name)
		}
	}
}

func TestOpenCreatesPrivateFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "gatehouse")
	path := filepath.Join(dir, "gatehouse.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Path() != path {
		t.Errorf("Path() = %q, want %q", s.Path(), path)
	}
	// Write something so that the -wal and -shm files exist.
	if err := s.AddEvents(t.Context(), []Event{{Kind: "daemon", Time: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	checkMode(t, dir, 0o700)
	checkMode(t, filepath.Dir(dir), 0o700)
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		checkMode(t, p, 0o600)
	}
}

func checkMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Error(err)
		return
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("mode of %s = %v, want %v", path, got, want)
	}
}

func TestOpenTightensMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	checkMode(t, path, 0o600)
}

func TestOpenSettings(t *testing.T) {
	s := openTest(t)
	for _, tc := range []struct {
		pragma string
		want   string
	}{
		{"journal_mode", "wal"},
		{"synchronous", "1"}, // NORMAL
		{"foreign_keys", "1"},
		{"busy_timeout", fmt.Sprint(sqlitedb.BusyTimeout.Milliseconds())},
	} {
		for name, db := range map[string]*sql.DB{"writer": s.w, "reader": s.r} {
			var got string
			if err := db.QueryRow("PRAGMA " + tc.pragma).Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("%s: PRAGMA %s = %q, want %q", name, tc.pragma, got, tc.want)
			}
		}
	}
	// Readers cannot write.
	if _, err := s.r.Exec("DELETE FROM events"); err == nil {
		t.Error("a reader connection could write")
	}
}

func TestOpenPathWithURICharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd dir?#%", "gate house?.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AddEvents(t.Context(), []Event{{Kind: "daemon"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("database not at the path given: %v", err)
	}
}

func TestMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	latest := latestVersion(t)
	if got := userVersion(t, s.w); got != latest {
		t.Errorf("fresh database: user_version = %d, want %d", got, latest)
	}
	var names []string
	rows, err := s.r.Query(`SELECT name FROM sqlite_schema WHERE type IN ('table', 'index') AND name NOT LIKE 'sqlite_%' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	rows.Close()
	want := []string{"audit_run", "events", "events_time", "events_uid_id", "grants", "grants_request_id", "grants_uid", "programs_seen", "requests", "requests_uid_state"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("schema objects (-want +got):\n%s", diff)
	}
	if err := s.AddEvents(t.Context(), []Event{{Kind: "daemon", Detail: "kept"}}); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Reopening migrates nothing and keeps the data.
	for range 2 {
		s, err = Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := userVersion(t, s.w); got != latest {
			t.Errorf("reopened: user_version = %d, want %d", got, latest)
		}
		evs, err := s.Events(t.Context(), Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 1 || evs[0].Detail != "kept" {
			t.Errorf("reopened: events = %+v, want the one written", evs)
		}
		s.Close()
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	latest := latestVersion(t)
	db := rawDB(t, path)
	if _, err := db.Exec(fmt.Sprintf("PRAGMA user_version = %d", latest+7)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	_, err = Open(path)
	if err == nil {
		t.Fatal("Open accepted a database from a newer gatehoused")
	}
	want := fmt.Sprintf("database schema version %d is newer than this gatehoused (%d); upgrade gatehoused", latest+7, latest)
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
		t.Errorf("error = %q, want it to name %s and say %q", err, path, want)
	}
}

func TestOpenRefusesNonSQLite(t *testing.T) {
	for _, tc := range []struct {
		name    string
		content []byte
		want    string
	}{
		{"text", []byte("policy:\n  rules: []\n"), "not a SQLite database; move it aside"},
		{"short", []byte("SQLite"), "not a SQLite database; move it aside"},
		// The right magic but a nonsense header: SQLite itself refuses it.
		{"bad header", append([]byte("SQLite format 3\x00"), bytes.Repeat([]byte{0xA5}, 4096)...), "move it aside"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "gatehouse.db")
			if err := os.WriteFile(path, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			s, err := Open(path)
			if err == nil {
				s.Close()
				t.Fatal("Open accepted a file that is not a SQLite database")
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %q, want it to name %s and say %q", err, path, tc.want)
			}
			got, rerr := os.ReadFile(path)
			if rerr != nil || !bytes.Equal(got, tc.content) {
				t.Errorf("the refused file was changed")
			}
		})
	}
}

func TestOpenRefusesDirectory(t *testing.T) {
	_, err := Open(t.TempDir())
	if err == nil {
		t.Fatal("Open accepted a directory")
	}
}

func TestTimes(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		name string
		in   time.Time
		want time.Time
	}{
		{"zero", time.Time{}, time.Time{}},
		{"now", now, now},
		{"nanoseconds", time.Date(2025, 3, 4, 5, 6, 7, 891011121, time.UTC), time.Date(2025, 3, 4, 5, 6, 7, 891011121, time.UTC)},
		{"before 1970", time.Date(1960, 1, 1, 0, 0, 0, 1, time.UTC), time.Date(1960, 1, 1, 0, 0, 0, 1, time.UTC)},
		{"far future clamps", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), time.Unix(0, math.MaxInt64)},
		{"far past clamps", time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC), time.Unix(0, math.MinInt64)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fromNanos(nanos(tc.in))
			if !got.Equal(tc.want) || got.IsZero() != tc.want.IsZero() {
				t.Errorf("round trip of %v = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}

// TestMigrateFromVersion1 opens a database written by a gatehoused that
// knew only the first migration: its requests survive, with the columns
// added since read as empty.
func TestMigrateFromVersion1(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	migs, err := sqlitedb.Migrations(schema())
	if err != nil {
		t.Fatal(err)
	}
	db := rawDB(t, path)
	if _, err := db.Exec(migs[0].SQL); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`PRAGMA user_version = 1`); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO requests (created, updated, uid, kind, state, path) VALUES (1, 2, 1000, 'warning', 'pending', '/opt/old')`); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, want := userVersion(t, s.w), latestVersion(t); got != want {
		t.Errorf("user_version = %d, want %d", got, want)
	}
	rs, err := s.ListRequests(t.Context(), RequestFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Path != "/opt/old" || rs[0].UID != 1000 || rs[0].RequestCode != "" || rs[0].OfflineAttempts != 0 {
		t.Fatalf("requests after the upgrade = %+v; want the one old request with empty new fields", rs)
	}
}

// TestImmutableDirectorySaysSo: a database whose directory no longer takes
// new files (chattr +i) is reported as such, not as "no such file or
// directory".
func TestImmutableDirectorySaysSo(t *testing.T) {
	scratch.NeedRoot(t, "chattr +i")
	dir := filepath.Join(t.TempDir(), "db")
	path := filepath.Join(dir, "gatehouse.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// chattr is e2fsprogs', on every Debian system; tmpfs takes the flag.
	if out, err := exec.Command("chattr", "+i", dir).CombinedOutput(); err != nil {
		t.Fatalf("chattr +i %s: %v %s", dir, err, out)
	}
	defer exec.Command("chattr", "-i", dir).Run()
	_, err = Open(path)
	if err == nil || strings.Contains(err.Error(), "no such file") || !strings.Contains(err.Error(), "chattr -i") || !strings.Contains(err.Error(), dir) {
		t.Errorf("open in an immutable directory: %v", err)
	}
}
