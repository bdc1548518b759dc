package fanotify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/scratch"

	"golang.org/x/sys/unix"
)

// Every test that marks anything marks only a tmpfs it mounted itself: a
// permission mark on a real mount would hold every exec on it, the test
// runner's included. Each listener also runs under a context that ends
// well inside the test timeout, and its Run closes the group when it
// returns, so no exec can stay held past that.
//
// Programs on the scratch mount are started by a helper process (this test
// binary, see TestMain), never by os/exec from the test process itself:
// os/exec starts a child with vfork, and the parent's thread keeps its P,
// unpreemptible, until the child's execve is answered. A stop-the-world
// (any GC) that starts meanwhile waits for that P forever, and the
// listener, stopped with the world, never answers. That is a deadlock of
// the process that holds the Listener, and it applies to gatehoused too.

const listenerLifetime = 60 * time.Second

// execHelperEnv, when set, makes this test binary an exec helper: it execs
// the path in the variable with argv os.Args[1:] and, if execve fails,
// prints the errno and exits with status helperFailed.
const (
	execHelperEnv = "GATEHOUSE_FANOTIFY_TEST_EXEC"
	helperFailed  = 3
)

func init() {
	if os.Getenv(execHelperEnv) != "" {
		// Keep the main goroutine on the main thread, so the thread that
		// calls execve has the process's pid (the event's PID is a TID).
		runtime.LockOSThread()
	}
}

func TestMain(m *testing.M) {
	if path := os.Getenv(execHelperEnv); path != "" {
		env := slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, execHelperEnv+"=") })
		err := syscall.Exec(path, os.Args[1:], env)
		var errno syscall.Errno
		errors.As(err, &errno)
		fmt.Fprintf(os.Stderr, "errno %d: %v\n", int(errno), err)
		os.Exit(helperFailed)
	}
	os.Exit(m.Run())
}

// helper returns a command that execs path with argv through the helper.
func helper(path string, argv ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], argv...)
	cmd.Env = append(os.Environ(), execHelperEnv+"="+path)
	return cmd
}

// execErrno runs cmd, a helper, and returns the execve errno it reported,
// 0 when the program ran and exited 0.
func execErrno(t *testing.T, cmd *exec.Cmd) syscall.Errno {
	t.Helper()
	return startHelper(t, cmd)()
}

// startHelper starts cmd, a helper, and returns a function that waits for
// it and returns the errno as execErrno does. It may be called from any
// goroutine, and reports failures with t.Errorf.
func startHelper(t *testing.T, cmd *exec.Cmd) (wait func() syscall.Errno) {
	t.Helper()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return func() syscall.Errno {
		err := cmd.Wait()
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.ExitCode() == helperFailed {
			var n int
			if _, serr := fmt.Sscanf(stderr.String(), "errno %d:", &n); serr == nil {
				return syscall.Errno(n)
			}
		}
		if err != nil {
			t.Errorf("%v: %v (stderr %q)", cmd.Args, err, stderr.String())
			return syscall.EIO
		}
		return 0
	}
}

// running is a Run in progress.
type running struct {
	done chan struct{}
	err  error
}

// wait returns Run's result, or fails the test if Run has not returned
// within 10 s.
func (r *running) wait(t *testing.T) error {
	t.Helper()
	select {
	case <-r.done:
		return r.err
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
		return nil
	}
}

