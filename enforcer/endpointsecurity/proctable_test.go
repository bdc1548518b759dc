package endpointsecurity

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func proc(pid int32, ver uint32, exe string) Process {
	return Process{Token: AuditToken{PID: pid, PIDVersion: ver}, Executable: File{Path: exe}}
}

func fork(parent, child Process) *Message {
	child.PPID = parent.Token.PID
	return &Message{Version: 7, Action: ActionNotify, Event: NotifyFork, Process: parent, ForkChild: &child}
}

func execd(p Process, exe string) *Message {
	t := p
	t.Executable.Path = exe
	t.Token.PIDVersion++
	return &Message{Version: 7, Action: ActionNotify, Event: NotifyExec, Process: p, Exec: &Exec{Target: t}}
}

func exit(p Process) *Message {
	return &Message{Version: 7, Action: ActionNotify, Event: NotifyExit, Process: p}
}

func TestProcTableKeepsTheParentChain(t *testing.T) {
	pt := NewProcTable()
	pt.Seed(1, 0, 1, "/sbin/launchd")
	pt.Seed(400, 1, 1, "/System/Applications/Utilities/Terminal.app/Contents/MacOS/Terminal")
	term := proc(400, 1, "/System/Applications/Utilities/Terminal.app/Contents/MacOS/Terminal")

	// Terminal forks; the child execs login, which forks and execs zsh.
	child := proc(500, 1, term.Executable.Path)
	pt.Apply(fork(term, child))
	pt.Apply(execd(child, "/usr/bin/login"))
	login := proc(500, 2, "/usr/bin/login")
	sh := proc(501, 1, "/usr/bin/login")
	pt.Apply(fork(login, sh))
	pt.Apply(execd(sh, "/bin/zsh"))
	zsh := proc(501, 2, "/bin/zsh")
	// zsh forks the command about to be exec'd (the AUTH_EXEC's process).
	cmd := proc(502, 1, "/bin/zsh")
	pt.Apply(fork(zsh, cmd))
	// An AUTH_EXEC changes nothing: it may be denied.
	pt.Apply(&Message{Version: 7, Action: ActionAuth, Event: AuthExec, Process: cmd, Exec: &Exec{Target: proc(502, 2, "/usr/local/bin/tool")}})

	chain, ok := pt.Ancestors(502, 32)
	want := []Ancestor{{501, "/bin/zsh"}, {500, "/usr/bin/login"}, {400, term.Executable.Path}, {1, "/sbin/launchd"}}
	if !ok || !cmp.Equal(want, chain) {
		t.Errorf("chain %v (known %v), want %v", chain, ok, want)
	}
	if exe, ok := pt.Exe(501); !ok || exe != "/bin/zsh" {
		t.Errorf("Exe(501) = %q, %v: the exec did not change what it runs", exe, ok)
	}
	if chain, _ := pt.Ancestors(502, 2); len(chain) != 2 {
		t.Errorf("max 2 gave %d", len(chain))
	}

	// zsh exits: the command's chain stops there (its parent is unknown).
	pt.Apply(exit(zsh))
	if chain, ok := pt.Ancestors(502, 32); !ok || len(chain) != 0 {
		t.Errorf("after its parent's exit: %v, %v", chain, ok)
	}
	// A stale exit (an older pidversion of a reused pid) removes nothing.
	pt.Apply(fork(login, proc(501, 9, "/usr/bin/login")))
	pt.Apply(exit(proc(501, 2, "/bin/zsh")))
	if _, ok := pt.Parent(501); !ok {
		t.Error("an exit of an earlier process with the same pid removed the new one")
	}
	if _, ok := pt.Ancestors(999, 32); ok {
		t.Error("an unknown pid has a chain")
	}
}

func TestProcTableSurvivesLoopsAndBounds(t *testing.T) {
	pt := NewProcTable()
	pt.Seed(10, 11, 1, "/a")
	pt.Seed(11, 10, 1, "/b") // a loop no kernel makes
	if chain, ok := pt.Ancestors(10, 32); !ok || len(chain) != 1 {
		t.Errorf("loop: %v", chain)
	}
	pt.max = 100
	for i := range int32(200) {
		pt.Apply(fork(proc(1, 1, "/sbin/launchd"), proc(1000+i, 1, fmt.Sprint("/p", i))))
	}
	if pt.Len() > 100 {
		t.Errorf("table grew to %d, max 100", pt.Len())
	}
}

func TestProcTableKnowsEachProcesssSignature(t *testing.T) {
	pt := NewProcTable()
	pt.Seed(300, 1, 0, "/Applications/Gatehouse.app/Contents/MacOS/gatehouse-agent")
	if _, _, _, ok := pt.Signature(300, 0); ok {
		t.Error("a seeded process (no message yet) has a signature")
	}
	launchd := proc(1, 1, "/sbin/launchd")
	child := proc(600, 1, "/sbin/launchd")
	pt.Apply(fork(launchd, child))
	agent := child
	agent.Executable.Path, agent.Token.PIDVersion = "/Applications/Gatehouse.app/Contents/MacOS/gatehouse-agent", 2
	agent.CodesigningFlags, agent.TeamID, agent.SigningID = CSValid, "GHTEAM0001", "com.gatehouse.agent"
	pt.Apply(&Message{Version: 7, Action: ActionNotify, Event: NotifyExec, Process: child, Exec: &Exec{Target: agent}})
	exe, team, sid, ok := pt.Signature(600, 2)
	if !ok || exe != agent.Executable.Path || team != "GHTEAM0001" || sid != "com.gatehouse.agent" {
		t.Errorf("Signature(600, 2) = %q %q %q %v", exe, team, sid, ok)
	}
	// The pid at another version (the agent gone, the pid reused) is not it.
	if _, _, _, ok := pt.Signature(600, 1); ok {
		t.Error("an earlier process on the same pid passes for the agent")
	}
	// A signature the kernel did not validate is not kept.
	forged := agent
	forged.Token.PIDVersion, forged.CodesigningFlags = 3, 0
	pt.Apply(&Message{Version: 7, Action: ActionNotify, Event: NotifyExec, Process: agent, Exec: &Exec{Target: forged}})
	if _, team, sid, ok := pt.Signature(600, 3); !ok || team != "" || sid != "" {
		t.Errorf("an unvalidated signature: %q %q %v", team, sid, ok)
	}
}

func TestParseAuditToken(t *testing.T) {
	b := make([]byte, 32)
	for i, v := range []uint32{501, 0, 20, 501, 20, 4242, 100009, 7} {
		le.PutUint32(b[4*i:], v)
	}
	got, err := ParseAuditToken(b)
	want := AuditToken{AUID: 501, EUID: 0, EGID: 20, RUID: 501, RGID: 20, PID: 4242, ASID: 100009, PIDVersion: 7}
	if err != nil || got != want {
		t.Errorf("ParseAuditToken = %+v, %v", got, err)
	}
	if _, err := ParseAuditToken(b[:31]); err == nil {
		t.Error("a short token parsed")
	}
}
