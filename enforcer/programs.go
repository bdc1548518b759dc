package enforcer

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/facts"
	"github.com/gatehouse/gatehouse/policy"
)

// The first time a program runs (by SHA-256: once per contents, on this
// machine, across restarts) the engine records all of its facts — SHA-1,
// the code signature, the download source, whether users could write its
// folder — with the exec's user, groups and parent chain, as a "program"
// audit event; and the facts of each program of that chain it has not
// recorded yet. Decisions gather only what the policy looks at, and many
// execs are never recorded (allows with audit: false, those the kernel
// answers from its cache), so without these the console could not replay
// a draft policy that looks at more (what-if).
//
// Only the user and the parent chain are read before the exec is answered
// (once per program, ~110 µs: a denied exec's process is gone right after
// the answer); the job is then handed over without waiting (a full queue drops it, and the program is
// tried again at its next exec), and one goroutine gathers the facts,
// reopening the file by its path and keeping them only if it is still the
// file the exec ran (same identity and SHA-256).

const (
	// programQueue bounds the first sights waiting for their facts.
	programQueue = 1024
	// programsKept bounds the programs remembered as recorded (32 bytes
	// each, about 3 MB at the bound; a machine runs a few thousand). Past
	// it no more are recorded until the daemon restarts with fewer.
	programsKept = 100000
)

// programs is the set of programs recorded, and the queue of first sights.
type programs struct {
	mu   sync.RWMutex
	seen map[[32]byte]struct{}
	full bool // programsKept reached (logged once)
	jobs chan programJob
	// gate is held by a test to keep the worker from a job it took.
	gate sync.Mutex
}

// programJob is a first sight: the exec's facts as decided, for the worker
// to complete.
type programJob struct {
	ev   store.Event // Kind "program", with the exec's decision, user and parents
	st   fileStat
	subj policy.Subject // the facts the decision gathered (type, SHA-256, kernel signing ids)
	anc  []Ancestor     // the parent chain read at the exec; nil if it could not be
}

func newPrograms(seen []string) *programs {
	p := &programs{seen: make(map[[32]byte]struct{}, len(seen)), jobs: make(chan programJob, programQueue)}
	for _, h := range seen {
		if k, ok := programKey(h); ok {
			p.seen[k] = struct{}{}
		}
	}
	return p
}

func programKey(sha256 string) (k [32]byte, ok bool) {
	if len(sha256) != 64 {
		return k, false
	}
	_, err := hex.Decode(k[:], []byte(sha256))
	return k, err == nil
}

// first marks sha256 seen and reports whether it was not before.
func (p *programs) first(sha256 string) bool {
	k, ok := programKey(sha256)
	if !ok {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.seen[k]; ok || p.full {
		return false
	}
	if len(p.seen) >= programsKept {
		p.full = true
		return false
	}
	p.seen[k] = struct{}{}
	return true
}

// unseen reports whether sha256 would be a first sight (without marking
// it).
func (p *programs) unseen(sha256 string) bool {
	k, ok := programKey(sha256)
	if !ok {
		return false
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	_, seen := p.seen[k]
	return !seen && !p.full
}

// forget unmarks sha256 (its facts were not recorded: try again).
func (p *programs) forget(sha256 string) {
	if k, ok := programKey(sha256); ok {
		p.mu.Lock()
		delete(p.seen, k)
		p.mu.Unlock()
	}
}

// sawProgram hands a program's first sight to the worker, never waiting.
// ev is the exec's record (its decision, user, groups and arguments), anc
// its parent chain, read before the answer.
func (e *Engine) sawProgram(ev store.Event, st fileStat, subj policy.Subject, anc []Ancestor) {
	if !e.programs.first(subj.SHA256) {
		return
	}
	ev.Kind = "program"
	if len(anc) > 0 {
		ev.Parents = ev.Parents[:0:0]
		for _, a := range anc {
			ev.Parents = append(ev.Parents, a.Exe)
		}
		ev.Parent = ev.Parents[0]
	}
	select {
	case e.programs.jobs <- programJob{ev: ev, st: st, subj: subj, anc: anc}:
	default:
		e.programs.forget(subj.SHA256)
		e.counters.programsDropped.Add(1)
	}
}

// recordPrograms gathers the facts of each first sight and records them.
func (e *Engine) recordPrograms(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-e.programs.jobs:
			e.programs.gate.Lock()
			e.programs.gate.Unlock()
			e.recordProgram(j)
		}
	}
}

func (e *Engine) recordProgram(j programJob) {
	s, ok := e.programFacts(j.ev.Path, j.st, j.subj)
	if !ok {
		// Replaced, changed or gone since the exec: its next exec (of
		// whatever it now holds) tries again.
		e.programs.forget(j.subj.SHA256)
		e.counters.programsChanged.Add(1)
		return
	}
	// The chain's programs not recorded yet (a shell, sshd, launchd: they
	// ran before the daemon, or their execs were answered from the cache).
	chain, _ := e.parentFacts(j.anc, facts.All)
	for _, p := range chain {
		if p.SHA256 == "" || !e.programs.first(p.SHA256) {
			continue
		}
		if p.Protection == policy.ProtectionUnknown {
			p.Protection, p.ProtectionDetail = facts.ProtectionOf(p.Path, nil, e.admins)
		}
		e.recordFacts(store.Event{Kind: "program", Time: j.ev.Time, Path: p.Path}, p)
	}
	e.recordFacts(j.ev, s)
}

// programFacts gathers every fact of the program at path, if it is still
// the file the exec ran.
func (e *Engine) programFacts(path string, st fileStat, subj policy.Subject) (policy.Subject, bool) {
	f, err := facts.OpenRead(path)
	if err != nil {
		return subj, false
	}
	defer f.Close()
	now, err := stat(f)
	if err != nil || now.key != st.key || now.stamp != st.stamp {
		return subj, false
	}
	s, err := e.fileFacts(f, path, facts.All)
	if err != nil || s.SHA256 != subj.SHA256 {
		return subj, false
	}
	if subj.TeamID != "" || subj.SigningID != "" { // the kernel's, as decided
		s.TeamID, s.SigningID = subj.TeamID, subj.SigningID
	}
	fi, _ := f.Stat()
	s.Protection, s.ProtectionDetail = facts.ProtectionOf(path, fi, e.admins)
	s.Type = subj.Type
	return s, true
}

// recordFacts records ev, a "program" event, with s's facts as its detail.
func (e *Engine) recordFacts(ev store.Event, s policy.Subject) {
	b, err := json.Marshal(policy.RecordOf(s))
	if err != nil {
		return
	}
	ev.SHA256, ev.AppType, ev.Source, ev.Detail = s.SHA256, s.Type.String(), s.Source, string(b)
	if ev.Time.IsZero() {
		ev.Time = e.now()
	}
	e.counters.programsRecorded.Add(1)
	e.record(ev)
}

// loadPrograms reads the programs already recorded (nil: program_facts is
// off).
func (e *Engine) loadPrograms() error {
	if !*e.cfg.ProgramFacts {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	seen, err := e.store.ProgramsSeen(ctx)
	if err != nil {
		return err
	}
	e.programs = newPrograms(seen)
	if len(seen) >= programsKept {
		e.log.Warn("programs recorded reached the bound; no more are recorded", "bound", programsKept)
	}
	return nil
}
