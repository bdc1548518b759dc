package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gatehouse/gatehouse/enforcer"
	es "github.com/gatehouse/gatehouse/enforcer/endpointsecurity"
	"github.com/gatehouse/gatehouse/facts"
	"github.com/gatehouse/gatehouse/internal/opendirectory"
)

// The macOS platform pieces: Endpoint Security as the event source
// (enforcer/endpointsecurity) and what the engine may still ask of the
// process table. Built and vetted here, not yet run on a Mac
// (docs/enforcer.md, "macOS").

// esSource holds AUTH_EXEC messages.
type esSource struct {
	log     *slog.Logger
	groups  *memberGroups
	targets []string // of the file client (esTargets); none: no file client

	mu     sync.Mutex
	client *es.Client
	done   chan struct{}
	once   sync.Once
}

func newSource(cfg enforcer.Config, log *slog.Logger) (enforcer.Source, error) {
	return &esSource{log: log, groups: newMemberGroups(enforcer.UserGroupIDs), targets: esTargets(cfg), done: make(chan struct{})}, nil
}

// Run implements enforcer.Source: the client exists while Run does, and
// each AUTH_EXEC goes to the engine; messages that do not decode are
// allowed by the client and counted.
func (s *esSource) Run(ctx context.Context, h enforcer.Handler) error {
	self := int32(os.Getpid())
	events := []es.EventType{es.AuthExec, es.AuthSignal, es.NotifyFork, es.NotifyExec, es.NotifyExit}
	c, err := es.Open(events, nil, func(ev *es.Event) {
		switch ev.Event {
		case es.AuthExec:
			s.exec(h, ev)
		case es.AuthSignal:
			// Tamper resistance: answered here, at once, and recorded
			// when aimed at the daemon.
			allow, toSelf := esSignalVerdict(&ev.Message, self)
			ev.Respond(allow, false)
			if toSelf && h.Tamper != nil {
				h.Tamper(esTamper(&ev.Message, !allow))
			}
		case es.NotifyLWSessionLogout, es.NotifyLWSessionLock:
			// A NOTIFY: nothing to answer. SessionEnded does not wait.
			if end, ok := esSessionEnd(&ev.Message); ok && h.SessionEnded != nil {
				h.SessionEnded(end)
			}
		case es.NotifyAuthorizationPetition, es.NotifyAuthorizationJudgement:
			// A NOTIFY, for the record only. AuthorizationSeen does not
			// block.
			if seen, ok := esAuthorizationSeen(&ev.Message); ok && h.AuthorizationSeen != nil {
				h.AuthorizationSeen(seen)
			}
		default:
			esProcs.Apply(&ev.Message)
		}
	})
	if err != nil {
		return err
	}
	defer c.Close()
	if h.SessionEnded != nil {
		// Apart from the events above: macOS 12 has no session events
		// and may refuse a subscription naming them, which must not
		// cost the exec client.
		if err := c.Subscribe(esSessionEvents); err != nil {
			s.log.Warn("admin sessions end at their time only; screen lock and logout are not seen before macOS 13", "err", err)
		}
	}
	if h.AuthorizationSeen != nil {
		// A call of its own: these need macOS 14, and a macOS 13 that
		// refused one call naming them with the session events would
		// lose those too.
		if err := c.Subscribe(esAuthEvents); err != nil {
			s.log.Warn("the system's own reports of authorization requests are not recorded before macOS 14; the authorization plugin's requests still are", "err", err)
		}
	}
	if len(s.targets) > 0 {
		// A client of its own: inverted target-path muting would mute
		// the execs of the first.
		fc, err := es.Open(esFileEvents, s.targets, func(ev *es.Event) { s.fileOp(h, ev) })
		if err != nil {
			return fmt.Errorf("file events for %v: %w", s.targets, err)
		}
		defer fc.Close()
	}
	// After subscribing, so a process started meanwhile is in one or the
	// other (Seed keeps what a message already put there).
	if n, err := seedProcs(esProcs); err != nil {
		s.log.Warn("the process table starts empty: parent chains of processes already running are unknown", "err", err)
	} else {
		s.log.Info("process table seeded", "processes", n)
	}
	s.mu.Lock()
	s.client = c
	s.mu.Unlock()
	select {
	case <-ctx.Done():
	case <-s.done:
	}
	return nil
}

// fileOp hands a file event to the engine; one it cannot use is allowed
// (the kernel's permissions decide) and logged.
func (s *esSource) fileOp(h enforcer.Handler, ev *es.Event) {
	f, err := esFileOpFacts(&ev.Message, s.groups.of)
	if err != nil || h.FileOp == nil {
		if err != nil {
			s.log.Warn("file message not usable; allowed", "err", err)
		}
		ev.Respond(true, false)
		return
	}
	h.FileOp(esFileOp{ev: ev, facts: f})
}

// esFileOp is a held file event.
type esFileOp struct {
	ev    *es.Event
	facts enforcer.FileOpFacts
}

func (o esFileOp) PID() int32                      { return o.ev.Process.Token.PID }
func (o esFileOp) Facts() enforcer.FileOpFacts     { return o.facts }
func (o esFileOp) Deadline() time.Time             { return o.ev.Deadline() }
func (o esFileOp) Respond(allow, cache bool) error { return o.ev.Respond(allow, false) }

