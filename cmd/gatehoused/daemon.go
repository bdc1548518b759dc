package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/apiserver"
	"github.com/gatehouse/gatehouse/enforcer/store"
)

// serve is gatehoused's start-up, the same on every platform: store →
// policy and engine → event source → local API → watchers, then serve
// until ctx is done. Each step fails before the next begins, so a broken
// policy is reported before any filesystem is watched. newTasks and
// newSource (source_GOOS.go) are the only per-OS pieces.
//
// Shutdown runs in the opposite order: the API stops, the source closes
// (the kernel allows what is still waiting), the audit log is flushed and
// the store closed.
func serve(ctx context.Context, cfg enforcer.Config, log *slog.Logger) error {
	st, err := store.Open(cfg.Database)
	if err != nil {
		return err
	}
	defer st.Close()
	eng, err := enforcer.New(cfg, enforcer.Options{Store: st, Logger: log, Tasks: newTasks(), HoldContents: true, PeerCode: peerCode(),
		AdminGroup: adminGroup(log)})
	if err != nil {
		return err
	}
	src, err := newSource(cfg, log)
	if err != nil {
		return err
	}
	l, err := apiserver.Listen(cfg.Socket)
	if err != nil {
		src.Close()
		return err
	}
	api := apiserver.New(eng, log)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				log.Info("SIGHUP: reloading the policy")
				eng.Reload()
			}
		}
	}()
	apiDone := make(chan error, 1)
	go func() { apiDone <- api.Serve(ctx, l) }()
	err = eng.Run(ctx, src)
	cancel()
	if aerr := <-apiDone; aerr != nil && err == nil {
		err = fmt.Errorf("local API: %w", aerr)
	}
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}
