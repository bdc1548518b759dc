package main

import (
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/endpointsecurity"
)

// The Endpoint Security adapter's translation: what an AUTH_EXEC message
// says, in the engine's terms (the seam's ExecFacts), so the engine reads
// nothing the kernel already reported. Platform-neutral, so it is tested
// on Linux; the client that delivers the messages is source_darwin.go.

// esExecFacts translates the exec in m, with argv as es_exec_arg gave it.
// The message has the process's real and effective group but not its
// supplementary groups: members gives the user's groups from the user
// database (nil: none added).
func esExecFacts(m *endpointsecurity.Message, argv []string, members func(uid uint32) []uint32) (enforcer.ExecFacts, error) {
	x := m.Exec
	if x == nil {
		return enforcer.ExecFacts{}, fmt.Errorf("event %d is not an exec", m.Event)
	}
	t := &x.Target
	exe := t.Executable
	if exe.PathTruncated {
		return enforcer.ExecFacts{}, errors.New("the kernel truncated the executable's path (longer than it reports)")
	}
	if exe.Path == "" {
		return enforcer.ExecFacts{}, errors.New("the exec message has no executable path")
	}
	st := exe.Stat
	task := &enforcer.Task{UID: t.Token.RUID, GIDs: []uint32{t.Token.RGID}, PPID: t.PPID}
	if t.Token.EGID != t.Token.RGID {
		task.GIDs = append(task.GIDs, t.Token.EGID)
	}
	if members != nil {
		for _, g := range members(t.Token.RUID) {
			if !slices.Contains(task.GIDs, g) {
				task.GIDs = append(task.GIDs, g)
			}
		}
	}
	if t.TTY != nil {
		task.TTY = t.TTY.Path
	}
	f := enforcer.ExecFacts{
		Path: exe.Path,
		Stat: &enforcer.FileStat{Dev: uint64(uint32(st.Dev)), Ino: st.Ino, Size: st.Size, MtimeNs: st.MtimeNs, CtimeNs: st.CtimeNs},
		Task: task,
		Args: slices.Clone(argv), HaveArgs: argv != nil,
	}
	if x.Cwd != nil && !x.Cwd.PathTruncated {
		f.Cwd = x.Cwd.Path
	}
	if t.CodesigningFlags&endpointsecurity.CSValid != 0 {
		f.TeamID, f.SigningID = t.TeamID, t.SigningID
		if t.CDHash != ([len(t.CDHash)]byte{}) {
			f.CDHash = hex.EncodeToString(t.CDHash[:])
		}
	}
	return f, nil
}

// esScriptFacts is the script of an exec started directly (./tool.sh):
// Endpoint Security reports one message whose target is the interpreter
// and whose script is the file, where fanotify holds both opens. Both are
// decided, as on Linux: the script as the program, with the same task,
// argv and cwd, and no signing ids (the kernel validates none for it).
// nil when the exec has no script.
func esScriptFacts(m *endpointsecurity.Message, interp enforcer.ExecFacts) (*enforcer.ExecFacts, error) {
	if m.Exec == nil || m.Exec.Script == nil {
		return nil, nil
	}
	sc := m.Exec.Script
	if sc.PathTruncated || sc.Path == "" {
		return nil, errors.New("the kernel truncated the script's path, or gave none")
	}
	st := sc.Stat
	f := interp
	f.Path = sc.Path
	f.Stat = &enforcer.FileStat{Dev: uint64(uint32(st.Dev)), Ino: st.Ino, Size: st.Size, MtimeNs: st.MtimeNs, CtimeNs: st.CtimeNs}
	f.TeamID, f.SigningID, f.CDHash = "", "", ""
	f.Args = slices.Clone(interp.Args) // the parts are decided apart
	if interp.Task != nil {
		t := *interp.Task
		t.GIDs = slices.Clone(t.GIDs)
		f.Task = &t
	}
	return &f, nil
}

// esJoint answers one AUTH_EXEC once each of its parts (the interpreter,
// and a script started directly) is decided: allowed only if every part
// is, cached only if every part may be and there is no script (the
// kernel's cache is keyed by the executable, here the interpreter, which
// would then run any other script unasked).
type esJoint struct {
	mu           sync.Mutex
	left         int
	allow, cache bool
	respond      func(allow, cache bool) error
}

func newESJoint(parts int, cacheable bool, respond func(allow, cache bool) error) *esJoint {
	return &esJoint{left: parts, allow: true, cache: cacheable, respond: respond}
}

// part records one part's answer; the last one answers the kernel.
func (j *esJoint) part(allow, cache bool) error {
	j.mu.Lock()
	if j.left <= 0 {
		j.mu.Unlock()
		return errors.New("endpoint security: more answers than parts")
	}
	j.left--
	j.allow = j.allow && allow
	j.cache = j.cache && cache
	done, a, c := j.left == 0, j.allow, j.cache
	j.mu.Unlock()
	if !done {
		return nil
	}
	return j.respond(a, c && a)
}

// esSignalVerdict decides an AUTH_SIGNAL: a signal to the daemon itself
// is refused unless launchd sends it (pid 1: `launchctl bootout`,
// `launchctl kill`, shutdown — the documented ways to stop or reload it)
// or the daemon does; signals to other processes are none of its business.
// toSelf says the daemon was the target (the attempt is recorded).
func esSignalVerdict(m *endpointsecurity.Message, self int32) (allow, toSelf bool) {
	sg := m.Signal
	if sg == nil || sg.Target.Token.PID != self {
		return true, false
	}
	from := m.Process.Token.PID
	return from == 1 || from == self, true
}

// darwinSignals names macOS's signal numbers (they differ from Linux's).
var darwinSignals = map[int32]string{1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 6: "SIGABRT", 9: "SIGKILL", 15: "SIGTERM",
	17: "SIGSTOP", 18: "SIGTSTP", 19: "SIGCONT", 30: "SIGUSR1", 31: "SIGUSR2"}

// esTamper is the record of a signal to the daemon.
func esTamper(m *endpointsecurity.Message, refused bool) enforcer.TamperAttempt {
	what := fmt.Sprintf("signal %d", m.Signal.Sig)
	if n, ok := darwinSignals[m.Signal.Sig]; ok {
		what += " (" + n + ")"
	}
	p := m.Process
	return enforcer.TamperAttempt{PID: p.Token.PID, UID: p.Token.RUID, Program: p.Executable.Path, What: what, Refused: refused}
}

// memberGroups caches the user database's groups of each uid for a
// minute (a lookup may ask Directory Services).
type memberGroups struct {
	mu  sync.Mutex
	m   map[uint32]memberEntry
	now func() time.Time
	get func(uid uint32) []uint32
}

type memberEntry struct {
	gids []uint32
	at   time.Time
}

func newMemberGroups(get func(uid uint32) []uint32) *memberGroups {
	return &memberGroups{m: map[uint32]memberEntry{}, now: time.Now, get: get}
}

func (c *memberGroups) of(uid uint32) []uint32 {
	now := c.now()
	c.mu.Lock()
	e, ok := c.m[uid]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < time.Minute {
		return e.gids
	}
	gids := c.get(uid)
	c.mu.Lock()
	if len(c.m) > 4096 {
		clear(c.m)
	}
	c.m[uid] = memberEntry{gids, now}
	c.mu.Unlock()
	return gids
}
