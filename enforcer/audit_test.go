package enforcer_test

import (
	"bytes"
	"database/sql"
	"os"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/localapi"
)

// damageEvents makes the database at path with a few thousand events, then
// overwrites the root page of the events table: the file opens, grants
// load, no event can be written.
func damageEvents(t *testing.T, path string) {
	t.Helper()
	s, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	evs := make([]store.Event, 3000)
	for i := range evs {
		evs[i] = store.Event{Kind: "exec", Path: "/usr/bin/earlier", PolicyID: "engine-test", PolicyRevision: 1}
	}
	if err := s.AddEvents(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", path) // the driver store registers
	if err != nil {
		t.Fatal(err)
	}
	var root, pageSize int64
	if err := db.QueryRow(`SELECT rootpage FROM sqlite_master WHERE name = 'events'`).Scan(&root); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	db.Close()
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xA5}, int(pageSize)), (root-1)*pageSize); err != nil {
		t.Fatal(err)
	}
}

// TestAuditFailureIsCountedAndShown: with the events table damaged, the
// engine goes on deciding; every event it cannot write is counted
// (audit_unwritten), and status says the audit log is failing, why, since
// when and what to do.
func TestAuditFailureIsCountedAndShown(t *testing.T) {
	h := newHarness(t, func(c *enforcer.Config) { damageEvents(t, c.Database) })
	bad := h.file("deny/bad", "x")
	const n = 20
	for i := range n {
		if h.exec(bad, execOpt{uid: 1000}) {
			t.Fatalf("exec %d: a denied program was allowed while the audit log fails", i)
		}
	}
	// The answer goes out before the event is queued: wait for the daemon's
	// start and the n denials to be given up.
	waitFor(t, "every event given up and counted", func() bool { return h.e.Counter("audit_unwritten") >= n+1 })
	if got := h.e.Counter("audit_unwritten"); got != n+1 {
		t.Errorf("audit_unwritten = %d, want %d", got, n+1)
	}
	if got := h.e.Counter("audit_queued") + h.e.Counter("audit_written") + h.e.Counter("audit_dropped"); got != 0 {
		t.Errorf("audit_queued + audit_written + audit_dropped = %d, want 0", got)
	}
	var st localapi.Status
	if c := h.call(1000, "GET", "/status", nil, &st); c != 200 {
		t.Fatalf("status: %d", c)
	}
	if st.Audit == nil || st.Audit.OK || !strings.Contains(st.Audit.Error, "malformed") ||
		!strings.Contains(st.Audit.Error, "move it aside") || st.Audit.FailingSince.IsZero() {
		t.Errorf("status audit = %+v, want failing, with the error, the fix and since when", st.Audit)
	}
	if st.Counters["audit_unwritten"] != n+1 {
		t.Errorf("status counters: audit_unwritten = %d, want %d", st.Counters["audit_unwritten"], n+1)
	}
}

func TestStatusSaysAuditIsHealthy(t *testing.T) {
	h := newHarness(t, nil)
	h.exec(h.file("deny/bad", "x"), execOpt{uid: 1000})
	// The daemon's start and the denial (queued after the answer).
	waitFor(t, "two events written", func() bool { return h.e.Counter("audit_written") >= 2 })
	var st localapi.Status
	if c := h.call(1000, "GET", "/status", nil, &st); c != 200 {
		t.Fatalf("status: %d", c)
	}
	if st.Audit == nil || !st.Audit.OK || st.Audit.Error != "" || !st.Audit.FailingSince.IsZero() {
		t.Errorf("status audit = %+v, want ok", st.Audit)
	}
	if st.Counters["audit_written"] != 2 || st.Counters["audit_unwritten"] != 0 {
		t.Errorf("counters %v, want 2 written (start, deny) and none unwritten", st.Counters)
	}
}
