package store

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseRunFile(t *testing.T) {
	good := runRecord{RunID: 0xfeedface, Started: time.Unix(1700000000, 5), Accepted: 12, Dropped: 3, State: runLossy}
	got, err := parseRunFile(good.marshal())
	if err != nil || !cmp.Equal(good, got) {
		t.Errorf("round trip: %+v, %v; want %+v", got, err, good)
	}
	badState := good
	badState.State = 9
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"empty", nil, "missing"},
		{"short", good.marshal()[:40], "damaged: 40 bytes"},
		{"no header", append([]byte("GHAUDRN0"), good.marshal()[8:]...), "damaged: no run file header"},
		{"state", badState.marshal(), "damaged: state 9"},
		{"zero state", make([]byte, runFileSize), "damaged: no run file header"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseRunFile(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestJudgeRun(t *testing.T) {
	started := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	now := started.Add(time.Hour)
	file := func(id uint64, st runState, accepted, dropped uint64) runRecord {
		return runRecord{RunID: id, Started: started, Accepted: accepted, Dropped: dropped, State: st}
	}
	row := func(id uint64, accounted, dropped uint64, clean bool) runRow {
		return runRow{RunID: id, Started: started, Accounted: accounted, Dropped: dropped, RunFile: true, Clean: clean}
	}
	damaged := errors.New("damaged: no run file header")
	for _, tc := range []struct {
		name    string
		prev    runRecord
		prevErr error
		row     runRow
		haveRow bool
		rowErr  error
		kind    string // "" no event
		count   int64
		says    string
	}{
		{name: "killed", prev: file(7, runRunning, 130, 4), row: row(7, 100, 1, false), haveRow: true,
			kind: "unclean_stop", count: 33, says: "33 audit events lost without a record (30 accepted and not written, 3 dropped and not counted)"},
		{name: "killed with nothing lost", prev: file(7, runRunning, 100, 0), row: row(7, 100, 0, false), haveRow: true,
			kind: "unclean_stop", count: 0, says: "did not stop cleanly"},
		{name: "clean", prev: file(7, runClean, 100, 0), row: row(7, 100, 0, true), haveRow: true},
		{name: "killed after the clean mark", prev: file(7, runRunning, 100, 0), row: row(7, 100, 0, true), haveRow: true},
		{name: "stopped while the database failed", prev: file(7, runLossy, 100, 2), row: row(7, 90, 0, false), haveRow: true,
			kind: "unwritten", count: 12, says: "stopped while the database failed"},
		{name: "stopped lossy, all recorded after all", prev: file(7, runLossy, 100, 0), row: row(7, 100, 0, false), haveRow: true},
		{name: "killed before its first commit", prev: file(8, runRunning, 20, 1), row: row(7, 50, 0, true), haveRow: true,
			kind: "unclean_stop", count: 21, says: "none of them written to this database"},
		{name: "killed on a new database", prev: file(8, runRunning, 20, 0),
			kind: "unclean_stop", count: 20, says: "none of them written"},
		{name: "clean on another database", prev: file(8, runClean, 20, 0), row: row(7, 50, 0, false), haveRow: true},
		{name: "row unreadable", prev: file(7, runRunning, 20, 0), rowErr: errors.New("disk I/O error"),
			kind: "unclean_stop", says: "an unknown number"},
		{name: "run file gone, clean stop", prevErr: errNoRunFile, row: row(7, 50, 0, true), haveRow: true},
		{name: "run file gone, unclean", prevErr: errNoRunFile, row: row(7, 50, 0, false), haveRow: true,
			kind: "unclean_stop", says: "its run file /run/gatehouse/audit-run is missing (a reboot empties it), so the number of audit events lost is not known"},
		{name: "run file damaged", prevErr: damaged, row: row(7, 50, 0, false), haveRow: true,
			kind: "unclean_stop", says: "is damaged: no run file header"},
		{name: "no run file kept", prevErr: errNoRunFile, row: runRow{RunID: 7, Started: started}, haveRow: true,
			kind: "unclean_stop", says: "it kept no run file"},
		{name: "nothing known", prevErr: errNoRunFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, ok := judgeRun(tc.prev, tc.prevErr, tc.row, tc.haveRow, tc.rowErr, "/run/gatehouse/audit-run", now)
			if tc.kind == "" {
				if ok {
					t.Errorf("got %+v, want no event", ev)
				}
				return
			}
			if !ok || ev.Kind != tc.kind || ev.Count != tc.count || !ev.Time.Equal(now) || !strings.Contains(ev.Detail, tc.says) ||
				!strings.Contains(ev.Detail, "2026-12-01T08:00:00Z") {
				t.Errorf("got %+v (%v), want a %s event counting %d, at now, saying %q and the run's start", ev, ok, tc.kind, tc.count, tc.says)
			}
		})
	}
}

// TestRunThatStoppedWhileTheDatabaseFailed: a writer that could write
// nothing until it stopped leaves the count in its run file; the next
// start records it as unwritten.
func TestRunThatStoppedWhileTheDatabaseFailed(t *testing.T) {
	dir := t.TempDir()
	db, runFile := filepath.Join(dir, "gatehouse.db"), filepath.Join(dir, "audit-run")
	s, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	w := NewAuditWriter(s, AuditConfig{Queue: 100, RunFile: runFile, attempts: 1})
	failWrites(t, s)
	for range 10 {
		w.Enqueue(Event{Kind: "exec"})
	}
	if err := w.Close(t.Context()); err == nil || !strings.Contains(err.Error(), "10 audit events not written") ||
		!strings.Contains(err.Error(), "the next start records it") {
		t.Errorf("Close: err = %v, want it to say 10 were not written and the next start records it", err)
	}
	s.Close() // the failing trigger is the connection's; it goes with it

	m := markers(reopen(t, db, runFile))
	if len(m) != 1 || m[0].Kind != "unwritten" || m[0].Count != 10 || !strings.Contains(m[0].Detail, "stopped while the database failed") {
		t.Errorf("records %+v, want one unwritten event counting 10", m)
	}
}

// TestSecondWriterOnARunFileKeepsNone: a run file in use by a live writer
// is not taken over (nor judged) by another.
func TestSecondWriterOnARunFileKeepsNone(t *testing.T) {
	s := openTest(t)
	runFile := filepath.Join(t.TempDir(), "audit-run")
	w1 := NewAuditWriter(s, AuditConfig{Queue: 10, RunFile: runFile})
	defer closeWriter(t, w1)
	w2 := NewAuditWriter(s, AuditConfig{Queue: 10, RunFile: runFile})
	defer closeWriter(t, w2)
	if w1.rfile == nil || w2.rfile != nil || w2.marker != nil {
		t.Errorf("first writer's run file %v, second's %v (marker %v); want only the first to have one", w1.rfile, w2.rfile, w2.marker)
	}
}
