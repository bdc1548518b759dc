package enforcer

import (
	"context"
	"syscall"

	"github.com/gatehouse/gatehouse/policy"
)

// What the engine's external tests (package enforcer_test) may look at
// inside it.

// ArgsReaders is how many argv reads may be in flight.
const ArgsReaders = argsReaders

// Counter returns the status counter name.
func (e *Engine) Counter(name string) uint64 { return e.counterMap()[name] }

// PolicyRevision is the revision of the policy in force.
func (e *Engine) PolicyRevision() int64 { return e.pol.Load().eng.Revision() }

// CachedFacts returns the cached facts of the file with stat st.
func (e *Engine) CachedFacts(st *syscall.Stat_t) (policy.Subject, bool) {
	fs := statOf(st)
	return e.cache.get(fs.key, fs.stamp)
}

// PausePrograms keeps the worker recording programs' first sights from
// the next job it takes (true) until it is let go (false).
func (e *Engine) PausePrograms(pause bool) {
	if pause {
		e.programs.gate.Lock()
	} else {
		e.programs.gate.Unlock()
	}
}

// SyncSessions ends the admin sessions whose time is up now (the engine's
// clock), as its timer and its minute do.
func (e *Engine) SyncSessions() { e.syncSessions(context.Background()) }

// SeeAuthorization is what a source's Handler.AuthorizationSeen calls.
func (e *Engine) SeeAuthorization(a AuthorizationSeen) { e.authorizationSeen(a) }
