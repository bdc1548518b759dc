package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/sqlitedb"
)

const (
	// maxBatch bounds the events written in one transaction.
	maxBatch = 2048
	// writeSoon is how many waiting events make the writer write at once
	// instead of waiting out flushEvery for more.
	writeSoon = 256
	// Backoff between attempts after a failed write, and between rounds
	// while writes keep failing.
	minBackoff = 50 * time.Millisecond
	maxBackoff = 5 * time.Second
	// maxAttempts bounds the tries of one transaction whose error may pass
	// by waiting (another process holds the lock, an error SQLite does not
	// class). An error that waiting does not mend (a damaged file, a full
	// disk, a read-only or failing device) gets one try. Then the
	// transaction's events are given up and counted: holding them for a
	// database that may never work again would only move the loss to the
	// stop, where nobody sees it.
	maxAttempts = 5
	// failLogEvery spaces the Error logs while writes keep failing.
	failLogEvery = time.Minute
)

// AuditFlushEvery is gatehoused's flush interval: a kill -9 loses the
// events of at most about this long (and a batch being committed), and the
// next start counts them. It was 200 ms; at 50 ms the timer commits at
// most 20 times a second, about 100 µs each with a single event
// (BenchmarkAuditBatch, docs/enforcer.md).
const AuditFlushEvery = 50 * time.Millisecond

// AuditWriter takes audit events from the hot path and writes them to the
// store in batches from one goroutine.
//
// Enqueue never blocks and never does I/O. No event is lost without being
// counted, and each count is itself written as an event once the database
// takes writes again:
//
//   - an event refused because the queue is full is dropped: counted
//     (Dropped) and recorded as a "dropped" event;
//   - an accepted event whose transaction failed maxAttempts times (once,
//     for an error that waiting does not mend) is given up: counted
//     (Unwritten) and recorded as an "unwritten" event. The writer goes on
//     with the events that follow, no sooner than a backoff (50 ms doubling
//     to 5 s) after the failure, so while the database fails events wait in
//     the queue and are written if it works again in time.
//
// While writes fail the writer says so: Stats carries the error and since
// when, and it logs at Error level (at most once a minute, and once more
// when writes work again). The queue bound covers every event neither
// committed nor given up, including a batch being written, so memory stays
// bounded while the database is failing. Events commit in the order
// Enqueue accepted them.
//
// With a run file (AuditConfig.RunFile; runfile.go) a kill leaves a trace:
// Enqueue counts what it accepts and refuses in the mapped file, every
// transaction records in the database how many of those are accounted
// for, and Close marks the run clean. The next writer on the database
// compares the two and records an "unclean_stop" event whose Count is the
// gap (or an "unwritten" one, for a run that stopped while the database
// failed). Without a run file an unclean stop is recorded too, its gap
// unknown.
type AuditWriter struct {
	s          *Store
	limit      int
	soon       int // this many waiting events are written at once
	flushEvery time.Duration
	attempts   int
	policy     func() (string, int64)
	log        *slog.Logger
	rfile      *runFile // nil: none

	kick   chan struct{} // capacity 1: wakes the writer
	ctx    context.Context
	cancel context.CancelFunc // aborts the writer (Close's deadline passed)
	done   chan struct{}      // closed when the writer has returned

	mu        sync.Mutex
	queue     []Event // accepted, not yet taken by the writer
	spare     []Event // the writer's last batch, emptied, for reuse
	inflight  int     // events taken by the writer, not yet committed or given up
	accepted  uint64  // events ever accepted; they commit in this order
	written   uint64  // of those, committed
	unwritten uint64  // of those, given up after write errors
	dropped   uint64
	batches   uint64
	flushing  int           // Flush calls waiting: write without waiting for more
	closed    bool          // Enqueue refuses; the writer drains and returns
	finished  bool          // Close has ended the run
	closeErr  error         // what the first Close returned
	progress  chan struct{} // closed and replaced after each commit or give-up

	// Losses whose record is not committed yet. The writer takes them
	// into a transaction and puts them back if it fails.
	drops     uint64 // dropped since the last "dropped" record
	firstDrop time.Time
	lost      uint64 // given up since the last "unwritten" record
	firstLost time.Time
	lostErr   error  // why the last of them were given up
	marker    *Event // what the previous run left without a record

	// Health: lastErr is the error of the last attempt, nil once one
	// commits; failingSince is when the failures began.
	lastErr      error
	failingSince time.Time

	// The writer goroutine's own (and Close's, once it has returned).
	row         runRow        // the audit_run row as last committed
	retryAt     time.Time     // while failing: no new round before this
	backoff     time.Duration // between rounds while failing
	lastFailLog time.Time
	failLost    uint64 // unwritten+dropped when the failures began, for the log
}

