package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gatehouse/gatehouse/internal/scratch"
)

// fillDisk writes a file in dir until the file system is full, and
// returns its path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := bytes.Repeat([]byte{1}, 4096)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			return path
		}
	}
}

// TestAuditWriterFullDisk: on a full file system the events are given up
// at once and counted, the error says the disk is full; once space is
// freed the writer writes again, and records how many were lost.
func TestAuditWriterFullDisk(t *testing.T) {
	scratch.NeedRoot(t, "mounts a small tmpfs to fill")
	dir := t.TempDir()
	scratch.MountSize(t, dir, "2m")
	s, err := Open(filepath.Join(dir, "gatehouse.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// The attempts would never run out: a full disk must be given up at once.
	w := NewAuditWriter(s, AuditConfig{Queue: 100_000, attempts: 1 << 30})
	defer closeWriter(t, w)
	filler := fillDisk(t, dir)

	const n = 20_000 // a few MB of events: more than the WAL holds
	for i := range n {
		if !w.Enqueue(benchEvent(i)) {
			t.Fatalf("Enqueue refused event %d", i)
		}
	}
	err = w.Flush(t.Context())
	if err == nil || !strings.Contains(err.Error(), "not written") || !strings.Contains(err.Error(), "free space") {
		t.Errorf("Flush on a full disk: err = %v, want it to say events were not written, and to free space", err)
	}
	st := w.Stats()
	if st.Unwritten == 0 || st.Written+st.Unwritten != n || st.Queued != 0 || st.Err == nil || st.FailingSince.IsZero() {
		t.Fatalf("on a full disk: stats %+v, want every one of %d events written or counted as unwritten, and the error", st, n)
	}
	t.Logf("on a full disk: %d written, %d unwritten, error: %v", st.Written, st.Unwritten, st.Err)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	w.Enqueue(Event{Kind: "exec", Path: "/after/the/fix"})
	if err := w.Flush(t.Context()); err != nil {
		t.Fatalf("Flush once space is freed: %v", err)
	}
	var execs, recorded uint64
	var after bool
	for _, e := range allEvents(t, s) {
		switch e.Kind {
		case "exec":
			execs++
			after = after || e.Path == "/after/the/fix"
		case "unwritten":
			recorded += uint64(e.Count)
		}
	}
	if !after || execs != st.Written+1 || recorded != st.Unwritten {
		t.Errorf("stored: %d exec events (the one after the fix: %v) and a loss of %d recorded; want %d, true and %d",
			execs, after, recorded, st.Written+1, st.Unwritten)
	}
	if st := w.Stats(); st.Err != nil || !st.FailingSince.IsZero() {
		t.Errorf("once space is freed: stats %+v, want no error", st)
	}
}