// listen opens a Listener on mounts and runs it until the test ends.
func listen(t *testing.T, mounts []string, handle func(*Event)) (*Listener, *running) {
	t.Helper()
	l, err := Open(Config{Mounts: mounts})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), listenerLifetime)
	r := &running{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = l.Run(ctx, handle)
	}()
	t.Cleanup(func() {
		cancel()
		l.Close()
		if err := r.wait(t); err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	return l, r
}

// seen is what a handler observed about one event.
type seen struct {
	pid  int32
	path string
	err  error
}

func observe(ev *Event) seen {
	p, err := ev.Path()
	return seen{pid: ev.PID, path: p, err: err}
}

func TestAllowAndEventFacts(t *testing.T) {
	dir := scratch.Tmpfs(t)
	prog := filepath.Join(dir, "prog")
	scratch.CopyFile(t, "/bin/true", prog, 0o755)

	got := make(chan seen, 16)
	l, _ := listen(t, []string{dir}, func(ev *Event) {
		got <- observe(ev)
		if err := ev.Respond(true); err != nil {
			t.Errorf("Respond: %v", err)
		}
	})
	if diff := l.Marks(); len(diff) != 1 || diff[0] != dir {
		t.Errorf("Marks() = %q, want [%q]", diff, dir)
	}

	cmd := helper(prog, "prog")
	if errno := execErrno(t, cmd); errno != 0 {
		t.Fatalf("exec %s under an allowing listener: %v", prog, errno)
	}
	select {
	case s := <-got:
		if s.err != nil {
			t.Fatal(s.err)
		}
		if s.pid != int32(cmd.Process.Pid) {
			t.Errorf("event PID = %d, want the child's %d", s.pid, cmd.Process.Pid)
		}
		if s.path != prog {
			t.Errorf("event file is %q, want %q", s.path, prog)
		}
	default:
		t.Fatal("exec succeeded without an event")
	}
	st := l.Stats()
	if st.Events != 1 || st.Responses != 1 || st.SelfAllowed != 0 || st.Malformed != 0 {
		t.Errorf("Stats() = %+v, want 1 event, 1 response", st)
	}
}

func TestDeny(t *testing.T) {
	dir := scratch.Tmpfs(t)
	denied := filepath.Join(dir, "denied")
	allowed := filepath.Join(dir, "allowed")
	scratch.CopyFile(t, "/bin/true", denied, 0o755)
	scratch.CopyFile(t, "/bin/true", allowed, 0o755)

	listen(t, []string{dir}, func(ev *Event) {
		p, err := ev.Path()
		ev.Respond(err == nil && p != denied)
	})
	if errno := execErrno(t, helper(denied, "denied")); errno != syscall.EPERM {
		t.Errorf("exec of a denied program: errno %d (%v), want EPERM (operation not permitted)", errno, errno)
	}
	if errno := execErrno(t, helper(allowed, "allowed")); errno != 0 {
		t.Errorf("exec of an allowed program: %v", errno)
	}
}

// TestSelfExecSkipsHandler execs from the test process itself. The file is
// not a program, so execve fails with ENOEXEC after the permission check
// and the test process survives; the point is that the check never reached
// the handler.
//
// While syscall.Exec is in the kernel its thread keeps its P and cannot be
// stopped, so a stop-the-world meanwhile would deadlock this process (see
// the package doc). The test leaves spare Ps, turns the GC off, and waits
// until Run is in its loop before exec'ing.
func TestSelfExecSkipsHandler(t *testing.T) {
	dir := scratch.Tmpfs(t)
	junk := filepath.Join(dir, "not-a-program")
	if err := os.WriteFile(junk, []byte("\x00\x01\x02 gatehouse test: not a program\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	prog := filepath.Join(dir, "prog")
	scratch.CopyFile(t, "/bin/true", prog, 0o755)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), 4)))
	defer debug.SetGCPercent(debug.SetGCPercent(-1))

	var mine atomic.Int32 // handler calls for this process's threads
	l, _ := listen(t, []string{dir}, func(ev *Event) {
		if int(ev.PID) == os.Getpid() || unix.Tgkill(os.Getpid(), int(ev.PID), 0) == nil {
			mine.Add(1)
		}
		ev.Respond(true)
	})
	// An exec by another process: afterwards Run is known to be reading.
	if errno := execErrno(t, helper(prog, "prog")); errno != 0 {
		t.Fatalf("warm-up exec: %v", errno)
	}

	// Once from whichever thread runs this goroutine, once from a thread
	// that is certainly not the main one (tid != pid: the tgkill path).
	selfExec := func() error { return syscall.Exec(junk, []string{junk}, nil) }
	errs := make(chan error, 2)
	errs <- selfExec()
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		if unix.Gettid() != os.Getpid() {
			errs <- selfExec()
			return
		}
		// This is the main thread, now taken: a goroutine locked now is not on it.
		inner := make(chan error, 1)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			inner <- selfExec()
		}()
		errs <- <-inner
	}()
	for range 2 {
		if err := <-errs; !errors.Is(err, syscall.ENOEXEC) {
			t.Errorf("self exec of a non-program: err = %v, want ENOEXEC", err)
		}
	}
	if n := mine.Load(); n != 0 {
		t.Errorf("handler called %d times for the process's own execs", n)
	}
	if st := l.Stats(); st.SelfAllowed != 2 || st.Events != 3 || st.Responses != 1 {
		t.Errorf("Stats() = %+v, want 3 events: 2 self-allowed, 1 answered", st)
	}
}