// AuditStats are an AuditWriter's counters and health.
type AuditStats struct {
	Queued    uint64 // events waiting now, including a batch being written
	Written   uint64 // events committed (not counting the writer's own records)
	Unwritten uint64 // accepted events given up after write errors
	Dropped   uint64 // events refused because the queue was full (not after Close)
	Batches   uint64 // transactions committed
	// Err is the error of the last write while writes fail, since
	// FailingSince; nil (and zero) once a write commits.
	Err          error
	FailingSince time.Time
}

// AuditConfig says how an AuditWriter writes.
type AuditConfig struct {
	// Queue bounds the events waiting (at least 1), a batch being written
	// included.
	Queue int
	// FlushEvery: a few waiting events are written after at most about
	// this long, to share a transaction with those that follow; many are
	// written at once. <= 0 writes every event as soon as it comes.
	FlushEvery time.Duration
	// Policy names the policy in force, for the records the writer makes
	// itself ("dropped", "unwritten"): no rule decided them. Nil leaves
	// them without a policy.
	Policy func() (id string, revision int64)
	// Logger is for write failures; nil means slog.Default().
	Logger *slog.Logger
	// RunFile is where the counts of this run are kept for the next start
	// (runfile.go): on a tmpfs, never on a disk. "" keeps none.
	RunFile string

	attempts int // tests: tries of a transaction instead of maxAttempts
}

// NewAuditWriter starts a writer to s, first working out what the previous
// run on s left without a record (written before any new event). Close the
// writer before s.
func NewAuditWriter(s *Store, cfg AuditConfig) *AuditWriter {
	ctx, cancel := context.WithCancel(context.Background())
	w := &AuditWriter{
		s:          s,
		limit:      max(cfg.Queue, 1),
		soon:       min(writeSoon, max(cfg.Queue, 1)),
		flushEvery: cfg.FlushEvery,
		attempts:   cfg.attempts,
		policy:     cfg.Policy,
		log:        cfg.Logger,
		kick:       make(chan struct{}, 1),
		ctx:        ctx,
		cancel:     cancel,
		done:       make(chan struct{}),
		progress:   make(chan struct{}),
		backoff:    minBackoff,
	}
	if w.attempts <= 0 {
		w.attempts = maxAttempts
	}
	if w.log == nil {
		w.log = slog.Default()
	}
	w.start(cfg.RunFile)
	go w.run()
	return w
}

// start begins the run: a new run file, and the record of what the
// previous run left, if anything. Failures here cost the accounting, not
// the audit log: they are logged and the writer runs on.
func (w *AuditWriter) start(path string) {
	w.row = runRow{RunID: rand.Uint64() | 1, Started: time.Now()}
	var (
		prev    runRecord
		prevErr = errNoRunFile
	)
	if path != "" {
		rf, p, perr, err := openRunFile(path, runRecord{RunID: w.row.RunID, Started: w.row.Started, State: runRunning})
		switch {
		case errors.Is(err, errRunFileBusy):
			// Another writer runs on this file: its run is not over.
			w.log.Error("audit run file in use by another audit writer; this one keeps none", "err", err)
			return
		case err != nil:
			w.log.Error("no audit run file: a kill of the daemon will be recorded without the number of events it lost", "err", err)
		default:
			w.rfile, w.row.RunFile = rf, true
			prev, prevErr = p, perr
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*sqlitedb.BusyTimeout)
	defer cancel()
	row, haveRow, rowErr := w.s.lastRun(ctx)
	if rowErr != nil {
		w.log.Error("audit writer: the previous run's account cannot be read", "err", rowErr)
	}
	if ev, ok := judgeRun(prev, prevErr, row, haveRow, rowErr, path, time.Now()); ok {
		ev = w.own(ev)
		w.marker = &ev
		w.log.Warn("audit: "+ev.Detail, "kind", ev.Kind, "count", ev.Count)
	}
}

// Enqueue queues ev (a zero Time is set to now). It never blocks; it
// returns false if the queue is full or the writer is closed.
func (w *AuditWriter) Enqueue(ev Event) bool {
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return false
	}
	if len(w.queue)+w.inflight >= w.limit {
		if w.drops == 0 {
			w.firstDrop = ev.Time
		}
		w.drops++
		w.dropped++
		w.rfile.setDropped(w.dropped)
		first := w.drops == 1
		w.mu.Unlock()
		if first {
			w.wake() // the writer records the loss without waiting
		}
		return false
	}
	w.queue = append(w.queue, ev)
	n := len(w.queue)
	w.accepted++
	w.rfile.setAccepted(w.accepted) // an atomic store into the mapping: no system call
	w.mu.Unlock()
	if n == 1 || n == w.soon {
		w.wake()
	}
	return true
}

