package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// uncleanEnv, when set, makes TestUncleanStop's parts the child: it runs
// a writer on the database and run file the variable names (see
// uncleanChild), then is killed or stops cleanly.
const uncleanEnv = "GATEHOUSE_STORE_UNCLEAN_CHILD"

const (
	childFlushed = 100 // events the child commits
	childQueued  = 37  // events it then leaves queued (fewer than writeSoon)
)

// uncleanChild writes childFlushed events, then queues childQueued more
// that an hour's flush interval keeps in memory, and says so. With "clean"
// it then closes the writer and the store and exits; otherwise it waits to
// be killed.
func uncleanChild(spec string) {
	db, rest, _ := strings.Cut(spec, "|")
	runFile, mode, _ := strings.Cut(rest, "|")
	s, err := Open(db)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	w := NewAuditWriter(s, AuditConfig{Queue: 1000, FlushEvery: time.Hour, RunFile: runFile})
	for i := range childFlushed {
		w.Enqueue(Event{Kind: "exec", RequestID: int64(i)})
	}
	if err := w.Flush(context.Background()); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	for i := range childQueued {
		w.Enqueue(Event{Kind: "exec", RequestID: int64(childFlushed + i)})
	}
	if mode == "clean" {
		if err := w.Close(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		s.Close()
		fmt.Println("closed")
		os.Exit(0)
	}
	fmt.Println("queued")
	select {} // until SIGKILL
}

// runChild runs uncleanChild for db and runFile; a kill child is killed
// with SIGKILL once it says its events are queued.
func runChild(t *testing.T, db, runFile, mode string) {
	t.Helper()
	cmd, out := startChild(t, "TestUncleanStop", uncleanEnv+"="+db+"|"+runFile+"|"+mode)
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	if !sc.Scan() {
		t.Fatalf("the child said nothing: %v", sc.Err())
	}
	want := map[string]string{"clean": "closed", "kill": "queued"}[mode]
	if sc.Text() != want {
		t.Fatalf("the child said %q, want %q", sc.Text(), want)
	}
	if mode == "kill" {
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
	}
	err := cmd.Wait()
	if mode == "clean" && err != nil {
		t.Fatalf("clean child: %v", err)
	}
}

// reopen opens db again with a writer on runFile, as the next start of the
// daemon does, stops it cleanly, and returns the events stored.
func reopen(t *testing.T, db, runFile string) []Event {
	t.Helper()
	s, err := Open(db)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	w := NewAuditWriter(s, AuditConfig{Queue: 16, RunFile: runFile, Policy: func() (string, int64) { return "corp", 4 }})
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	return allEvents(t, s)
}

// markers returns the events of kinds that record a loss.
func markers(evs []Event) []Event {
	var out []Event
	for _, e := range evs {
		if e.Kind != "exec" {
			e.ID, e.Time = 0, time.Time{}
			out = append(out, e)
		}
	}
	return out
}

// TestUncleanStop kills a process with SIGKILL while it holds audit events
// in its queue: the next start records an unclean stop whose count is
// exactly the events lost, once; a clean stop leaves no marker; a run file
// that is gone or damaged still gives a marker, saying the count is not
// known.
func TestUncleanStop(t *testing.T) {
	if spec := os.Getenv(uncleanEnv); spec != "" {
		uncleanChild(spec)
		return
	}
	paths := func(t *testing.T) (string, string) {
		dir := t.TempDir()
		return filepath.Join(dir, "db", "gatehouse.db"), filepath.Join(dir, "run", "audit-run")
	}

	t.Run("killed", func(t *testing.T) {
		db, runFile := paths(t)
		runChild(t, db, runFile, "kill")
		evs := reopen(t, db, runFile)
		if n := len(evs) - len(markers(evs)); n != childFlushed {
			t.Errorf("%d exec events stored, want the %d flushed", n, childFlushed)
		}
		m := markers(evs)
		if len(m) != 1 || m[0].Kind != "unclean_stop" || m[0].Count != childQueued || m[0].PolicyID != "corp" || m[0].PolicyRevision != 4 ||
			!strings.Contains(m[0].Detail, fmt.Sprintf("%d accepted and not written, 0 dropped", childQueued)) {
			t.Fatalf("after the kill: records %+v, want one unclean_stop counting %d events, naming the policy", m, childQueued)
		}
		// That start stopped cleanly: the next one adds nothing.
		if m2 := markers(reopen(t, db, runFile)); !cmp.Equal(m, m2) {
			t.Errorf("after a clean restart: records %+v, want still only %+v", m2, m)
		}
	})

	t.Run("clean", func(t *testing.T) {
		db, runFile := paths(t)
		runChild(t, db, runFile, "clean")
		evs := reopen(t, db, runFile)
		if m := markers(evs); len(m) != 0 || len(evs) != childFlushed+childQueued {
			t.Errorf("after a clean stop: %d events, records %+v; want %d and none", len(evs), m, childFlushed+childQueued)
		}
	})

	for _, tc := range []struct {
		name string
		harm func(path string) error
		says string
	}{
		{"run file gone", os.Remove, "is missing"},
		{"run file damaged", func(p string) error {
			return os.WriteFile(p, []byte("not a run file at all, but long enough to be one............"), 0o600)
		}, "is damaged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, runFile := paths(t)
			runChild(t, db, runFile, "kill")
			if err := tc.harm(runFile); err != nil {
				t.Fatal(err)
			}
			m := markers(reopen(t, db, runFile))
			if len(m) != 1 || m[0].Kind != "unclean_stop" || m[0].Count != 0 || !strings.Contains(m[0].Detail, tc.says) ||
				!strings.Contains(m[0].Detail, "number of audit events lost is not known") {
				t.Errorf("records %+v, want one unclean_stop saying the file %s and the count is not known", m, tc.says)
			}
		})
	}
}
