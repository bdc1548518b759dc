//go:build linux

package enforcer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"

	"github.com/gatehouse/gatehouse/enforcer/store"
)

// Daemon is a running enforcer: store, kernel source, engine and local API.
type Daemon struct {
	Engine   *Engine
	store    *store.Store
	source   *FanotifySource
	listener net.Listener
	log      *slog.Logger
}

// Start opens the store, loads the policy, marks the filesystems and
// listens on the socket. Call Wait to serve.
func Start(cfg Config, log *slog.Logger) (*Daemon, error) {
	st, err := store.Open(cfg.Database)
	if err != nil {
		return nil, err
	}
	d := &Daemon{store: st, log: log}
	fail := func(err error) (*Daemon, error) {
		if d.source != nil {
			d.source.Close()
		}
		st.Close()
		return nil, err
	}
	// The engine is created before the source so that a bad policy fails
	// before any filesystem is marked; the source learns about writes
	// through a pointer filled in below.
	var eng *Engine
	var engMu sync.RWMutex
	written := func(dev, ino uint64) {
		engMu.RLock()
		e := eng
		engMu.RUnlock()
		if e != nil {
			e.FileWritten(dev, ino)
		}
	}
	lazy := &lazySource{}
	e, err := New(cfg, Options{Source: lazy, Tasks: ProcTasks{}, Store: st, Logger: log})
	if err != nil {
		return fail(err)
	}
	engMu.Lock()
	eng = e
	engMu.Unlock()
	src, err := NewFanotifySource(cfg.Mounts, cfg.Exclude, written, log)
	if err != nil {
		return fail(err)
	}
	d.source, lazy.Source = src, src
	d.Engine = e
	l, err := Listen(cfg.Socket)
	if err != nil {
		return fail(err)
	}
	d.listener = l
	return d, nil
}

// Wait serves until ctx is done, then shuts down in order: the API stops,
// the source closes (the kernel allows what is pending), the audit log is
// flushed and the store closed.
func (d *Daemon) Wait(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	apiDone := make(chan error, 1)
	go func() { apiDone <- d.Engine.Serve(ctx, d.listener) }()
	err := d.Engine.Run(ctx)
	cancel()
	if aerr := <-apiDone; aerr != nil && err == nil {
		err = fmt.Errorf("local API: %w", aerr)
	}
	os.Remove(d.listener.Addr().String())
	if cerr := d.store.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// lazySource lets the engine be built before the kernel source exists.
type lazySource struct{ Source }

func (l *lazySource) Describe() (string, []string) {
	if l.Source == nil {
		return "none", nil
	}
	return l.Source.Describe()
}

func (l *lazySource) FlushCache() error {
	if f, ok := l.Source.(cacheFlusher); ok {
		return f.FlushCache()
	}
	return nil
}
