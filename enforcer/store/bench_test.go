package store

import (
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

// BenchmarkAuditWriter measures events through Enqueue and Flush, with the
// daemon's queue size and flush interval.
func BenchmarkAuditWriter(b *testing.B) {
	s := openTest(b)
	const queue = 65536
	w := NewAuditWriter(s, AuditConfig{Queue: queue, FlushEvery: 200 * time.Millisecond})
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
}

// BenchmarkAuditEnqueue measures the hot path alone: an accepted Enqueue.
// The writer's work is done outside the timer.
func BenchmarkAuditEnqueue(b *testing.B) {
	s := openTest(b)
	const chunk = 4096
	w := NewAuditWriter(s, AuditConfig{Queue: chunk, FlushEvery: 200 * time.Millisecond})
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
