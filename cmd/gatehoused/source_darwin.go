package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/enforcer"
	es "github.com/gatehouse/gatehouse/enforcer/endpointsecurity"
)

// The macOS platform pieces: Endpoint Security as the event source
// (enforcer/endpointsecurity) and what the engine may still ask of the
// process table. Built and vetted here, not yet run on a Mac
// (docs/enforcer.md, "macOS").

// esSource holds AUTH_EXEC messages.
type esSource struct {
	log *slog.Logger

	mu     sync.Mutex
	client *es.Client
	done   chan struct{}
	once   sync.Once
}

func newSource(cfg enforcer.Config, log *slog.Logger) (enforcer.Source, error) {
	return &esSource{log: log, done: make(chan struct{})}, nil
}

// Run implements enforcer.Source: the client exists while Run does, and
// each AUTH_EXEC goes to the engine; messages that do not decode are
// allowed by the client and counted.
func (s *esSource) Run(ctx context.Context, h enforcer.Handler) error {
	c, err := es.Open([]es.EventType{es.AuthExec}, func(ev *es.Event) {
		if ev.Event == es.AuthExec {
			h.Exec(esExec{ev})
		}
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.client = c
	s.mu.Unlock()
	select {
	case <-ctx.Done():
	case <-s.done:
	}
	return c.Close()
}

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

// esExec is a held AUTH_EXEC.
type esExec struct{ ev *es.Event }

func (x esExec) PID() int32 { return x.ev.Exec.Target.Token.PID }

// Facts implements enforcer.Exec. A message the engine cannot use (a
// truncated path) gives no path: the engine answers it as an internal
// error, by fail_closed.
func (x esExec) Facts() enforcer.ExecFacts {
	f, err := esExecFacts(&x.ev.Message, x.ev.Args())
	if err != nil {
		return enforcer.ExecFacts{}
	}
	return f
}

func (x esExec) Deadline() time.Time { return x.ev.Deadline() }

func (x esExec) Respond(allow, cache bool) error { return x.ev.Respond(allow, cache) }

// darwinTasks is what the engine asks of the process table beyond the
// message: the parent chain and the rest come with the process table of
// NOTIFY_FORK/EXEC/EXIT, which is not built yet, so they are unavailable
// and a rule that needs them is decided by its action.
type darwinTasks struct{}

var errNoProcessTable = errors.New("the macOS process table is not built yet")

func newTasks() enforcer.Tasks { return darwinTasks{} }

func (darwinTasks) Task(int32) (enforcer.Task, error)                 { return enforcer.Task{}, errNoProcessTable }
func (darwinTasks) ExecArgs(int32) ([]string, error)                  { return nil, errNoProcessTable }
func (darwinTasks) Ancestors(int32, int) ([]enforcer.Ancestor, error) { return nil, errNoProcessTable }
func (darwinTasks) OpenExe(int32) (*os.File, error)                   { return nil, errNoProcessTable }
func (darwinTasks) Cwd(int32) string                                  { return "" }
