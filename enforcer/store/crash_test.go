package store

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// crashEnv, when set, makes TestCrashSafety the child: it writes events
// to the database named by the variable until it is killed.
const crashEnv = "GATEHOUSE_STORE_CRASH_CHILD"

// TestCrashSafety kills a writing process with SIGKILL and checks that
// every event it had flushed is in the database afterwards.
func TestCrashSafety(t *testing.T) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	cmd, out := startChild(t, "TestCrashSafety", crashEnv+"="+path)
	defer cmd.Process.Kill()

	// Each line is the number of events flushed so far. The child keeps
	// writing between lines, so the kill lands in the middle of a stream.
	var flushed int
	sc := bufio.NewScanner(out)
	for lines := 0; lines < 40 && sc.Scan(); lines++ {
		n, err := strconv.Atoi(sc.Text())
		if err != nil {
			t.Fatalf("child said %q", sc.Text())
		}
		flushed = n
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if flushed == 0 {
		t.Fatal("the child flushed nothing before it was killed")
	}

	s, err := Open(path)
	if err != nil {
		t.Fatalf("reopen after the crash: %v", err)
	}
	defer s.Close()
	var check string
	if err := s.r.QueryRow("PRAGMA integrity_check").Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check = %q, %v", check, err)
	}
	seen := make(map[int64]int)
	for _, e := range allEvents(t, s) {
		seen[e.RequestID]++
	}
	for i := range int64(flushed) {
		if seen[i] != 1 {
			t.Fatalf("event %d of the %d flushed is stored %d times, want once", i, flushed, seen[i])
		}
	}
	t.Logf("%d events flushed before the kill, %d stored", flushed, len(seen))
}

// crashChild writes numbered events through an AuditWriter, and after each
// Flush prints how many are flushed. It stops after a million events, or
// when the parent goes away (writing to the closed pipe kills it).
func crashChild(path string) {
	s, err := Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	w := NewAuditWriter(s, AuditConfig{Queue: 4096})
	var seq int64
	for seq < 1_000_000 {
		for range 100 {
			for !w.Enqueue(Event{Kind: "exec", Path: "/usr/bin/true", Args: []string{"a", "b"}, RequestID: seq}) {
				// The queue is full: wait for the writer rather than drop.
				w.Flush(context.Background())
			}
			seq++
		}
		if err := w.Flush(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println(seq)
	}
	os.Exit(0)
}

// startChild runs this test binary as a child that runs only test, with
// env added, and returns it and its standard output.
func startChild(t *testing.T, test, env string) (*exec.Cmd, io.Reader) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), env)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out
}
