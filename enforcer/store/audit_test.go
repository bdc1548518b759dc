package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// allEvents pages through every stored event.
func allEvents(t testing.TB, s *Store) []Event {
	t.Helper()
	var out []Event
	var after int64
	for {
		page, err := s.Events(context.Background(), Filter{AfterID: after, Limit: 5000})
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			return out
		}
		out = append(out, page...)
		after = page[len(page)-1].ID
	}
}

// waitFor polls until cond holds; the test binary's timeout bounds it.
func waitFor(cond func() bool) {
	for !cond() {
		time.Sleep(time.Millisecond)
	}
}

func closeWriter(t *testing.T, w *AuditWriter) {
	t.Helper()
	if err := w.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestAuditWriterConcurrent(t *testing.T) {
	s := openTest(t)
	w := NewAuditWriter(s, AuditConfig{Queue: 1024, FlushEvery: 5 * time.Millisecond})
	const goroutines, each = 8, 5000
	accepted := make([][]int64, goroutines)
	var refused [goroutines]uint64
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				if w.Enqueue(Event{Kind: "exec", PID: int32(g), RequestID: int64(i)}) {
					accepted[g] = append(accepted[g], int64(i))
					continue
				}
				// Full: this event is lost. Let the writer catch up, so
				// that the test sees many batches as well as drops.
				refused[g]++
				if err := w.Flush(t.Context()); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	closeWriter(t, w)
	if w.Enqueue(Event{Kind: "exec"}) {
		t.Error("Enqueue after Close returned true")
	}

	got := make([][]int64, goroutines)
	var recordedDrops, totalRefused, totalAccepted uint64
	for _, e := range allEvents(t, s) {
		switch e.Kind {
		case "exec":
			got[e.PID] = append(got[e.PID], e.RequestID)
		case "dropped":
			recordedDrops += uint64(e.Count)
		default:
			t.Errorf("unexpected event %+v", e)
		}
	}
	for g := range goroutines {
		if diff := cmp.Diff(accepted[g], got[g]); diff != "" {
			t.Errorf("goroutine %d: stored events differ from those accepted, in order (-accepted +stored):\n%s", g, diff)
		}
		totalRefused += refused[g]
		totalAccepted += uint64(len(accepted[g]))
	}
	st := w.Stats()
	want := AuditStats{Queued: 0, Written: totalAccepted, Dropped: totalRefused, Batches: st.Batches}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("stats (-want +got):\n%s", diff)
	}
	if recordedDrops != totalRefused {
		t.Errorf("dropped events record %d losses, Enqueue refused %d", recordedDrops, totalRefused)
	}
	t.Logf("accepted %d, dropped %d, in %d batches", totalAccepted, totalRefused, st.Batches)
}

// holdWriteLock takes the database's write lock from another connection,
// as another process would, until the returned func is called.
func holdWriteLock(t *testing.T, s *Store) (release func()) {
	t.Helper()
	db := rawDB(t, s.Path())
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	return func() {
		if err := tx.Rollback(); err != nil {
			t.Error(err)
		}
	}
}

