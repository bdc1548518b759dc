package enforcer

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"
)

// changeFeed lets agents wait for a change to the requests instead of
// polling: every stored change bumps a sequence number and wakes the
// waiters, who then list what they may see.
type changeFeed struct {
	mu   sync.Mutex
	seq  uint64
	wake chan struct{} // closed and replaced on every change
}

func newChangeFeed() *changeFeed { return &changeFeed{wake: make(chan struct{})} }

func (f *changeFeed) bump() {
	f.mu.Lock()
	f.seq++
	close(f.wake)
	f.wake = make(chan struct{})
	f.mu.Unlock()
}

// wait returns the sequence number once it differs from after, or when
// wait passes or ctx ends (then the current number, which may equal after).
// A number larger than the current one (from a daemon that has since
// restarted) counts as different.
func (f *changeFeed) wait(ctx context.Context, after uint64, wait time.Duration) uint64 {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		f.mu.Lock()
		seq, ch := f.seq, f.wake
		f.mu.Unlock()
		if seq != after {
			return seq
		}
		select {
		case <-ch:
		case <-t.C:
			return seq
		case <-ctx.Done():
			return seq
		}
	}
}

// changed tells waiting agents that requests changed.
func (e *Engine) changed() { e.changes.bump() }

func newBootID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