func TestCloseReleasesHeldExecs(t *testing.T) {
	dir := scratch.Tmpfs(t)
	prog := filepath.Join(dir, "prog")
	scratch.CopyFile(t, "/bin/true", prog, 0o755)

	held := make(chan *Event, 16)
	l, run := listen(t, []string{dir}, func(ev *Event) { held <- ev }) // never answers

	// The first helper gets a copy of the group's descriptor, as a child
	// forked by the daemon has until its execve completes: then closing
	// our descriptor does not end the group, and only Close's explicit
	// answers release the execs.
	groupFD, err := unix.FcntlInt(uintptr(l.g.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	groupFile := os.NewFile(uintptr(groupFD), "fanotify group copy")
	const n = 3
	results := make(chan syscall.Errno, n)
	for i := range n {
		cmd := helper(prog, "prog")
		if i == 0 {
			cmd.ExtraFiles = []*os.File{groupFile}
		}
		wait := startHelper(t, cmd)
		go func() { results <- wait() }()
	}
	var evs []*Event
	for range n {
		select {
		case ev := <-held:
			evs = append(evs, ev)
		case <-time.After(10 * time.Second):
			t.Fatal("no event for a held exec")
		}
	}
	groupFile.Close()
	select {
	case errno := <-results:
		t.Fatalf("an exec finished while its event was unanswered: errno %v", errno)
	case <-time.After(100 * time.Millisecond):
	}

	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for range n {
		select {
		case errno := <-results:
			if errno != 0 {
				t.Errorf("held exec after Close: %v, want success (allowed)", errno)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("an exec stayed held after Close")
		}
	}
	if err := run.wait(t); err != nil {
		t.Errorf("Run after Close = %v, want nil", err)
	}
	for _, ev := range evs {
		if err := ev.Respond(false); !errors.Is(err, ErrClosed) {
			t.Errorf("Respond after Close = %v, want ErrClosed", err)
		}
	}
}

func TestRespondFromOtherGoroutines(t *testing.T) {
	dir := scratch.Tmpfs(t)
	prog := filepath.Join(dir, "prog")
	scratch.CopyFile(t, "/bin/true", prog, 0o755)

	queue := make(chan *Event, 1024)
	var twice atomic.Int32
	var workers sync.WaitGroup
	for range 4 {
		workers.Go(func() {
			for ev := range queue {
				if err := ev.Respond(true); err != nil {
					t.Errorf("Respond: %v", err)
				}
				if err := ev.Respond(false); err != nil {
					twice.Add(1)
				}
			}
		})
	}
	l, _ := listen(t, []string{dir}, func(ev *Event) { queue <- ev })
	t.Cleanup(func() { close(queue); workers.Wait() })

	const perWorker, execers = 10, 4
	var execs sync.WaitGroup
	for range execers {
		execs.Go(func() {
			for range perWorker {
				if errno := execErrno(t, helper(prog, "prog")); errno != 0 {
					t.Errorf("exec: %v", errno)
				}
			}
		})
	}
	execs.Wait()
	const total = perWorker * execers
	st := l.Stats()
	if st.Events != total || st.Responses != total {
		t.Errorf("Stats() = %+v, want %d events and responses", st, total)
	}
	// Respond's second call is checked against the count after all execs.
	if n := twice.Load(); n != total {
		t.Errorf("second Respond failed %d times, want %d", n, total)
	}
}

func TestRunEndsWithContext(t *testing.T) {
	dir := scratch.Tmpfs(t)
	prog := filepath.Join(dir, "prog")
	scratch.CopyFile(t, "/bin/true", prog, 0o755)

	l, err := Open(Config{Mounts: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	held := make(chan *Event, 1)
	ctx, cancel := context.WithTimeout(context.Background(), listenerLifetime)
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx, func(ev *Event) { held <- ev }) }()

	result := make(chan syscall.Errno, 1)
	wait := startHelper(t, helper(prog, "prog"))
	go func() { result <- wait() }()
	ev := <-held
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Run = %v, want context.Canceled", err)
	}
	select {
	case errno := <-result:
		if errno != 0 {
			t.Errorf("held exec after Run returned: %v", errno)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("exec stayed held after Run returned")
	}
	if err := ev.Respond(true); !errors.Is(err, ErrClosed) {
		t.Errorf("Respond after Run returned = %v, want ErrClosed", err)
	}
	// The group is gone: execs are no longer held.
	if errno := execErrno(t, helper(prog, "prog")); errno != 0 {
		t.Errorf("exec after Run returned: %v", errno)
	}
	if err := l.Run(context.Background(), func(ev *Event) { ev.Respond(true) }); err != nil {
		t.Errorf("Run after close = %v, want nil", err)
	}
}

func TestOpenErrors(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: fanotify_init")
	}
	if _, err := Open(Config{}); err == nil {
		t.Error("Open without mounts succeeded")
	}
	missing := filepath.Join(t.TempDir(), "missing")
	_, err := Open(Config{Mounts: []string{missing}})
	if err == nil || !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), missing) {
		t.Errorf("Open on a missing path: %v, want ENOENT naming %s", err, missing)
	}
}