func (w *AuditWriter) wake() {
	select {
	case w.kick <- struct{}{}:
	default: // already awake or due to wake
	}
}

// Flush returns once every event Enqueue accepted before the call is
// committed or given up. It returns an error if events were given up
// meanwhile, if ctx is done first, or if the writer stopped.
func (w *AuditWriter) Flush(ctx context.Context) error {
	w.mu.Lock()
	target, unwritten0 := w.accepted, w.unwritten
	w.flushing++
	w.mu.Unlock()
	defer func() {
		w.mu.Lock()
		w.flushing--
		w.mu.Unlock()
	}()
	w.wake()
	for {
		w.mu.Lock()
		settled, unwritten, progress, lastErr := w.written+w.unwritten, w.unwritten, w.progress, w.lastErr
		w.mu.Unlock()
		if settled >= target {
			if unwritten > unwritten0 {
				return fmt.Errorf("flush audit events: %d not written (counted as unwritten): %w", unwritten-unwritten0, w.lostError())
			}
			return nil
		}
		select {
		case <-progress:
		case <-w.done:
			w.mu.Lock()
			settled = w.written + w.unwritten
			w.mu.Unlock()
			if settled >= target {
				continue // say whether some were given up
			}
			return fmt.Errorf("flush audit events: the writer stopped with %d of them unwritten", target-settled)
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("flush audit events: %w (last write error: %v)", ctx.Err(), lastErr)
			}
			return fmt.Errorf("flush audit events: %w", ctx.Err())
		}
	}
}

func (w *AuditWriter) lostError() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.lostErr != nil {
		return w.lostErr
	}
	return w.lastErr
}

// Close refuses further events, writes those queued and stops the writer.
// Writes that fail are not waited for: the events left are given up at
// once. If ctx is done first, the writer is aborted. Close returns an error
// saying how many events were lost without a record of the loss in the
// database.
func (w *AuditWriter) Close(ctx context.Context) error {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.wake()
	select {
	case <-w.done:
	case <-ctx.Done():
		w.cancel()
		// The writer returns once its current statement ends: at once,
		// or after the busy timeout if another process holds the lock.
		<-w.done
	}
	w.cancel()
	w.mu.Lock()
	if w.finished {
		defer w.mu.Unlock()
		return w.closeErr
	}
	w.finished = true
	pending := w.accepted - w.written - w.unwritten // queued or in flight when aborted
	lost, drops, marker, lastErr := w.lost, w.drops, w.marker, w.lastErr
	w.mu.Unlock()
	// The writer has returned: the row and the run file are Close's now,
	// and no lock is held over the database write below.
	if pending == 0 && lost == 0 && drops == 0 && marker == nil {
		// Every event is written or its loss recorded: the run is clean.
		if err := w.s.markClean(ctx, w.row); err != nil {
			// The next start finds nothing unrecorded, and says nothing.
			w.log.Warn("audit writer: the clean stop could not be recorded", "err", err)
			w.rfile.finish(runLossy)
		} else {
			w.rfile.finish(runClean)
		}
		return nil
	}
	w.rfile.finish(runLossy)
	if lastErr == nil {
		lastErr = ctx.Err()
	}
	unrecorded := ""
	if marker != nil {
		unrecorded = " (nor the record of the previous run's: " + marker.Detail + ")"
	}
	err := fmt.Errorf("close audit writer: %d audit events not written and %d dropped, with no record of the loss in the database%s; the next start records it: %w",
		pending+lost, drops, unrecorded, lastErr)
	w.mu.Lock()
	w.closeErr = err
	w.mu.Unlock()
	return err
}

// Stats returns the writer's counters and health.
func (w *AuditWriter) Stats() AuditStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return AuditStats{
		Queued:       uint64(len(w.queue) + w.inflight),
		Written:      w.written,
		Unwritten:    w.unwritten,
		Dropped:      w.dropped,
		Batches:      w.batches,
		Err:          w.lastErr,
		FailingSince: w.failingSince,
	}
}

