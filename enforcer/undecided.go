package enforcer

import (
	"fmt"

	"github.com/gatehouse/gatehouse/enforcer/store"
)

// undecided records an exec that ran, or was killed, without a decision:
// the source's backstop saw it after the fact. It is an audit event of
// kind exec, with no rule (rule 0) and a detail that says why no decision
// was made and what became of the task. The engine cannot decide it now:
// the program has already started, or is dead.
func (e *Engine) undecided(u UndecidedExec) {
	e.counters.undecided.Add(1)
	what, action := "it ran (exec_backstop: audit)", "audit"
	if u.Killed {
		e.counters.undecidedKilled.Add(1)
		what, action = "killed by the exec backstop (exec_backstop: deny)", "deny"
	}
	e.record(store.Event{Kind: "exec", Action: action, Allowed: !u.Killed, UID: u.UID, User: e.users.userName(u.UID),
		PID: u.PID, Path: u.Filename,
		Detail: fmt.Sprintf("not decided: no mark holds %s (device %s, inode %d, program %q); %s", u.FS, u.Dev, u.Ino, u.Comm, what)})
}

// tamper records an attempt on the daemon itself (kind "tamper"),
// refused or let through.
func (e *Engine) tamper(a TamperAttempt) {
	e.counters.tamper.Add(1)
	action, verdict := "allow", "let through"
	if a.Refused {
		action, verdict = "deny", "refused"
	}
	e.record(store.Event{Kind: "tamper", Action: action, Allowed: !a.Refused, UID: a.UID, User: e.users.userName(a.UID),
		PID: a.PID, Path: a.Program, Detail: fmt.Sprintf("%s to gatehoused from process %d: %s", a.What, a.PID, verdict)})
}

// gaps returns what the source says it does not hold, if it can say.
func (e *Engine) gaps() []Gap {
	if b := e.source.Load(); b != nil {
		if g, ok := b.Source.(GapReporter); ok {
			return g.Gaps()
		}
	}
	return nil
}
