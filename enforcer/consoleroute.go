package enforcer

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/request"
)

// consoleContact is what the sync service last told the daemon: when it
// last reached the console and which requests it has uploaded there. It is
// kept in memory only: after a restart the sync says it again at its next
// contact, and until then a request waits console_fallback before it
// falls back, as it would with the console away.
type consoleContact struct {
	mu       sync.Mutex
	last     time.Time
	uploaded map[int64]bool
}

// ConsoleReached records, for the sync service, that it reached the
// console just now and that the requests uploaded are there.
func (e *Engine) ConsoleReached(ctx context.Context, a Actor, uploaded []int64) error {
	if err := authorize(a, OpConsoleReport, 0); err != nil {
		return err
	}
	if len(uploaded) > maxReported {
		return invalid("at most %d request ids at a time", maxReported)
	}
	c := &e.contact
	c.mu.Lock()
	defer c.mu.Unlock()
	c.last = e.now()
	if c.uploaded == nil {
		c.uploaded = map[int64]bool{}
	}
	for _, id := range uploaded {
		c.uploaded[id] = true
	}
	// Forget what can no longer matter: the map stays about as big as the
	// open requests the sync lists.
	if len(c.uploaded) > 4*maxReported {
		clear(c.uploaded)
		for _, id := range uploaded {
			c.uploaded[id] = true
		}
	}
	return nil
}

// maxReported bounds one ConsoleReached call's request ids.
const maxReported = 10000

// ApprovalRoute says where approval_offline request r goes: "" for any
// other kind, or on a machine not enrolled with a console (the offline
// codes, as before there was a console); request.RouteConsole while the console
// answers; request.RouteOffline when the sync has not reached the console for
// console_fallback (a request still open), or r was submitted that long
// ago and is still not on the console.
func (e *Engine) ApprovalRoute(r store.Request) string {
	if r.Kind != request.ApprovalOffline || r.RequestCode == "" {
		return ""
	}
	if _, err := os.Stat(e.cfg.consolePath()); err != nil {
		return ""
	}
	now, wait := e.now(), e.cfg.ConsoleFallback.D()
	c := &e.contact
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case r.State == request.Submitted && c.uploaded[r.ID]:
		return request.RouteConsole
	case r.State == request.Submitted:
		if now.Sub(r.Updated) < wait {
			return request.RouteConsole // still trying
		}
		return request.RouteOffline
	case !c.last.IsZero() && now.Sub(c.last) < wait:
		return request.RouteConsole
	}
	return request.RouteOffline
}