// Close implements enforcer.Source.
func (s *esSource) Close() error {
	s.once.Do(func() { close(s.done) })
	return nil
}

// Describe implements enforcer.Source.
func (s *esSource) Describe() (string, []string) { return "endpoint security", []string{"/"} }

// FlushCache implements enforcer.CacheFlusher.
func (s *esSource) FlushCache() error {
	s.mu.Lock()
	c := s.client
	s.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.ClearCache()
}

// exec hands an AUTH_EXEC to the engine: the executable, and a script
// started directly as a second part (esexec.go); the kernel is answered
// once both are decided. A message the engine cannot use (a truncated
// path) goes with no path: the engine answers it as an internal error,
// by fail_closed.
func (s *esSource) exec(h enforcer.Handler, ev *es.Event) {
	interp, err := esExecFacts(&ev.Message, ev.Args(), s.groups.of)
	if err != nil {
		s.log.Warn("exec message not usable", "err", err)
		h.Exec(esExec{ev: ev, joint: newESJoint(1, false, ev.Respond)})
		return
	}
	if orig, ok := facts.OriginalPath(interp.Path); ok {
		interp.OriginalPath = orig
	}
	script, err := esScriptFacts(&ev.Message, interp)
	if err != nil {
		s.log.Warn("exec message not usable", "err", err)
		script = &enforcer.ExecFacts{}
	}
	if script == nil {
		h.Exec(esExec{ev: ev, facts: interp, joint: newESJoint(1, true, ev.Respond)})
		return
	}
	j := newESJoint(2, false, ev.Respond)
	h.Exec(esExec{ev: ev, facts: interp, joint: j})
	h.Exec(esExec{ev: ev, facts: *script, joint: j})
}

// esExec is one part of a held AUTH_EXEC.
type esExec struct {
	ev    *es.Event
	facts enforcer.ExecFacts
	joint *esJoint
}

func (x esExec) PID() int32                      { return x.ev.Exec.Target.Token.PID }
func (x esExec) Facts() enforcer.ExecFacts       { return x.facts }
func (x esExec) Deadline() time.Time             { return x.ev.Deadline() }
func (x esExec) Respond(allow, cache bool) error { return x.joint.part(allow, cache) }

// esProcs is the process table the source keeps from NOTIFY_FORK, EXEC
// and EXIT and the engine's Tasks read (newSource and newTasks are made
// apart).
var esProcs = es.NewProcTable()

// seedProcs records the processes running now: pid and parent from
// kern.proc.all, the executable's path from kern.procargs2.
func seedProcs(t *es.ProcTable) (int, error) {
	procs, err := unix.SysctlKinfoProcSlice("kern.proc.all")
	if err != nil {
		return 0, err
	}
	for _, p := range procs {
		pid := p.Proc.P_pid
		exe := ""
		if b, err := unix.SysctlRaw("kern.procargs2", int(pid)); err == nil && len(b) > 4 {
			if path, _, ok := bytes.Cut(b[4:], []byte{0}); ok {
				exe = string(path)
			}
		}
		t.Seed(pid, p.Eproc.Ppid, 0, exe)
	}
	return len(procs), nil
}

// darwinTasks is what the engine asks beyond the message: the parent
// chain, from the process table. The rest the message always carries.
type darwinTasks struct{ t *es.ProcTable }

var errInMessage = errors.New("on macOS this comes with the exec's message")

func newTasks() enforcer.Tasks { return darwinTasks{esProcs} }

// peerCode names a local API peer by its audit token from the process
// table: the executable and the signature the kernel validated at its exec.
func peerCode() enforcer.PeerCode { return esProcs.Signature }

// adminGroup is macOS's admin group through Directory Services: an admin
// session makes its user a member (docs/elevation.md). Without it sessions
// are sudo's alone, and that is logged.
func adminGroup(log *slog.Logger) enforcer.AdminGroup {
	g, err := opendirectory.New()
	if err != nil {
		log.Error("the admin group cannot be changed: admin sessions give sudo rights only, not the padlock's", "err", err)
		return nil
	}
	return g
}

func (darwinTasks) Task(int32) (enforcer.Task, error) { return enforcer.Task{}, errInMessage }
func (darwinTasks) ExecArgs(int32) ([]string, error)  { return nil, errInMessage }
func (darwinTasks) Cwd(int32) string                  { return "" }

// Ancestors implements enforcer.Tasks from the process table (the
// parent first).
func (d darwinTasks) Ancestors(pid int32, max int) ([]enforcer.Ancestor, error) {
	chain, ok := d.t.Ancestors(pid, max)
	if !ok {
		return nil, fmt.Errorf("process %d is not in the process table", pid)
	}
	out := make([]enforcer.Ancestor, len(chain))
	for i, a := range chain {
		out[i] = enforcer.Ancestor{PID: a.PID, Exe: a.Exe}
	}
	return out, nil
}

// OpenExe opens what the table says pid runs, by path (a regular file
// only).
func (d darwinTasks) OpenExe(pid int32) (*os.File, error) {
	exe, ok := d.t.Exe(pid)
	if !ok || exe == "" {
		return nil, fmt.Errorf("the executable of process %d is not known", pid)
	}
	return facts.OpenRead(exe)
}
