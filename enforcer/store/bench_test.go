package store

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// benchEvent is a typical exec event.
func benchEvent(i int) Event {
	return Event{
		Time: time.Now(), Kind: "exec", Action: "block", Rule: 4, RuleName: "unsigned downloads",
		Group: "everyone", PolicyID: "corp", PolicyRevision: 12, UID: 1000, User: "alice", PID: int32(i),
		Path: "/home/alice/Downloads/tool", SHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		Args: []string{"--verbose", "--output", "/tmp/out.txt"}, Parent: "/usr/bin/bash", AppType: "binary",
	}
}

// benchRunFile is a run file on /dev/shm (a tmpfs, as /run is), removed
// when b ends.
func benchRunFile(b *testing.B) string {
	b.Helper()
	dir, err := os.MkdirTemp("/dev/shm", "gatehouse-bench-")
	if err != nil {
		b.Fatalf("a run file needs a tmpfs at /dev/shm: %v", err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "audit-run")
}

// auditSetup is how a benchmark's writer is set up.
type auditSetup struct {
	name    string
	flush   time.Duration
	runFile bool
}

// auditSetups are the writer before issue 12 item 9 (200 ms, no run file)
// and after it, side by side.
var auditSetups = []auditSetup{
	{"flush=200ms,run_file=none", 200 * time.Millisecond, false},
	{"flush=" + AuditFlushEvery.String() + ",run_file=tmpfs", AuditFlushEvery, true},
}

func (c auditSetup) config(b *testing.B, queue int) AuditConfig {
	cfg := AuditConfig{Queue: queue, FlushEvery: c.flush}
	if c.runFile {
		cfg.RunFile = benchRunFile(b)
	}
	return cfg
}

// BenchmarkAuditWriter measures events through Enqueue and Flush, with the
// daemon's queue size and flush interval.
func BenchmarkAuditWriter(b *testing.B) {
	for _, c := range auditSetups {
		b.Run(c.name, func(b *testing.B) {
			s := openTest(b)
			const queue = 65536
			w := NewAuditWriter(s, c.config(b, queue))
			ev := benchEvent(1)
			n := 0
			for b.Loop() {
				if !w.Enqueue(ev) {
					b.Fatal("queue full")
				}
				if n++; n%(queue/2) == 0 {
					if err := w.Flush(b.Context()); err != nil {
						b.Fatal(err)
					}
				}
			}
			if err := w.Flush(b.Context()); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
			if err := w.Close(b.Context()); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkAuditBatch measures events written in transactions of a given
// size: what a batch sized by time costs when execs are few. At r execs a
// second a flush interval f makes batches of about r×f events (500/s and
// AuditFlushEvery: 25).
func BenchmarkAuditBatch(b *testing.B) {
	for _, size := range []int{1, 5, 25, 100, 256} {
		b.Run(fmt.Sprintf("events=%d", size), func(b *testing.B) {
			s := openTest(b)
			w := NewAuditWriter(s, AuditConfig{Queue: 4096, FlushEvery: time.Hour})
			ev := benchEvent(1)
			n := 0
			for b.Loop() {
				w.Enqueue(ev)
				if n++; n%size == 0 {
					if err := w.Flush(b.Context()); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(w.Stats().Batches)/b.Elapsed().Seconds(), "commits/s")
			if err := w.Close(b.Context()); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkAuditEnqueue measures the hot path alone: an accepted Enqueue
// (with a run file: and its atomic store into the mapping). The writer's
// work is done outside the timer.
func BenchmarkAuditEnqueue(b *testing.B) {
	for _, c := range auditSetups {
		b.Run(c.name, func(b *testing.B) {
			s := openTest(b)
			const chunk = 4096
			w := NewAuditWriter(s, c.config(b, chunk))
			ev := benchEvent(1)
			n := 0
			for b.Loop() {
				if !w.Enqueue(ev) {
					b.Fatal("queue full")
				}
				if n++; n%chunk == 0 {
					b.StopTimer()
					if err := w.Flush(b.Context()); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			}
			b.StopTimer()
			if err := w.Close(b.Context()); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkAddEvents measures one transaction of 1000 events.
func BenchmarkAddEvents(b *testing.B) {
	s := openTest(b)
	evs := make([]Event, 1000)
	for i := range evs {
		evs[i] = benchEvent(i)
	}
	for b.Loop() {
		if err := s.AddEvents(b.Context(), evs); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(evs))/b.Elapsed().Seconds(), "events/s")
}