func TestAuditWriterDropsWhenBlocked(t *testing.T) {
	s := openTest(t)
	const queue = 4
	w := NewAuditWriter(s, AuditConfig{Queue: queue})
	release := holdWriteLock(t, s)

	if !w.Enqueue(Event{Kind: "exec", RequestID: 0}) {
		t.Fatal("Enqueue refused the first event")
	}
	// Wait until the writer has taken it and is stuck on the lock.
	waitFor(func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.inflight == 1
	})
	// The writer cannot commit while the lock is held, so if Enqueue waited
	// for the database, these calls would not return until it is released.
	var ok, refused int
	for i := 1; i <= 100; i++ {
		if w.Enqueue(Event{Kind: "exec", RequestID: int64(i)}) {
			ok++
		} else {
			refused++
		}
	}
	if st := w.Stats(); st.Written != 0 || st.Queued != queue {
		t.Errorf("with the database locked: stats %+v, want nothing written and %d queued", st, queue)
	}
	// The bound covers the event being written: 1 taken + 3 queued.
	if ok != queue-1 || refused != 100-(queue-1) {
		t.Errorf("accepted %d and refused %d, want %d and %d", ok, refused, queue-1, 100-(queue-1))
	}
	release()
	closeWriter(t, w)

	want := []Event{
		{Kind: "exec", RequestID: 0}, {Kind: "exec", RequestID: 1}, {Kind: "exec", RequestID: 2}, {Kind: "exec", RequestID: 3},
		{Kind: "dropped", Count: int64(refused), Detail: fmt.Sprintf("%d audit events dropped: the audit queue was full", refused)},
	}
	got := allEvents(t, s)
	for i := range got {
		got[i].ID, got[i].Time = 0, time.Time{}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored events (-want +got):\n%s", diff)
	}
	if st := w.Stats(); st.Dropped != uint64(refused) || st.Written != queue {
		t.Errorf("stats %+v, want %d dropped and %d written", st, refused, queue)
	}
}

func TestAuditWriterFlush(t *testing.T) {
	s := openTest(t)
	// An hour between writes: only Flush makes the writer write these now.
	w := NewAuditWriter(s, AuditConfig{Queue: 1000, FlushEvery: time.Hour})
	defer closeWriter(t, w)
	for i := range 10 {
		w.Enqueue(Event{Kind: "exec", RequestID: int64(i)})
	}
	if err := w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := len(allEvents(t, s)); got != 10 {
		t.Errorf("after Flush, %d events are stored, want 10", got)
	}
	// Nothing waiting: Flush returns at once.
	if err := w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestAuditWriterWritesManyAtOnce(t *testing.T) {
	s := openTest(t)
	// An hour between writes, but writeSoon waiting events are written
	// without waiting for it, and without a Flush.
	w := NewAuditWriter(s, AuditConfig{Queue: 10000, FlushEvery: time.Hour})
	defer closeWriter(t, w)
	for i := range writeSoon {
		w.Enqueue(Event{Kind: "exec", RequestID: int64(i)})
	}
	waitFor(func() bool { return w.Stats().Written == writeSoon })
}

func TestAuditWriterTimeDefaultsToNow(t *testing.T) {
	s := openTest(t)
	w := NewAuditWriter(s, AuditConfig{Queue: 10})
	before := time.Now()
	w.Enqueue(Event{Kind: "exec"})
	closeWriter(t, w)
	evs := allEvents(t, s)
	if len(evs) != 1 || evs[0].Time.Before(before) {
		t.Errorf("events = %+v, want one stamped at or after %v", evs, before)
	}
}

// failWrites makes every insert into events fail until the returned func
// is called.
func failWrites(t *testing.T, s *Store) (stop func()) {
	t.Helper()
	if _, err := s.w.Exec(`CREATE TEMP TRIGGER fail BEFORE INSERT ON events
		BEGIN SELECT RAISE(ABORT, 'injected failure'); END`); err != nil {
		t.Fatal(err)
	}
	return func() {
		if _, err := s.w.Exec(`DROP TRIGGER temp.fail`); err != nil {
			t.Fatal(err)
		}
	}
}

func lastErr(w *AuditWriter) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.lastErr
}

// TestAuditWriterRetries: an error that may pass is tried again, and the
// events are written once it does (here the attempts do not run out).
func TestAuditWriterRetries(t *testing.T) {
	s := openTest(t)
	w := NewAuditWriter(s, AuditConfig{Queue: 100, attempts: 1 << 30})
	defer closeWriter(t, w)
	stop := failWrites(t, s)
	for i := range 5 {
		w.Enqueue(Event{Kind: "exec", RequestID: int64(i)})
	}
	waitFor(func() bool { return lastErr(w) != nil })

	// A Flush that gives up says why.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := w.Flush(ctx)
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "injected failure") {
		t.Errorf("Flush while writes fail: err = %v, want context.Canceled and the write error", err)
	}
	if st := w.Stats(); st.Queued != 5 || st.Written != 0 {
		t.Errorf("while writes fail: stats %+v, want 5 kept and none written", st)
	}

	stop()
	if err := w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, e := range allEvents(t, s) {
		ids = append(ids, e.RequestID)
	}
	if diff := cmp.Diff([]int64{0, 1, 2, 3, 4}, ids); diff != "" {
		t.Errorf("events after the retry (-want +got):\n%s", diff)
	}
}

