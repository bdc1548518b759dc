package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/backstop"
	"github.com/gatehouse/gatehouse/enforcer/fanotify"
	"github.com/gatehouse/gatehouse/enforcer/logind"
	"github.com/gatehouse/gatehouse/enforcer/proc"
)

// The Linux platform pieces: fanotify as the event source and /proc for
// what fanotify does not report. They only translate; the engine decides.

// newTasks returns the reader of what an exec event does not carry.
func newTasks() enforcer.Tasks { return procTasks{} }

// adminGroup is nil: on Linux an admin session is its sudoers drop-in
// alone (docs/elevation.md).
func adminGroup(*slog.Logger) enforcer.AdminGroup { return nil }

// peerCode is nil: the local API's peers come with their executable
// (SO_PEERPIDFD), and Linux has no code signatures.
func peerCode() enforcer.PeerCode { return nil }

// newSource returns the event source, with the configured filesystems
// marked and the exec backstop loaded when configured. A backstop that
// cannot load does not stop the daemon — the marks still hold what they
// hold —; it is logged as an error and shown as an open gap in status.
// Every open gap is logged at start, with what closes it.
func newSource(cfg enforcer.Config, log *slog.Logger) (enforcer.Source, error) {
	s, err := newFanotifySource(cfg.Mounts, cfg.Exclude, log)
	if err != nil {
		return nil, err
	}
	s.backstopMode = cfg.ExecBackstop
	s.unholdable = cfg.UnholdableFiles
	if mode, _ := backstop.ParseMode(cfg.ExecBackstop); mode != backstop.Off {
		b, err := backstop.Open(backstop.Config{Mode: mode, Cgroup: cfg.ExecBackstopCgroup})
		if err != nil {
			log.Error("exec backstop not loaded; execs no mark holds run undecided", "exec_backstop", cfg.ExecBackstop, "err", err)
			s.backstopErr = err.Error()
		} else {
			s.backstop = b
			log.Info("exec backstop loaded", "exec_backstop", cfg.ExecBackstop, "cgroup", cfg.ExecBackstopCgroup)
		}
	}
	for _, g := range s.Gaps() {
		if g.Open {
			log.Warn("a way around the enforcer is open", "gap", g.Name, "detail", g.Detail, "fix", g.Fix)
		}
	}
	return s, nil
}

// fanotifySource is the Linux event source: FAN_OPEN_EXEC_PERM on the
// chosen filesystems, and FAN_CLOSE_WRITE on the same filesystems to drop
// cached facts of files written.
type fanotifySource struct {
	perm   *fanotify.Listener
	writes *fanotify.WriteWatch
	once   sync.Once
	// discover is set when the filesystems were discovered (not
	// configured): new local filesystems are then marked as they appear.
	discover bool
	exclude  []string
	log      *slog.Logger

	// marked is what is marked, by the filesystem's device ("major:minor"
	// in mountinfo): a filesystem is marked once, through one of its
	// mounts. A device that leaves mountinfo is dropped, so a new
	// filesystem that reuses its number is marked in turn.
	mu     sync.Mutex
	marked map[string]string // device -> the path it was marked through
	// refused are devices whose mark failed, said once until they go.
	refused map[string]bool

	// backstop, when loaded, reports (and in deny mode kills) execs no
	// mark held; backstopErr says why it is not loaded though configured.
	backstop     *backstop.Backstop
	backstopMode string
	unholdable   string // unholdable_files, for the file_leases gap
	backstopErr  string
}

// mountRescan is how often /proc/self/mountinfo is read for new
// filesystems.
const mountRescan = 2 * time.Second

// newFanotifySource marks filesystems (all local ones, less those whose
// every mount is excluded, when mounts is empty), for execs and for files
// closed after writing.
func newFanotifySource(mounts, exclude []string, log *slog.Logger) (*fanotifySource, error) {
	discover := len(mounts) == 0
	marked := make(map[string]string)
	if discover {
		fss, err := fanotify.LocalFilesystems(exclude)
		if err != nil {
			return nil, fmt.Errorf("find local filesystems: %w", err)
		}
		for _, fs := range fss {
			mounts = append(mounts, fs.Point)
			marked[fs.Dev] = fs.Point
		}
	}
	if len(mounts) == 0 {
		return nil, errors.New("no filesystems to watch; check mounts and exclude in the configuration")
	}
	l, err := fanotify.Open(fanotify.Config{Mounts: mounts})
	if err != nil {
		return nil, err
	}
	w, err := fanotify.OpenWriteWatch(fanotify.Config{Mounts: mounts})
	if err != nil {
		l.Close()
		return nil, fmt.Errorf("watch writes: %w", err)
	}
	if !discover {
		for _, m := range mounts {
			marked[m] = m // configured: named by path, never dropped
		}
	}
	return &fanotifySource{perm: l, writes: w, discover: discover, exclude: exclude, log: log, marked: marked}, nil
}

