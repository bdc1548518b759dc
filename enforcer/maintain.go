package enforcer

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/enforcer/store"
)

// maintain expires requests, drops dead grants and prunes old audit events.
func (e *Engine) maintain(ctx context.Context) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		e.maintainOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (e *Engine) maintainOnce(ctx context.Context) {
	now := e.now()
	e.grants.prune(now)
	e.syncSessions(ctx)
	e.pruneSudoers(ctx)
	if ttl := e.cfg.RequestTTL.D(); ttl > 0 {
		expired, err := e.store.ExpireRequests(ctx, now.Add(-ttl))
		if err != nil && ctx.Err() == nil {
			e.log.Warn("expire requests", "err", err)
		}
		if len(expired) > 0 {
			e.changed()
		}
		for _, r := range expired {
			e.requests.closed(r)
			e.record(requestEvent(r, store.Event{Detail: "expired unanswered after " + ttl.String()}))
		}
	}
	if keep := e.cfg.Retention.D(); keep > 0 {
		n, err := e.store.Prune(ctx, now.Add(-keep))
		if err != nil && ctx.Err() == nil {
			e.log.Warn("prune audit events", "err", err)
		} else if n > 0 {
			e.log.Info("audit events pruned", "count", n, "older_than", keep)
		}
	}
}
