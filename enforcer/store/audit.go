package store

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

const (
	// maxBatch bounds the events written in one transaction.
	maxBatch = 2048
	// writeSoon is how many waiting events make the writer write at once
	// instead of waiting out flushEvery for more.
	writeSoon = 256
	// Backoff between attempts after a failed write.
	minBackoff = 50 * time.Millisecond
	maxBackoff = 5 * time.Second
)

// AuditWriter takes audit events from the hot path and writes them to the
// store in batches from one goroutine.
//
// Enqueue never blocks and never does I/O: when the queue is full the event
// is dropped, counted, and the count is itself written as a "dropped"
// event (timed at the first loss it counts), so no loss is silent. The
// queue bound covers every event not yet committed, including a batch being
// written or retried after an error, so memory stays bounded while the
// database is failing. Events commit in the order Enqueue accepted them.
type AuditWriter struct {
	s          *Store
	limit      int
	soon       int // this many waiting events are written at once
	flushEvery time.Duration

	kick   chan struct{} // capacity 1: wakes the writer
	ctx    context.Context
	cancel context.CancelFunc // aborts the writer (Close's deadline passed)
	done   chan struct{}      // closed when the writer has returned

	mu        sync.Mutex
	queue     []Event // accepted, not yet taken by the writer
	spare     []Event // the writer's last batch, emptied, for reuse
	inflight  int     // events taken by the writer, not yet committed
	drops     uint64  // dropped since the last "dropped" event was taken
	firstDrop time.Time
	accepted  uint64 // events ever accepted; they commit in this order
	written   uint64 // of those, committed
	dropped   uint64
	batches   uint64
	flushing  int           // Flush calls waiting: write without waiting for more
	closed    bool          // Enqueue refuses; the writer drains and returns
	progress  chan struct{} // closed and replaced after each commit
	lastErr   error         // of the last write, nil once one succeeds
}

// AuditStats are an AuditWriter's counters.
type AuditStats struct {
	Queued  uint64 // events waiting now, including a batch being written
	Written uint64 // events committed (not counting "dropped" records)
	Dropped uint64 // events refused because the queue was full (not after Close)
	Batches uint64 // transactions committed
}

// NewAuditWriter starts a writer of at most queue waiting events (at least
// 1) to s. A few waiting events are written after at most about flushEvery,
// to share a transaction with those that follow; many are written at once.
// flushEvery <= 0 writes every event as soon as it comes. Close the writer
// before s.
func NewAuditWriter(s *Store, queue int, flushEvery time.Duration) *AuditWriter {
	ctx, cancel := context.WithCancel(context.Background())
	w := &AuditWriter{
		s:          s,
		limit:      max(queue, 1),
		soon:       min(writeSoon, max(queue, 1)),
		flushEvery: flushEvery,
		kick:       make(chan struct{}, 1),
		ctx:        ctx,
		cancel:     cancel,
		done:       make(chan struct{}),
		progress:   make(chan struct{}),
	}
	go w.run()
	return w
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
// committed, or with an error when ctx is done first or the writer stopped.
func (w *AuditWriter) Flush(ctx context.Context) error {
	w.mu.Lock()
	target := w.accepted
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
		written, progress, lastErr := w.written, w.progress, w.lastErr
		w.mu.Unlock()
		if written >= target {
			return nil
		}
		select {
		case <-progress:
		case <-w.done:
			w.mu.Lock()
			written = w.written
			w.mu.Unlock()
			if written >= target {
				return nil
			}
			return fmt.Errorf("flush audit events: the writer stopped with %d of them unwritten", target-written)
		case <-ctx.Done():
			if lastErr != nil {
				return fmt.Errorf("flush audit events: %w (last write error: %v)", ctx.Err(), lastErr)
			}
			return fmt.Errorf("flush audit events: %w", ctx.Err())
		}
	}
}

// Close refuses further events, writes those queued and stops the writer.
// If ctx is done first it gives up, and says how many events were lost.
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
	lost, drops, lastErr := w.accepted-w.written, w.drops, w.lastErr
	w.mu.Unlock()
	if lost == 0 && drops == 0 {
		return nil
	}
	if lastErr == nil {
		lastErr = ctx.Err()
	}
	return fmt.Errorf("close audit writer: %d audit events not written (and %d dropped not recorded): %w", lost, drops, lastErr)
}

// Stats returns the writer's counters.
func (w *AuditWriter) Stats() AuditStats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return AuditStats{
		Queued:  uint64(len(w.queue) + w.inflight),
		Written: w.written,
		Dropped: w.dropped,
		Batches: w.batches,
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
		n, drops, closed := len(w.queue), w.drops, w.closed
		urgent := closed || w.flushing > 0 || n >= w.soon || drops > 0
		w.mu.Unlock()
		if n == 0 && drops == 0 {
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
		if wait := w.flushEvery - time.Since(since); !urgent && wait > 0 {
			// Few events: wait a little for more to share the transaction.
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
		if !w.writeQueued() {
			return
		}
	}
}

// writeQueued takes everything queued (and a "dropped" record if events
// were dropped) and writes it in transactions of at most maxBatch events,
// retrying each until it commits. It returns false if the writer was
// aborted.
func (w *AuditWriter) writeQueued() bool {
	w.mu.Lock()
	batch := w.queue
	w.queue, w.spare = w.spare[:0], nil
	real := len(batch) // accepted events; a "dropped" record may follow
	w.inflight = real
	if w.drops > 0 {
		batch = append(batch, Event{
			Time:   w.firstDrop,
			Kind:   "dropped",
			Count:  int64(w.drops),
			Detail: fmt.Sprintf("%d audit events dropped: the audit queue was full", w.drops),
		})
		w.drops = 0
	}
	w.mu.Unlock()

	for i := 0; i < len(batch); i += maxBatch {
		j := min(i+maxBatch, len(batch))
		if !w.write(batch[i:j]) {
			return false
		}
		n := min(j, real) - min(i, real)
		w.mu.Lock()
		w.inflight -= n
		w.written += uint64(n)
		w.batches++
		w.lastErr = nil
		close(w.progress)
		w.progress = make(chan struct{})
		w.mu.Unlock()
	}
	clear(batch) // drop references to the events' strings
	w.mu.Lock()
	w.spare = batch[:0]
	w.mu.Unlock()
	return true
}

// write stores evs, retrying with backoff until it succeeds or the writer
// is aborted (false).
func (w *AuditWriter) write(evs []Event) bool {
	backoff := minBackoff
	for {
		err := w.s.AddEvents(w.ctx, evs)
		if err == nil {
			return true
		}
		if w.ctx.Err() != nil {
			return false
		}
		w.mu.Lock()
		w.lastErr = err
		w.mu.Unlock()
		slog.Warn("audit events not written; retrying", "events", len(evs), "retry_in", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-w.ctx.Done():
			t.Stop()
			return false
		}
		backoff = min(2*backoff, maxBackoff)
	}
}