// Run implements enforcer.Source.
func (s *fanotifySource) Run(ctx context.Context, h enforcer.Handler) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { s.writes.Run(ctx, h.FileWritten) })
	if s.discover {
		wg.Go(func() { s.watchMounts(ctx) })
	}
	if s.backstop != nil {
		wg.Go(func() {
			err := s.backstop.Run(ctx, func(r backstop.Report) {
				if h.Undecided != nil {
					h.Undecided(undecidedExec(r))
				}
			})
			if err != nil && ctx.Err() == nil {
				s.log.Error("exec backstop reports", "err", err)
			}
		})
	}
	if h.SessionEnded != nil {
		// Admin sessions end at logout and screen lock.
		wg.Go(func() {
			logind.Follow(ctx, "", time.Minute, s.log, func(e logind.End) {
				h.SessionEnded(enforcer.SessionEnd{UID: e.UID, Why: e.Why})
			})
		})
	}
	err := s.perm.Run(ctx, func(ev *fanotify.Event) { h.Exec(fanExec{ev}) })
	cancel()
	s.Close()
	wg.Wait()
	return err
}

// watchMounts marks local filesystems mounted after start (a USB stick, a
// new tmpfs). A filesystem marked once stays marked through all its
// mounts, including those made later; unmounted ones lose their marks by
// themselves.
func (s *fanotifySource) watchMounts(ctx context.Context) {
	t := time.NewTicker(mountRescan)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fss, err := fanotify.LocalFilesystems(s.exclude)
		if err != nil {
			continue
		}
		s.markNew(fss)
	}
}

// markNew marks those of fss not marked yet, and forgets devices no
// longer mounted.
func (s *fanotifySource) markNew(fss []fanotify.Filesystem) {
	s.mu.Lock()
	defer s.mu.Unlock()
	present := make(map[string]bool, len(fss))
	var points []string
	for _, fs := range fss {
		present[fs.Dev] = true
		if _, ok := s.marked[fs.Dev]; !ok {
			points = append(points, fs.Point)
		}
	}
	for dev := range s.marked {
		if !present[dev] {
			delete(s.marked, dev)
		}
	}
	for dev := range s.refused {
		if !present[dev] {
			delete(s.refused, dev)
		}
	}
	if len(points) == 0 {
		return
	}
	added, err := s.perm.AddMounts(points)
	if len(added) > 0 {
		s.log.Info("new filesystems marked", "paths", added)
		s.writes.AddMounts(added)
	}
	// A filesystem that refuses its mark (a user's FUSE mount refuses
	// root) is tried again at every rescan, but said once.
	var newlyRefused []string
	for _, fs := range fss {
		switch {
		case slices.Contains(added, fs.Point):
			s.marked[fs.Dev] = fs.Point
			delete(s.refused, fs.Dev)
		case slices.Contains(points, fs.Point) && !s.refused[fs.Dev]:
			if s.refused == nil {
				s.refused = make(map[string]bool)
			}
			s.refused[fs.Dev] = true
			newlyRefused = append(newlyRefused, fs.Point)
		}
	}
	if err != nil && len(newlyRefused) > 0 {
		s.log.Warn("new filesystem not marked; execs from it are not held", "paths", newlyRefused, "err", err)
	}
}

// Close implements enforcer.Source. Closing the fanotify descriptor makes the kernel
// allow every exec still waiting for an answer.
func (s *fanotifySource) Close() error {
	var err error
	s.once.Do(func() {
		err = s.perm.Close()
		s.writes.Close()
		if s.backstop != nil {
			s.backstop.Close() // detached first: nothing is killed after this
		}
	})
	return err
}

