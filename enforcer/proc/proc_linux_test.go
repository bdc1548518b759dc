package proc

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/gatehouse/gatehouse/internal/scratch"

	"github.com/gatehouse/gatehouse/enforcer/fanotify"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// The held-exec tests mark only a tmpfs they mounted themselves (a
// permission mark on a real mount would hold every exec on it), run the
// listener under a context that ends inside the test timeout, and start
// the programs from a helper process — this test binary, see TestMain —
// never from the test process: os/exec's vfork would leave a thread of the
// process that must answer the event stuck, unpreemptible, in the kernel.

// Helper mode: GATEHOUSE_PROC_TEST_EXEC=path makes this binary exec path
// with argv os.Args[1:]; GATEHOUSE_PROC_TEST_EXECVEAT=1 uses execveat on
// the directory instead of execve. If the exec fails it prints the error
// and exits with status 3.
const (
	execHelperEnv    = "GATEHOUSE_PROC_TEST_EXEC"
	execveatEnv      = "GATEHOUSE_PROC_TEST_EXECVEAT"
	helperFailedCode = 3
)

func init() {
	if os.Getenv(execHelperEnv) != "" {
		// The main goroutine stays on the main thread, whose tid is the pid.
		runtime.LockOSThread()
	}
}

func TestMain(m *testing.M) {
	if path := os.Getenv(execHelperEnv); path != "" {
		env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
			return strings.HasPrefix(kv, execHelperEnv+"=") || strings.HasPrefix(kv, execveatEnv+"=")
		})
		var err error
		if os.Getenv(execveatEnv) != "" {
			err = execveat(path, os.Args[1:], env)
		} else {
			err = syscall.Exec(path, os.Args[1:], env)
		}
		fmt.Fprintf(os.Stderr, "exec %s: %v\n", path, err)
		os.Exit(helperFailedCode)
	}
	os.Exit(m.Run())
}

// execveat execs the file base(path) in directory dir(path) with
// execveat(2), which x/sys/unix does not wrap.
func execveat(path string, argv, env []string) error {
	dir, err := unix.Open(filepath.Dir(path), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	name, err := unix.BytePtrFromString(filepath.Base(path))
	if err != nil {
		return err
	}
	argvp, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return err
	}
	envp, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return err
	}
	_, _, errno := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(dir), uintptr(unsafe.Pointer(name)),
		uintptr(unsafe.Pointer(&argvp[0])), uintptr(unsafe.Pointer(&envp[0])), 0, 0)
	return errno
}

// runHelper execs path with argv through a helper and fails the test if
// the exec or the program fails.
func runHelper(t *testing.T, path string, execveatMode bool, argv ...string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], argv...)
	cmd.Env = append(os.Environ(), execHelperEnv+"="+path)
	if execveatMode {
		cmd.Env = append(cmd.Env, execveatEnv+"=1")
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper exec %s %q: %v: %s", path, argv, err, out)
	}
}