// run is the writer goroutine.
func (w *AuditWriter) run() {
	defer close(w.done)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	var since time.Time // when the writer first saw the events now waiting
	for {
		w.mu.Lock()
		n, closed := len(w.queue), w.closed
		notes := w.drops > 0 || w.lost > 0 || w.marker != nil
		urgent := closed || w.flushing > 0 || n >= w.soon || w.drops > 0 || w.marker != nil
		failing := w.lastErr != nil
		w.mu.Unlock()
		if n == 0 && !notes {
			if closed {
				return
			}
			since = time.Time{}
			select {
			case <-w.kick:
			case <-w.ctx.Done():
				return
			}
			continue
		}
		if since.IsZero() {
			since = time.Now()
		}
		wait := w.flushEvery - time.Since(since)
		if urgent {
			wait = 0
		}
		if failing && !closed {
			// Writes fail: give the database a rest, whatever waits.
			wait = time.Until(w.retryAt)
		}
		if wait > 0 {
			timer.Reset(wait)
			select {
			case <-w.kick:
				timer.Stop()
				continue // look again: many events, a Flush or Close
			case <-timer.C:
			case <-w.ctx.Done():
				return
			}
		}
		since = time.Time{}
		ok, gaveUp := w.writeQueued()
		if !ok {
			return
		}
		if gaveUp && closed {
			// Closing, and writes fail: do not wait for the database.
			w.giveUpQueued()
			return
		}
	}
}

// takenNotes are the records of losses a transaction carries.
type takenNotes struct {
	drops     uint64
	firstDrop time.Time
	lost      uint64
	firstLost time.Time
	lostErr   error
	marker    *Event
}

// takeNotes takes the losses not yet recorded; the caller holds mu.
func (w *AuditWriter) takeNotes() takenNotes {
	n := takenNotes{drops: w.drops, firstDrop: w.firstDrop, lost: w.lost, firstLost: w.firstLost, lostErr: w.lostErr, marker: w.marker}
	w.drops, w.lost, w.lostErr, w.marker = 0, 0, nil, nil
	return n
}

// putBack returns notes whose transaction failed; the caller holds mu.
func (w *AuditWriter) putBack(n takenNotes) {
	if n.drops > 0 {
		w.drops += n.drops
		w.firstDrop = n.firstDrop // earlier than any drop since
	}
	if n.lost > 0 {
		w.lost += n.lost
		w.firstLost = n.firstLost
		if w.lostErr == nil {
			w.lostErr = n.lostErr
		}
	}
	if n.marker != nil {
		w.marker = n.marker
	}
}

// records are the events that record n's losses.
func (w *AuditWriter) records(n takenNotes) []Event {
	var out []Event
	if n.marker != nil {
		out = append(out, *n.marker)
	}
	if n.drops > 0 {
		out = append(out, w.own(Event{Time: n.firstDrop, Kind: "dropped", Count: int64(n.drops),
			Detail: fmt.Sprintf("%d audit events dropped: the audit queue was full", n.drops)}))
	}
	if n.lost > 0 {
		out = append(out, w.own(Event{Time: n.firstLost, Kind: "unwritten", Count: int64(n.lost),
			Detail: fmt.Sprintf("%d audit events not written: %v", n.lost, n.lostErr)}))
	}
	return out
}

// own names the policy in force on a record the writer makes.
func (w *AuditWriter) own(ev Event) Event {
	if w.policy != nil {
		ev.PolicyID, ev.PolicyRevision = w.policy()
	}
	return ev
}

