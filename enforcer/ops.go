package enforcer

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/request"
)

// This file holds the operations the engine offers its callers (the local
// API server, and through it the CLI, the agent, the sudo front-end and the
// console sync service). Each takes the Actor the kernel's credentials made
// and checks its right through authorize before anything else; each returns
// domain values and errors of the kinds in errors.go. None knows HTTP.

// Status is the daemon's state as the caller sees it.
type Status struct {
	Started        time.Time
	PolicyID       string
	PolicyRevision int64
	PolicyPath     string
	PolicyLoaded   time.Time
	// PolicyError is the error of the last failed load ("" when the last
	// load succeeded).
	PolicyError string
	// Source names the event source and Marks what it watches ("none"
	// before the engine runs).
	Source     string
	Marks      []string
	FailClosed bool
	Counters   map[string]uint64
	// Audit says whether audit events are being written.
	Audit AuditHealth
	// Gaps are the ways a program could start here without a decision,
	// open or closed, as the source reports them (none before it runs).
	Gaps []Gap
	// Caller is who the engine took the caller for.
	Caller Actor
	// Admin is the caller's admin session, for users (nil for root and
	// services).
	Admin *AdminStatus
}

// AuditHealth says whether the audit log is being written. While it is not,
// the daemon goes on deciding; the events it cannot write are counted
// (audit_unwritten, audit_dropped) and recorded once writes work again.
type AuditHealth struct {
	// OK is false while writes fail: since FailingSince, Error the last
	// failure (what was wrong, and what to do).
	OK           bool
	Error        string
	FailingSince time.Time
}

// Status returns the daemon's status.
func (e *Engine) Status(a Actor) (Status, error) {
	if _, err := authorizeAny(a, OpStatus); err != nil {
		return Status{}, err
	}
	return e.status(a), nil
}

func (e *Engine) status(a Actor) Status {
	lp := e.pol.Load()
	name, marks := "none", []string(nil)
	if b := e.source.Load(); b != nil {
		name, marks = b.Describe()
	}
	return Status{
		Started: e.started, PolicyID: lp.eng.ID(), PolicyRevision: lp.eng.Revision(), PolicyPath: lp.path,
		PolicyLoaded: lp.loaded, PolicyError: e.PolicyError(), Source: name, Marks: marks,
		FailClosed: e.cfg.FailClosed, Counters: e.counterMap(), Audit: e.auditHealth(), Gaps: e.gaps(), Caller: a,
		Admin: e.adminStatus(a),
	}
}

func (e *Engine) auditHealth() AuditHealth {
	st := e.audit.Stats()
	if st.Err == nil {
		return AuditHealth{OK: true}
	}
	return AuditHealth{Error: st.Err.Error(), FailingSince: st.FailingSince}
}

// ReloadAs loads the policy file again for a, and returns the status after.
// A policy that does not load is ErrInvalid (the previous one stays).
func (e *Engine) ReloadAs(a Actor) (Status, error) {
	if err := authorize(a, OpReload, 0); err != nil {
		return Status{}, err
	}
	if err := e.Reload(); err != nil {
		return Status{}, invalid("%s", err)
	}
	return e.status(a), nil
}

// maxEvents bounds one listing of audit events.
const maxEvents = 10000

// Events lists audit events. A caller who may read only their own gets
// those; asking for another user's is forbidden.
func (e *Engine) Events(ctx context.Context, a Actor, f store.Filter) ([]store.Event, error) {
	s, err := authorizeAny(a, OpReadEvents)
	if err != nil {
		return nil, err
	}
	if f.Limit < 0 || f.Limit > maxEvents {
		return nil, invalid("limit %d must be from 1 to %d", f.Limit, maxEvents)
	}
	if s == Own {
		if f.UID != nil && *f.UID != a.UID {
			return nil, forbidden("%s may read only their own events (uid %d), not uid %d's", a, a.UID, *f.UID)
		}
		uid := a.UID
		f.UID = &uid
	}
	return e.store.Events(ctx, f)
}

// Requests lists requests in any of states (all states when empty),
// newest first: the caller's own, or everyone's for those who may.
func (e *Engine) Requests(ctx context.Context, a Actor, states []request.State) ([]store.Request, error) {
	s, err := authorizeAny(a, OpReadRequests)
	if err != nil {
		return nil, err
	}
	for _, st := range states {
		if !st.Valid() {
			return nil, invalid("unknown state %q; use one of %v", st, request.States())
		}
	}
	f := store.RequestFilter{States: states}
	if s == Own {
		uid := a.UID
		f.UID = &uid
	}
	return e.store.ListRequests(ctx, f)
}

// Request returns request id.
func (e *Engine) Request(ctx context.Context, a Actor, id int64) (store.Request, error) {
	return e.ownRequest(ctx, a, OpReadRequests, id)
}

// MarkSeen records that the user's agent told the user about the request's
// current state; only the request's own user may say so.
func (e *Engine) MarkSeen(ctx context.Context, a Actor, id int64) (store.Request, error) {
	r, err := e.ownRequest(ctx, a, OpMarkSeen, id)
	if err != nil {
		return r, err
	}
	if err := e.store.MarkNotified(ctx, id); err != nil {
		return r, stateErr(err)
	}
	r.Notified = true
	return r, nil
}

// Changes is a point in the feed of request changes.
type Changes struct {
	// Seq counts changes since the daemon started.
	Seq uint64
	// Boot is random per daemon start: a new one means every request may
	// be new to the caller.
	Boot string
}

// MaxChangesWait bounds WaitChanges.
const MaxChangesWait = 50 * time.Second

// WaitChanges returns as soon as the requests changed after seq after, or
// when wait passes or ctx ends. It says only that something changed; the
// caller then lists what it may see.
func (e *Engine) WaitChanges(ctx context.Context, a Actor, after uint64, wait time.Duration) (Changes, error) {
	if _, err := authorizeAny(a, OpWaitChanges); err != nil {
		return Changes{}, err
	}
	if wait < 0 || wait > MaxChangesWait {
		return Changes{}, invalid("wait %v is not between 0s and %v", wait, MaxChangesWait)
	}
	return Changes{Seq: e.changes.wait(ctx, after, wait), Boot: e.boot}, nil
}

// Grants lists the active grants: the caller's own, or everyone's for
// those who may.
func (e *Engine) Grants(ctx context.Context, a Actor) ([]store.Grant, error) {
	s, err := authorizeAny(a, OpReadGrants)
	if err != nil {
		return nil, err
	}
	var uid *uint32
	if s == Own {
		uid = &a.UID
	}
	gs, err := e.store.Grants(ctx, uid)
	if err != nil {
		return nil, err
	}
	now := e.now()
	out := []store.Grant{}
	for _, g := range gs {
		if g.Revoked || g.UsesLeft == 0 || now.After(g.Expires) {
			continue
		}
		out = append(out, g)
	}
	return out, nil
}