func TestTaskSelf(t *testing.T) {
	got, err := Task(int32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	if got.PID != int32(os.Getpid()) || got.TGID != int32(os.Getpid()) || got.PPID != int32(os.Getppid()) {
		t.Errorf("Task(self) PID/TGID/PPID = %d/%d/%d, want %d/%d/%d", got.PID, got.TGID, got.PPID, os.Getpid(), os.Getpid(), os.Getppid())
	}
	if got.UID != uint32(os.Getuid()) || got.EUID != uint32(os.Geteuid()) {
		t.Errorf("Task(self) UID/EUID = %d/%d, want %d/%d", got.UID, got.EUID, os.Getuid(), os.Geteuid())
	}
	checkGIDs(t, got.GIDs)
	if want := filepath.Base(os.Args[0]); !strings.HasPrefix(want, got.Comm) || got.Comm == "" {
		t.Errorf("Task(self).Comm = %q, want a prefix of %q", got.Comm, want)
	}
}

// checkGIDs checks gids against this process's real, effective and
// supplementary groups.
func checkGIDs(t *testing.T, gids []uint32) {
	t.Helper()
	groups, err := os.Getgroups()
	if err != nil {
		t.Fatal(err)
	}
	want := []uint32{uint32(os.Getgid())}
	for _, g := range append([]int{os.Getegid()}, groups...) {
		if !slices.Contains(want, uint32(g)) {
			want = append(want, uint32(g))
		}
	}
	if diff := cmp.Diff(want, gids); diff != "" {
		t.Errorf("GIDs (-want +got):\n%s", diff)
	}
}

func TestTaskThread(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tid := int32(unix.Gettid())
	got, err := Task(tid)
	if err != nil {
		t.Fatal(err)
	}
	if got.PID != tid || got.TGID != int32(os.Getpid()) {
		t.Errorf("Task(tid %d) PID/TGID = %d/%d, want %d/%d", tid, got.PID, got.TGID, tid, os.Getpid())
	}
}

// startSleep starts a child that waits until the test ends.
func startSleep(t *testing.T, setup func(*exec.Cmd)) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("/bin/sleep", "60")
	if setup != nil {
		setup(cmd)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

func TestTaskChild(t *testing.T) {
	child := startSleep(t, nil)
	pid := int32(child.Process.Pid)
	// Until it has exec'd, the child's comm is still the test binary's.
	var got TaskInfo
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		var err error
		if got, err = Task(pid); err != nil {
			t.Fatal(err)
		}
		if got.Comm == "sleep" || time.Now().After(deadline) {
			break
		}
	}
	if got.Comm != "sleep" || got.PID != pid || got.TGID != pid || got.PPID != int32(os.Getpid()) {
		t.Errorf("Task(child) = %+v, want comm sleep, pid and tgid %d, ppid %d", got, pid, os.Getpid())
	}
	if got.UID != uint32(os.Getuid()) || got.EUID != uint32(os.Geteuid()) {
		t.Errorf("Task(child) UID/EUID = %d/%d, want %d/%d", got.UID, got.EUID, os.Getuid(), os.Geteuid())
	}
	checkGIDs(t, got.GIDs)
	if got.TTY != "" && got.TTYNr == 0 {
		t.Errorf("TTY %q without a tty_nr", got.TTY)
	}
}

func TestTaskGone(t *testing.T) {
	if _, err := Task(-5); err == nil {
		t.Error("Task(-5) succeeded")
	}
}

// TestTTYPathPty gives a child a fresh pseudo-terminal as its controlling
// terminal and reads it back through Task.
func TestTTYPathPty(t *testing.T) {
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	defer ptmx.Close()
	if err := unix.IoctlSetPointerInt(int(ptmx.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(ptmx.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	ptsPath := fmt.Sprintf("/dev/pts/%d", n)
	pts, err := os.OpenFile(ptsPath, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer pts.Close()
	var st unix.Stat_t
	if err := unix.Stat(ptsPath, &st); err != nil {
		t.Fatal(err)
	}
	nr := encodeDev(unix.Major(st.Rdev), unix.Minor(st.Rdev))
	if got := TTYPath(nr); got != ptsPath {
		t.Errorf("TTYPath(%#x) = %q, want %q", nr, got, ptsPath)
	}
	// A number that decodes to a pty this namespace does not have.
	if got := TTYPath(encodeDev(136, 1<<20-1)); got != "" {
		t.Errorf("TTYPath(missing pty) = %q, want \"\"", got)
	}
	if got := TTYPath(0); got != "" {
		t.Errorf("TTYPath(0) = %q, want \"\"", got)
	}

	child := startSleep(t, func(cmd *exec.Cmd) {
		cmd.Stdin, cmd.Stdout, cmd.Stderr = pts, pts, pts
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	})
	got, err := Task(int32(child.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if got.TTY != ptsPath || got.TTYNr != nr {
		t.Errorf("Task(child on %s): TTY %q, TTYNr %#x; want %q, %#x", ptsPath, got.TTY, got.TTYNr, ptsPath, nr)
	}
}

func TestAncestors(t *testing.T) {
	child := startSleep(t, nil)
	got, err := Ancestors(int32(child.Process.Pid), 64)
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) == 0 || got[0].PID != int32(os.Getpid()) || got[0].Exe != self {
		t.Fatalf("Ancestors(child)[0] = %+v, want {%d %s}", first(got), os.Getpid(), self)
	}
	if len(got) < 2 || got[1].PID != int32(os.Getppid()) {
		t.Errorf("Ancestors(child)[1] = %+v, want pid %d", got[1:], os.Getppid())
	}
	if last := got[len(got)-1]; last.PID != 1 {
		t.Errorf("chain ends at %+v, want pid 1 (in a pid namespace whose init is visible)", last)
	}
	limited, err := Ancestors(int32(child.Process.Pid), 1)
	if err != nil || len(limited) != 1 || limited[0] != got[0] {
		t.Errorf("Ancestors(child, 1) = %+v, %v; want [%+v]", limited, err, got[0])
	}
	if none, err := Ancestors(1, 64); err != nil || len(none) != 0 {
		t.Errorf("Ancestors(1) = %+v, %v; want none", none, err)
	}
}

func first(a []Ancestor) Ancestor {
	if len(a) == 0 {
		return Ancestor{}
	}
	return a[0]
}

func TestCwdAndOpenExe(t *testing.T) {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if got := Cwd(int32(os.Getpid())); got != wd {
		t.Errorf("Cwd(self) = %q, want %q", got, wd)
	}
	if got := Cwd(-1); got != "" {
		t.Errorf("Cwd(-1) = %q, want \"\"", got)
	}
	f, err := OpenExe(int32(os.Getpid()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var a, b unix.Stat_t
	self, _ := os.Executable()
	if err := unix.Fstat(int(f.Fd()), &a); err != nil {
		t.Fatal(err)
	}
	if err := unix.Stat(self, &b); err != nil {
		t.Fatal(err)
	}
	if a.Dev != b.Dev || a.Ino != b.Ino {
		t.Errorf("OpenExe(self) is not %s", self)
	}
}

func TestExecArgsNotInExec(t *testing.T) {
	child := startSleep(t, nil)
	pid := int32(child.Process.Pid)
	// Wait until the child sleeps in its syscall.
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		_, err = ExecArgs(pid)
		var nie *notInExecError
		if errors.As(err, &nie) && !nie.running && nie.nr >= 0 {
			break
		}
	}
	if !errors.Is(err, ErrNotInExec) || !strings.Contains(err.Error(), fmt.Sprintf("task %d is not in execve (syscall ", pid)) {
		t.Errorf("ExecArgs(sleeping task) = %v, want \"task %d is not in execve (syscall N)\"", err, pid)
	}
	if _, err := ExecArgs(-5); err == nil || errors.Is(err, ErrNotInExec) {
		t.Errorf("ExecArgs(no such task) = %v, want a read error", err)
	}
}

// heldFacts is what a handler read about one held exec.
type heldFacts struct {
	path      string
	pid       int32
	args      []string
	argsErr   error
	task      TaskInfo
	taskErr   error
	ancestors []Ancestor
	ancErr    error
}

// listenFacts marks dir and, for every exec held there, reads the task's
// facts on the reading goroutine and then allows it.
func listenFacts(t *testing.T, dir string) func() []heldFacts {
	t.Helper()
	l, err := fanotify.Open(fanotify.Config{Mounts: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var facts []heldFacts
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	done := make(chan error, 1)
	go func() {
		done <- l.Run(ctx, func(ev *fanotify.Event) {
			defer ev.Respond(true)
			f := heldFacts{pid: ev.PID}
			f.path, _ = ev.Path()
			f.args, f.argsErr = ExecArgs(ev.PID)
			f.task, f.taskErr = Task(ev.PID)
			f.ancestors, f.ancErr = Ancestors(ev.PID, 64)
			mu.Lock()
			facts = append(facts, f)
			mu.Unlock()
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
	})
	return func() []heldFacts {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(facts)
	}
}

func TestExecArgsHeld(t *testing.T) {
	dir := scratch.Tmpfs(t)
	prog := filepath.Join(dir, "prog")
	scratch.CopyFile(t, "/bin/true", prog, 0o755)
	facts := listenFacts(t, dir)

	for _, mode := range []struct {
		name     string
		execveat bool
	}{{"execve", false}, {"execveat", true}} {
		t.Run(mode.name, func(t *testing.T) {
			before := len(facts())
			argv := []string{"prog", "--flag", "a b", "", "ünï\tcode\nline"}
			runHelper(t, prog, mode.execveat, argv...)
			got := facts()[before:]
			if len(got) != 1 {
				t.Fatalf("%d held execs, want 1: %+v", len(got), got)
			}
			f := got[0]
			if f.path != prog {
				t.Errorf("event for %q, want %q", f.path, prog)
			}
			if f.argsErr != nil {
				t.Fatalf("ExecArgs: %v", f.argsErr)
			}
			if diff := cmp.Diff(argv, f.args); diff != "" {
				t.Errorf("ExecArgs (-want +got):\n%s", diff)
			}
			// The held task is the helper, still the test binary, child of
			// this process.
			if f.taskErr != nil || f.task.PID != f.pid || f.task.TGID != f.pid || f.task.PPID != int32(os.Getpid()) {
				t.Errorf("Task(held %d) = %+v, %v; want pid and tgid %d, ppid %d", f.pid, f.task, f.taskErr, f.pid, os.Getpid())
			}
			if f.ancErr != nil || len(f.ancestors) == 0 || f.ancestors[0].PID != int32(os.Getpid()) {
				t.Errorf("Ancestors(held) = %+v, %v; want this process first", f.ancestors, f.ancErr)
			}
		})
	}
}

// TestExecArgsScript runs a "#!" script whose interpreter is on the marked
// mount too: the kernel holds the one execve twice, for the script and for
// the interpreter, and both times argv is the caller's.
func TestExecArgsScript(t *testing.T) {
	dir := scratch.Tmpfs(t)
	sh := filepath.Join(dir, "sh")
	scratch.CopyFile(t, "/bin/sh", sh, 0o755)
	script := filepath.Join(dir, "script")
	if err := os.WriteFile(script, []byte("#!"+sh+" -e\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	facts := listenFacts(t, dir)

	argv := []string{"my-script", "x y", "--z"}
	runHelper(t, script, false, argv...)
	got := facts()
	var paths []string
	for _, f := range got {
		paths = append(paths, f.path)
		if f.argsErr != nil {
			t.Errorf("ExecArgs for %s: %v", f.path, f.argsErr)
		} else if diff := cmp.Diff(argv, f.args); diff != "" {
			t.Errorf("ExecArgs for %s (-want +got):\n%s", f.path, diff)
		}
	}
	if diff := cmp.Diff([]string{script, sh}, paths); diff != "" {
		t.Errorf("held files (-want +got):\n%s", diff)
	}
	if len(got) == 2 && got[0].pid != got[1].pid {
		t.Errorf("script and interpreter held for tasks %d and %d, want one task", got[0].pid, got[1].pid)
	}
}

// BenchmarkHeldExec holds one exec on a scratch mount and reads the held
// task's facts b.N times while it waits: the per-exec cost the enforcer
// pays on top of the kernel round trip.
func BenchmarkHeldExec(b *testing.B) {
	dir := scratch.Tmpfs(b)
	prog := filepath.Join(dir, "prog")
	scratch.CopyFile(b, "/bin/true", prog, 0o755)

	l, err := fanotify.Open(fanotify.Config{Mounts: []string{dir}})
	if err != nil {
		b.Fatal(err)
	}
	held := make(chan *fanotify.Event, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	go l.Run(ctx, func(ev *fanotify.Event) { held <- ev })

	cmd := exec.Command(os.Args[0], "prog", "--flag", "some argument", "another")
	cmd.Env = append(os.Environ(), execHelperEnv+"="+prog)
	if err := cmd.Start(); err != nil {
		l.Close()
		b.Fatal(err)
	}
	var ev *fanotify.Event
	defer func() {
		if ev != nil {
			ev.Respond(true)
		}
		l.Close() // allows the exec if it was never answered
		cmd.Wait()
	}()
	select {
	case ev = <-held:
	case <-time.After(10 * time.Second):
		b.Fatal("no held exec")
	}

	chain, err := Ancestors(ev.PID, 64)
	if err != nil {
		b.Fatal(err)
	}
	for _, bb := range []struct {
		name string
		read func() error
	}{
		{"Task", func() error { _, err := Task(ev.PID); return err }},
		{"ExecArgs", func() error { _, err := ExecArgs(ev.PID); return err }},
		{"Ancestors", func() error { _, err := Ancestors(ev.PID, 64); return err }},
		{"Ancestors1", func() error { _, err := Ancestors(ev.PID, 1); return err }}, // the nearest parent only
		{"All", func() error {
			if _, err := Task(ev.PID); err != nil {
				return err
			}
			if _, err := ExecArgs(ev.PID); err != nil {
				return err
			}
			_, err := Ancestors(ev.PID, 64)
			return err
		}},
	} {
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := bb.read(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(chain)), "ancestors")
		})
	}
}