// writeQueued takes everything queued and writes it in transactions of at
// most maxBatch events, the first also carrying the records of losses not
// yet recorded. A transaction that fails (after its attempts) is given up:
// its events are counted as unwritten, and the rest go back to the head of
// the queue for the next round — or, for an error that waiting does not
// mend, are given up with it. ok is false if the writer was aborted.
func (w *AuditWriter) writeQueued() (ok, gaveUp bool) {
	w.mu.Lock()
	batch := w.queue
	w.queue, w.spare = w.spare[:0], nil
	w.inflight = len(batch)
	w.mu.Unlock()

	for i := 0; i == 0 || i < len(batch); i += maxBatch {
		chunk := batch[i:min(i+maxBatch, len(batch))]
		var notes takenNotes
		if i == 0 {
			w.mu.Lock()
			notes = w.takeNotes()
			w.mu.Unlock()
		}
		recs := w.records(notes)
		if len(chunk) == 0 && len(recs) == 0 {
			break
		}
		// The row as it will be once this commits.
		row := w.row
		row.Accounted += uint64(len(chunk)) + notes.lost
		row.Dropped += notes.drops
		err := w.write(chunk, recs, &row)
		w.mu.Lock()
		switch {
		case err == nil:
			w.row = row
			w.inflight -= len(chunk)
			w.written += uint64(len(chunk))
			w.batches++
			w.recovered()
		case w.ctx.Err() != nil: // aborted: Close counts what is left
			w.putBack(notes)
			w.mu.Unlock()
			return false, false
		case lasting(err):
			// The rest of the batch would fail alike: give it all up.
			w.putBack(notes)
			w.inflight -= len(batch) - i
			w.giveUp(batch[i:], err)
			gaveUp = true
		default:
			w.putBack(notes)
			w.inflight -= len(chunk)
			w.giveUp(chunk, err)
			// The rest waits for the next round, first in line.
			rest := batch[i+len(chunk):]
			w.inflight -= len(rest)
			w.queue = append(append(make([]Event, 0, len(rest)+len(w.queue)), rest...), w.queue...)
			gaveUp = true
		}
		close(w.progress)
		w.progress = make(chan struct{})
		w.mu.Unlock()
		if gaveUp {
			break
		}
	}
	clear(batch) // drop references to the events' strings
	w.mu.Lock()
	w.spare = batch[:0]
	w.mu.Unlock()
	return true, gaveUp
}

// giveUp counts evs as lost to err; the caller holds mu.
func (w *AuditWriter) giveUp(evs []Event, err error) {
	n := uint64(len(evs))
	w.unwritten += n
	if n > 0 {
		if w.lost == 0 {
			w.firstLost = evs[0].Time
		}
		w.lost += n
		w.lostErr = err
	}
	w.retryAt = time.Now().Add(w.backoff)
	w.backoff = min(2*w.backoff, maxBackoff)
}

// giveUpQueued gives up what is still queued (Close, with writes failing).
func (w *AuditWriter) giveUpQueued() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.giveUp(w.queue, w.lastErr)
	clear(w.queue)
	w.queue = w.queue[:0]
	close(w.progress)
	w.progress = make(chan struct{})
}

// recovered notes a commit; the caller holds mu.
func (w *AuditWriter) recovered() {
	if w.lastErr == nil {
		return
	}
	w.log.Warn("audit events are written again", "failing_since", w.failingSince,
		"lost_meanwhile", w.unwritten+w.dropped-w.failLost)
	w.lastErr, w.failingSince, w.backoff = nil, time.Time{}, minBackoff
}

// failed notes a failed attempt, and logs it at Error level at most every
// failLogEvery.
func (w *AuditWriter) failed(err error) {
	w.mu.Lock()
	if w.lastErr == nil {
		w.failingSince = time.Now()
		w.failLost = w.unwritten + w.dropped
	}
	w.lastErr = err
	since, lost, queued := w.failingSince, w.unwritten+w.dropped-w.failLost, len(w.queue)+w.inflight
	w.mu.Unlock()
	if time.Since(w.lastFailLog) < failLogEvery {
		return
	}
	w.lastFailLog = time.Now()
	w.log.Error("audit events are not being written; each one given up is counted (audit_unwritten) and recorded once writes work again",
		"failing_since", since, "lost_so_far", lost, "queued", queued, "err", err)
}

// write commits evs, recs and the audit_run row in one transaction,
// trying again after minBackoff, then twice as long, up to w.attempts
// tries (one for an error that waiting does not mend). It returns nil, the last error, or the
// writer's context's error if it was aborted.
func (w *AuditWriter) write(evs, recs []Event, row *runRow) error {
	backoff := minBackoff
	for attempt := 1; ; attempt++ {
		err := w.s.addEvents(w.ctx, row, evs, recs)
		if err == nil {
			return nil
		}
		if w.ctx.Err() != nil {
			return w.ctx.Err()
		}
		err = fmt.Errorf("write audit events to %s: %w%s", w.s.path, err, writeHint(err))
		w.failed(err)
		if attempt >= w.attempts || lasting(err) {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-w.ctx.Done():
			t.Stop()
			return w.ctx.Err()
		}
		backoff = min(2*backoff, maxBackoff)
	}
}