func TestAuditWriterCloseGivesUp(t *testing.T) {
	s := openTest(t)
	w := NewAuditWriter(s, AuditConfig{Queue: 100, attempts: 1 << 30})
	failWrites(t, s)
	for range 3 {
		w.Enqueue(Event{Kind: "exec"})
	}
	waitFor(func() bool { return lastErr(w) != nil })
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := w.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "3 audit events not written") {
		t.Errorf("Close with failing writes: err = %v, want it to say 3 events were not written", err)
	}
	if w.Enqueue(Event{Kind: "exec"}) {
		t.Error("Enqueue after Close returned true")
	}
	// A second Close does not hang.
	if err := w.Close(ctx); err == nil {
		t.Error("second Close forgot the lost events")
	}
}

// storedWithoutIDs returns the stored events with their IDs and times
// zeroed, for comparing.
func storedWithoutIDs(t *testing.T, s *Store) []Event {
	t.Helper()
	got := allEvents(t, s)
	for i := range got {
		got[i].ID, got[i].Time = 0, time.Time{}
	}
	return got
}

// TestAuditWriterGivesUpAfterItsAttempts: a transaction that keeps failing
// with an error that might pass is tried a bounded number of times; then
// its events are counted as unwritten and the writer says it is failing.
// Once writes work again the loss is recorded (naming the policy in force),
// and the writer is healthy again.
func TestAuditWriterGivesUpAfterItsAttempts(t *testing.T) {
	s := openTest(t)
	// An hour between writes: the events wait for the Flush below.
	w := NewAuditWriter(s, AuditConfig{Queue: 100, FlushEvery: time.Hour, attempts: 2, Policy: func() (string, int64) { return "corp", 7 }})
	defer closeWriter(t, w)
	stop := failWrites(t, s)
	for i := range 5 {
		w.Enqueue(Event{Kind: "exec", RequestID: int64(i)})
	}
	err := w.Flush(t.Context())
	if err == nil || !strings.Contains(err.Error(), "5 not written") || !strings.Contains(err.Error(), "injected failure") {
		t.Errorf("Flush of events given up: err = %v, want it to say 5 were not written, and why", err)
	}
	st := w.Stats()
	if st.Unwritten != 5 || st.Queued != 0 || st.Written != 0 || st.Err == nil || st.FailingSince.IsZero() {
		t.Errorf("after giving up: stats %+v, want 5 unwritten, none queued or written, and the error with its start", st)
	}

	stop()
	w.Enqueue(Event{Kind: "exec", RequestID: 5})
	if err := w.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The driver words the trigger's error (mattn: "injected failure";
	// modernc: "constraint failed: injected failure (1811)").
	got := storedWithoutIDs(t, s)
	prefix := "5 audit events not written: write audit events to " + s.Path() + ": add events: "
	if len(got) == 2 && strings.HasPrefix(got[1].Detail, prefix) && strings.Contains(got[1].Detail, "injected failure") {
		got[1].Detail = prefix + "injected failure"
	}
	want := []Event{
		{Kind: "exec", RequestID: 5},
		{Kind: "unwritten", Count: 5, PolicyID: "corp", PolicyRevision: 7, Detail: prefix + "injected failure"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("stored events once writes work (-want +got):\n%s", diff)
	}
	if st := w.Stats(); st.Err != nil || !st.FailingSince.IsZero() || st.Unwritten != 5 || st.Written != 1 {
		t.Errorf("once writes work: stats %+v, want no error, 5 unwritten and 1 written", st)
	}
}

// damagedEvents makes a database of a few thousand events, overwrites the
// root page of the events table with junk, and opens it again: the file
// opens, the grants and requests work, no event can be added.
func damagedEvents(t *testing.T) *Store {
	t.Helper()
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	evs := make([]Event, 3000)
	for i := range evs {
		evs[i] = benchEvent(i)
	}
	if err := s.AddEvents(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	s = damageTable(t, s, path, "events")
	t.Cleanup(func() { s.Close() })
	return s
}

// TestAuditWriterDamagedEvents: with the events table damaged, the events
// are given up at once (the attempts here would never run out), counted,
// and the error says what to do; the writer keeps taking and trying new
// events; Close says the loss could not be recorded.
func TestAuditWriterDamagedEvents(t *testing.T) {
	s := damagedEvents(t)
	// An hour between writes, and fewer than writeSoon events: they wait
	// for the Flush below.
	w := NewAuditWriter(s, AuditConfig{Queue: 1000, FlushEvery: time.Hour, attempts: 1 << 30})
	for i := range 200 {
		if !w.Enqueue(benchEvent(i)) {
			t.Fatalf("Enqueue refused event %d of 200 with a queue of 1000", i)
		}
	}
	err := w.Flush(t.Context())
	if err == nil || !strings.Contains(err.Error(), "200 not written") || !strings.Contains(err.Error(), "move it aside") {
		t.Errorf("Flush with the events table damaged: err = %v, want it to say 200 were not written, and what to do", err)
	}
	st := w.Stats()
	if st.Unwritten != 200 || st.Queued != 0 || st.Written != 0 || st.Err == nil ||
		!strings.Contains(st.Err.Error(), "malformed") || !strings.Contains(st.Err.Error(), s.Path()) {
		t.Errorf("stats %+v, want 200 unwritten, none queued, and the error naming the file", st)
	}
	for i := range 50 {
		if !w.Enqueue(benchEvent(i)) {
			t.Fatalf("Enqueue refused event %d after the failures", i)
		}
	}
	// While writes fail the writer tries again after its backoff, not at
	// the Flush: some may be given up before it.
	if err := w.Flush(t.Context()); err != nil && !strings.Contains(err.Error(), "not written") {
		t.Errorf("second Flush: err = %v, want it to say events were not written", err)
	}
	if st := w.Stats(); st.Unwritten != 250 || st.Queued != 0 {
		t.Errorf("after the second Flush: stats %+v, want 250 unwritten and none queued", st)
	}
	err = w.Close(t.Context())
	if err == nil || !strings.Contains(err.Error(), "250 audit events not written and 0 dropped, with no record of the loss") {
		t.Errorf("Close: err = %v, want it to say 250 events were lost without a record", err)
	}
}

// TestAuditWriterCloseDoesNotWaitForAFailingDatabase: events still queued
// when Close comes are tried once; when that fails they are given up and
// counted at once, rather than waited on until Close's deadline.
func TestAuditWriterCloseDoesNotWaitForAFailingDatabase(t *testing.T) {
	s := damagedEvents(t)
	// An hour between writes: the events are still queued at Close.
	w := NewAuditWriter(s, AuditConfig{Queue: 1000, FlushEvery: time.Hour})
	for i := range 10 {
		w.Enqueue(benchEvent(i))
	}
	// No deadline: if Close waited for the database, the test would hang.
	err := w.Close(context.Background())
	if err == nil || !strings.Contains(err.Error(), "10 audit events not written") {
		t.Errorf("Close: err = %v, want it to say 10 were not written", err)
	}
	if st := w.Stats(); st.Unwritten != 10 || st.Queued != 0 {
		t.Errorf("after Close: stats %+v, want 10 unwritten and none queued", st)
	}
}