func TestMarkError(t *testing.T) {
	tests := []struct {
		err  error
		mask uint64
		want string
	}{
		{unix.EPERM, unix.FAN_OPEN_EXEC_PERM, "needs root"},
		{unix.EINVAL, unix.FAN_OPEN_EXEC_PERM, "refuses permission events"},
		{unix.EINVAL, unix.FAN_CLOSE_WRITE, "/mnt/x: invalid argument"},
		{unix.ENOENT, unix.FAN_OPEN_EXEC_PERM, "check the path"},
		{unix.EACCES, unix.FAN_OPEN_EXEC_PERM, "allow_other"},
	}
	for _, tt := range tests {
		err := markError("/mnt/x", tt.mask, tt.err)
		if !errors.Is(err, tt.err) || !strings.Contains(err.Error(), "/mnt/x") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("markError(%v) = %q, want it to wrap the errno and mention /mnt/x and %q", tt.err, err, tt.want)
		}
	}
}

func TestWriteWatch(t *testing.T) {
	dir := scratch.Tmpfs(t)
	w, err := OpenWriteWatch(Config{Mounts: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	type key struct{ dev, ino uint64 }
	got := make(chan key, 64)
	ctx, cancel := context.WithTimeout(context.Background(), listenerLifetime)
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx, func(dev, ino uint64) { got <- key{dev, ino} }) }()
	defer func() {
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run = %v, want context.Canceled", err)
		}
	}()

	// A file only read must not be reported; write it before the one that is.
	readOnly := filepath.Join(dir, "read-only")
	if err := os.WriteFile(readOnly, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	written := filepath.Join(dir, "written")
	if err := os.WriteFile(written, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(written, &st); err != nil {
		t.Fatal(err)
	}
	want := key{uint64(st.Dev), st.Ino}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case k := <-got:
			if k == want {
				return
			}
		case <-deadline:
			t.Fatalf("no close-write event for %s (dev %d, ino %d)", written, want.dev, want.ino)
		}
	}
}

// TestAddMounts marks a mount made after Open.
func TestAddMounts(t *testing.T) {
	first := scratch.Tmpfs(t)
	later := scratch.Tmpfs(t)
	prog := filepath.Join(later, "prog")
	scratch.CopyFile(t, "/bin/true", prog, 0o755)
	var held atomic.Int32
	l, _ := listen(t, []string{first}, func(ev *Event) {
		if p, err := ev.Path(); err == nil && p == prog {
			held.Add(1)
		}
		ev.Respond(true)
	})
	if errno := execErrno(t, helper(prog, "prog")); errno != 0 || held.Load() != 0 {
		t.Fatalf("before AddMounts: errno %v, held %d times (want 0: not marked yet)", errno, held.Load())
	}
	added, err := l.AddMounts([]string{later})
	if err != nil || len(added) != 1 || added[0] != later {
		t.Fatalf("AddMounts = %v, %v; want [%s]", added, err, later)
	}
	if errno := execErrno(t, helper(prog, "prog")); errno != 0 || held.Load() != 1 {
		t.Errorf("after AddMounts: errno %v, held %d times, want 1", errno, held.Load())
	}
	if m := l.Marks(); len(m) != 2 {
		t.Errorf("Marks() = %v, want both mounts", m)
	}
	// A new filesystem mounted where a marked one was: marking the same
	// path again marks it.
	// (scratch.Tmpfs's cleanup unmounts the second one.)
	if err := unix.Unmount(later, unix.MNT_DETACH); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("gatehouse-test", later, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size=64m,mode=0755"); err != nil {
		t.Fatal(err)
	}
	scratch.CopyFile(t, "/bin/true", prog, 0o755)
	if errno := execErrno(t, helper(prog, "prog")); errno != 0 || held.Load() != 1 {
		t.Fatalf("a new filesystem at the old point before marking: errno %v, held %d times (want 1: not marked yet)", errno, held.Load())
	}
	if added, err := l.AddMounts([]string{later}); err != nil || len(added) != 1 {
		t.Fatalf("AddMounts of the old point = %v, %v; want it marked again", added, err)
	}
	if errno := execErrno(t, helper(prog, "prog")); errno != 0 || held.Load() != 2 {
		t.Errorf("a new filesystem at the old point after marking: errno %v, held %d times, want 2", errno, held.Load())
	}
	if m := l.Marks(); len(m) != 2 {
		t.Errorf("Marks() = %v, want each path once", m)
	}
}
