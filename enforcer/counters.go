package enforcer

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

type counters struct {
	execs, cacheHits, cacheMisses       atomic.Uint64
	allowed, denied, grantsUsed         atomic.Uint64
	timeouts, internalErrors            atomic.Uint64
	auditDropped, requestsDropped       atomic.Uint64
	requestsCreated, requestsCoalesced  atomic.Uint64
	policyReloads, policyReloadFailures atomic.Uint64
	cacheEvictions, argsUnavailable     atomic.Uint64
	parentsPathsOnly                    atomic.Uint64
	undecided, undecidedKilled          atomic.Uint64 // execs no mark held, seen by the backstop
	decidedWithoutArgs                  atomic.Uint64
	decidedWithoutParents               atomic.Uint64
	tamper                              atomic.Uint64 // attempts on the daemon the source reported
	moves                               atomic.Uint64 // installs and deletes decided (file operations a rule asks about)
	programsRecorded, programsDropped   atomic.Uint64 // first sights recorded (programs.go), and dropped on a full queue
	programsChanged                     atomic.Uint64 // first sights not recorded: the file changed or went before its facts were read
	// Contents held for decisions on them (docs/enforcer.md): allowed
	// under a hold, denied as open for writing or on a filesystem that
	// cannot be held, decided as read there (unholdable_files: decide),
	// killed to let a writer in.
	contentHeld, contentBusy, contentUnheld atomic.Uint64
	contentAsRead, contentKilled            atomic.Uint64
	latency                                 latencyRing
}

// latencyRing keeps the last decision latencies for p50/p99 in status.
type latencyRing struct {
	mu   sync.Mutex
	buf  [4096]time.Duration
	n    int
	next int
}

func (r *latencyRing) observe(d time.Duration) {
	r.mu.Lock()
	r.buf[r.next] = d
	r.next = (r.next + 1) % len(r.buf)
	if r.n < len(r.buf) {
		r.n++
	}
	r.mu.Unlock()
}

// quantiles returns p50 and p99 of the recorded latencies.
func (r *latencyRing) quantiles() (p50, p99 time.Duration) {
	r.mu.Lock()
	s := append([]time.Duration(nil), r.buf[:r.n]...)
	r.mu.Unlock()
	if len(s) == 0 {
		return 0, 0
	}
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2], s[len(s)*99/100]
}

func (e *Engine) counterMap() map[string]uint64 {
	c := &e.counters
	p50, p99 := c.latency.quantiles()
	audit := e.audit.Stats()
	m := map[string]uint64{
		"execs":                   c.execs.Load(),
		"cache_hits":              c.cacheHits.Load(),
		"cache_misses":            c.cacheMisses.Load(),
		"cache_entries":           uint64(e.cache.len()),
		"cache_evictions":         c.cacheEvictions.Load(),
		"args_unavailable":        c.argsUnavailable.Load(),
		"parents_paths_only":      c.parentsPathsOnly.Load(),
		"decided_without_args":    c.decidedWithoutArgs.Load(),
		"decided_without_parents": c.decidedWithoutParents.Load(),
		"allowed":                 c.allowed.Load(),
		"denied":                  c.denied.Load(),
		"grants_used":             c.grantsUsed.Load(),
		"grants_active":           uint64(e.grants.len()),
		"budget_timeouts":         c.timeouts.Load(),
		"internal_errors":         c.internalErrors.Load(),
		"audit_queued":            audit.Queued,
		"audit_written":           audit.Written,
		"audit_unwritten":         audit.Unwritten,
		"audit_dropped":           c.auditDropped.Load(),
		"requests_created":        c.requestsCreated.Load(),
		"requests_coalesced":      c.requestsCoalesced.Load(),
		"requests_dropped":        c.requestsDropped.Load(),
		"policy_reloads":          c.policyReloads.Load(),
		"policy_reload_failures":  c.policyReloadFailures.Load(),
		"undecided_execs":         c.undecided.Load(),
		"undecided_killed":        c.undecidedKilled.Load(),
		"content_held":            c.contentHeld.Load(),
		"content_busy":            c.contentBusy.Load(),
		"content_unheld":          c.contentUnheld.Load(),
		"content_as_read":         c.contentAsRead.Load(),
		"content_killed":          c.contentKilled.Load(),
		"tamper_attempts":         c.tamper.Load(),
		"moves":                   c.moves.Load(),
		"programs_recorded":       c.programsRecorded.Load(),
		"programs_dropped":        c.programsDropped.Load(),
		"programs_changed":        c.programsChanged.Load(),
		"decision_p50_ns":         uint64(p50),
		"decision_p99_ns":         uint64(p99),
	}
	if e.content != nil {
		m["content_files_held"] = uint64(e.content.held())
	}
	return m
}
