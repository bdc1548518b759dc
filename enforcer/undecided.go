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

// gaps returns what the source says it does not hold, if it can say, and
// the policy's install and delete rules when nothing here decides them.
func (e *Engine) gaps() []Gap {
	var out []Gap
	if b := e.source.Load(); b != nil {
		if g, ok := b.Source.(GapReporter); ok {
			out = g.Gaps()
		}
	}
	if n := e.pol.Load().eng.Needs(); (n.Install || n.Delete) && e.cfg.ApplicationsDir == "" {
		out = append(out, Gap{Name: "install_delete", Open: true,
			Detail: "the policy has install or delete rules, but no applications folder is watched here (Linux has none, and fanotify cannot hold renames or removals): every install and delete is let through",
			Fix:    "decide installs on Linux with rules for the installers (dpkg, apt, rpm); see docs/policy.md"})
	}
	return out
}
