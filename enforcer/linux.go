//go:build linux

package enforcer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/enforcer/fanotify"
	"github.com/gatehouse/gatehouse/enforcer/proc"
)

// FanotifySource is the Linux event source: FAN_OPEN_EXEC_PERM on the
// chosen mounts, and FAN_CLOSE_WRITE on the same mounts to drop cached
// facts of files written.
type FanotifySource struct {
	perm    *fanotify.Listener
	writes  *fanotify.WriteWatch
	written func(dev, ino uint64)
	once    sync.Once
	// exclude is set when the mounts were discovered (not configured):
	// new local mounts are then marked as they appear.
	discover bool
	exclude  []string
	log      *slog.Logger
}

// mountRescan is how often /proc/self/mountinfo is read for new mounts.
const mountRescan = 2 * time.Second

// NewFanotifySource marks mounts (all local filesystems minus exclude when
// mounts is empty). written is called for every file closed after writing
// (nil: not watched).
func NewFanotifySource(mounts, exclude []string, written func(dev, ino uint64), log *slog.Logger) (*FanotifySource, error) {
	discover := len(mounts) == 0
	if discover {
		m, err := fanotify.LocalMounts(exclude)
		if err != nil {
			return nil, fmt.Errorf("find local filesystems: %w", err)
		}
		mounts = m
	}
	if len(mounts) == 0 {
		return nil, errors.New("no mounts to watch; check mounts and exclude in the configuration")
	}
	l, err := fanotify.Open(fanotify.Config{Mounts: mounts})
	if err != nil {
		return nil, err
	}
	s := &FanotifySource{perm: l, written: written, discover: discover, exclude: exclude, log: log}
	if written != nil {
		w, err := fanotify.OpenWriteWatch(fanotify.Config{Mounts: mounts})
		if err != nil {
			l.Close()
			return nil, fmt.Errorf("watch writes: %w", err)
		}
		s.writes = w
	}
	return s, nil
}

// Run implements Source.
func (s *FanotifySource) Run(ctx context.Context, handle func(Exec)) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if s.writes != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.writes.Run(ctx, s.written)
		}()
	}
	if s.discover {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.watchMounts(ctx)
		}()
	}
	err := s.perm.Run(ctx, func(ev *fanotify.Event) { handle(fanExec{ev}) })
	cancel()
	s.Close()
	wg.Wait()
	return err
}

// watchMounts marks local filesystems mounted after start (a USB stick, a
// new tmpfs, a bind mount). Unmounted ones lose their marks by themselves.
func (s *FanotifySource) watchMounts(ctx context.Context) {
	t := time.NewTicker(mountRescan)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		mounts, err := fanotify.LocalMounts(s.exclude)
		if err != nil {
			continue
		}
		added, err := s.perm.AddMounts(mounts)
		if len(added) > 0 {
			s.log.Info("new mounts marked", "mounts", added)
			if s.writes != nil {
				s.writes.AddMounts(added)
			}
		}
		if err != nil {
			s.log.Warn("mark new mount", "err", err)
		}
	}
}

// Close implements Source. Closing the fanotify descriptor makes the kernel
// allow every exec still waiting for an answer.
func (s *FanotifySource) Close() error {
	var err error
	s.once.Do(func() {
		err = s.perm.Close()
		if s.writes != nil {
			s.writes.Close()
		}
	})
	return err
}

// Describe implements Source.
func (s *FanotifySource) Describe() (string, []string) {
	return "fanotify", s.perm.Marks()
}

type fanExec struct{ ev *fanotify.Event }

func (x fanExec) File() *os.File      { return x.ev.File }
func (x fanExec) PID() int32          { return x.ev.PID }
func (x fanExec) Deadline() time.Time { return time.Time{} }
func (x fanExec) Respond(allow, cache bool) error {
	if allow && cache {
		return x.ev.RespondCached()
	}
	return x.ev.Respond(allow)
}

// FlushCache makes the kernel hold every file again (after a policy
// change).
func (s *FanotifySource) FlushCache() error { return s.perm.FlushCache() }

// ProcTasks reads per-exec facts from /proc.
type ProcTasks struct{}

// Task implements Tasks.
func (ProcTasks) Task(pid int32) (Task, error) {
	t, err := proc.Task(pid)
	if err != nil {
		return Task{}, err
	}
	return Task{UID: t.UID, GIDs: t.GIDs, PPID: t.PPID, TTY: t.TTY}, nil
}

// ExecArgs implements Tasks.
func (ProcTasks) ExecArgs(tid int32) ([]string, error) { return proc.ExecArgs(tid) }

// Ancestors implements Tasks.
func (ProcTasks) Ancestors(pid int32, max int) ([]Ancestor, error) {
	a, err := proc.Ancestors(pid, max)
	out := make([]Ancestor, 0, len(a))
	for _, x := range a {
		out = append(out, Ancestor{PID: x.PID, Exe: x.Exe})
	}
	return out, err
}

// OpenExe implements Tasks.
func (ProcTasks) OpenExe(pid int32) (*os.File, error) { return proc.OpenExe(pid) }

// Cwd implements Tasks.
func (ProcTasks) Cwd(pid int32) string { return proc.Cwd(pid) }