// Describe implements enforcer.Source: one path per marked filesystem.
func (s *fanotifySource) Describe() (string, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	paths := make([]string, 0, len(s.marked))
	for _, p := range s.marked {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return "fanotify", paths
}

// undecidedExec maps a backstop report to the engine's value.
func undecidedExec(r backstop.Report) enforcer.UndecidedExec {
	return enforcer.UndecidedExec{PID: r.TGID, UID: r.UID, Comm: r.Comm, Filename: r.Filename,
		Dev: fmt.Sprintf("%d:%d", r.Major, r.Minor), Ino: r.Ino, FS: backstop.FSName(r.FSType), Killed: r.Killed}
}

// Gaps implements enforcer.GapReporter: it reads the kernel's settings
// now (a few files in /proc/sys and /proc/self/mountinfo, nothing that can
// block on a filesystem).
func (s *fanotifySource) Gaps() []enforcer.Gap {
	k := readKernelFacts(s.backstopMode, s.backstopErr)
	k.UnholdableFiles = s.unholdable
	return gaps(k)
}

// readKernelFacts reads what gaps judges.
func readKernelFacts(mode, backstopErr string) kernelFacts {
	k := kernelFacts{MemfdNoexec: -1, Backstop: mode, BackstopErr: backstopErr}
	if v, ok := sysctl("vm/memfd_noexec"); ok {
		k.MemfdNoexec = v
	}
	if v, ok := sysctl("fs/leases-enable"); ok && v == 0 {
		k.LeasesOff = true
	}
	k.UserNS, k.UserNSBy = true, "user.max_user_namespaces"
	if v, ok := sysctl("user/max_user_namespaces"); ok {
		k.UserNSBy = fmt.Sprintf("user.max_user_namespaces = %d", v)
		k.UserNS = v > 0
	}
	if v, ok := sysctl("kernel/unprivileged_userns_clone"); ok && v == 0 && k.UserNS {
		k.UserNS, k.UserNSBy = false, "kernel.unprivileged_userns_clone = 0"
	}
	if v, ok := sysctl("kernel/apparmor_restrict_unprivileged_userns"); ok && v != 0 && k.UserNS {
		k.UserNS, k.UserNSBy = false, "kernel.apparmor_restrict_unprivileged_userns = 1: only programs AppArmor allows"
	}
	var places []string
	for _, p := range userWritable {
		if _, err := os.Lstat(p); err == nil {
			places = append(places, p)
		}
	}
	if ms, err := fanotify.Mounts(); err == nil {
		k.ExecWritable = execWritable(ms, places)
	}
	return k
}

// sysctl reads one integer from /proc/sys.
func sysctl(name string) (int, bool) {
	b, err := os.ReadFile("/proc/sys/" + name)
	if err != nil {
		return 0, false
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return v, err == nil
}

// fanExec is a held exec: fanotify reports the descriptor and the thread;
// the engine reads the rest (path from the descriptor, the process from
// /proc).
type fanExec struct{ ev *fanotify.Event }

func (x fanExec) Facts() enforcer.ExecFacts { return enforcer.ExecFacts{File: x.ev.File} }
func (x fanExec) PID() int32                { return x.ev.PID }
func (x fanExec) Deadline() time.Time       { return time.Time{} }
func (x fanExec) Respond(allow, cache bool) error {
	if allow && cache {
		return x.ev.RespondCached()
	}
	return x.ev.Respond(allow)
}

// FlushCache makes the kernel hold every file again (after a policy
// change).
func (s *fanotifySource) FlushCache() error { return s.perm.FlushCache() }

// procTasks reads per-exec facts from /proc.
type procTasks struct{}

// Task implements enforcer.Tasks.
func (procTasks) Task(pid int32) (enforcer.Task, error) {
	t, err := proc.Task(pid)
	if err != nil {
		return enforcer.Task{}, err
	}
	return enforcer.Task{UID: t.UID, GIDs: t.GIDs, PPID: t.PPID, TTY: t.TTY}, nil
}

// ExecArgs implements enforcer.Tasks.
func (procTasks) ExecArgs(tid int32) ([]string, error) { return proc.ExecArgs(tid) }

// Ancestors implements enforcer.Tasks.
func (procTasks) Ancestors(pid int32, max int) ([]enforcer.Ancestor, error) {
	a, err := proc.Ancestors(pid, max)
	out := make([]enforcer.Ancestor, 0, len(a))
	for _, x := range a {
		out = append(out, enforcer.Ancestor{PID: x.PID, Exe: x.Exe})
	}
	return out, err
}

// OpenExe implements enforcer.Tasks.
func (procTasks) OpenExe(pid int32) (*os.File, error) { return proc.OpenExe(pid) }

// Processes implements enforcer.ProcessLister.
func (procTasks) Processes() ([]enforcer.Process, error) {
	ps, err := proc.Processes()
	out := make([]enforcer.Process, 0, len(ps))
	for _, p := range ps {
		exe, _ := os.Readlink("/proc/" + strconv.Itoa(int(p.PID)) + "/exe")
		out = append(out, enforcer.Process{PID: p.PID, PPID: p.PPID, UID: p.UID, Exe: exe, TTY: p.TTY})
	}
	return out, err
}

// Cwd implements enforcer.Tasks.
func (procTasks) Cwd(pid int32) string { return proc.Cwd(pid) }
