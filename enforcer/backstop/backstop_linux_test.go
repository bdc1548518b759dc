package backstop

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/cilium/ebpf"

	"github.com/gatehouse/gatehouse/enforcer/fanotify"
	"github.com/gatehouse/gatehouse/internal/scratch"
)

// Safety: every backstop these tests load is scoped to a cgroup the test
// creates and into which only its own helper processes go; it is detached
// by t.Cleanup and, whatever happens, when the test binary exits (nothing
// is pinned). The filesystem it treats as decided is a scratch tmpfs the
// test marks with a listener that allows everything. The test process
// itself starts programs only from the unmarked build directory, never
// from the marked tmpfs (see the fanotify package doc).

// The helper's environment: join a cgroup and exec the next stage; or do
// one of the ways in and report how it ended.
const (
	envJoin = "GATEHOUSE_BACKSTOP_JOIN" // cgroup directory to join before exec'ing envNext
	envNext = "GATEHOUSE_BACKSTOP_NEXT"
	envDo   = "GATEHOUSE_BACKSTOP_DO" // memfd | run:PATH | userns:DIR | fresh:DIR

	exitExecFailed = 3
	exitSignaled   = 100 // + the signal that ended a child
)

func init() {
	if os.Getenv(envJoin) != "" || os.Getenv(envDo) != "" {
		runtime.LockOSThread() // the exec'ing thread is the main one
	}
}

func TestMain(m *testing.M) {
	if dir := os.Getenv(envJoin); dir != "" {
		os.Exit(joinAndExec(dir, os.Getenv(envNext)))
	}
	if do := os.Getenv(envDo); do != "" {
		os.Exit(doWayIn(do))
	}
	if filepath.Base(os.Args[0]) == "helper" {
		// The copy on the marked tmpfs, started without a way in: never
		// the whole test suite again, inside the scope.
		fmt.Fprintln(os.Stderr, "helper started without", envDo)
		os.Exit(2)
	}
	os.Exit(m.Run())
}

func env(drop ...string) []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		k, _, _ := strings.Cut(kv, "=")
		return slices.Contains(drop, k)
	})
}

func joinAndExec(cgroup, next string) int {
	if err := os.WriteFile(filepath.Join(cgroup, "cgroup.procs"), []byte("0"), 0); err != nil {
		fmt.Fprintln(os.Stderr, "join cgroup:", err)
		return 2
	}
	err := syscall.Exec(next, []string{next}, env(envJoin, envNext))
	fmt.Fprintln(os.Stderr, "exec next stage:", err)
	return 2
}

// doWayIn runs in the scope, from the marked tmpfs.
func doWayIn(do string) int {
	what, arg, _ := strings.Cut(do, ":")
	switch what {
	case "memfd": // an anonymous file: memfd_create + fexecve
		fd, err := unix.MemfdCreate("prog", 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, "memfd_create:", err)
			return 2
		}
		b, _ := os.ReadFile("/bin/true")
		unix.Write(fd, b)
		return execFailed(fexecve(fd, []string{"prog"}))
	case "run":
		return execFailed(syscall.Exec(arg, []string{arg}, nil))
	case "loop": // N:PATH — start PATH N times, one after the other
		ns, path, _ := strings.Cut(arg, ":")
		n, _ := strconv.Atoi(ns)
		for range n {
			if err := exec.Command(path).Run(); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 2
			}
		}
		return 0
	case "userns": // as nobody: a child in its own user and mount namespace
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(env(envDo), envDo+"=fresh:"+arg)
		cmd.Stderr = os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}},
		}
		return waitChild(cmd)
	case "nobody":
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(env(envDo), envDo+"=userns:"+arg)
		cmd.Stderr = os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		return waitChild(cmd)
	case "fresh": // inside the new namespaces: a tmpfs nobody marked
		if err := unix.Mount("fresh", arg, "tmpfs", 0, "mode=0755"); err != nil {
			fmt.Fprintln(os.Stderr, "mount tmpfs in the user namespace:", err)
			return 2
		}
		b, _ := os.ReadFile("/bin/true")
		p := filepath.Join(arg, "prog")
		if err := os.WriteFile(p, b, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		return execFailed(syscall.Exec(p, []string{p}, nil))
	}
	return 2
}

// fexecve is execveat(fd, "", argv, {}, AT_EMPTY_PATH), as glibc's
// fexecve does it.
func fexecve(fd int, argv []string) error {
	empty, _ := unix.BytePtrFromString("")
	args := make([]*byte, 0, len(argv)+1)
	for _, a := range argv {
		p, err := unix.BytePtrFromString(a)
		if err != nil {
			return err
		}
		args = append(args, p)
	}
	args = append(args, nil)
	envp := []*byte{nil}
	_, _, errno := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(fd), uintptr(unsafe.Pointer(empty)),
		uintptr(unsafe.Pointer(&args[0])), uintptr(unsafe.Pointer(&envp[0])), unix.AT_EMPTY_PATH, 0)
	return errno
}

func execFailed(err error) int {
	var errno syscall.Errno
	errors.As(err, &errno)
	fmt.Fprintf(os.Stderr, "errno %d: %v\n", int(errno), err)
	return exitExecFailed
}

func waitChild(cmd *exec.Cmd) int {
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return exitSignaled + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	return 0
}

// scope is a test's cgroup, its marked tmpfs and the helper copied there.
type scope struct {
	cgroup string
	mnt    string // marked, allowed: the decided filesystem
	helper string // this test binary, on mnt
	fresh  string // an empty directory for a user namespace's own tmpfs
}

func newScope(t testing.TB) *scope {
	t.Helper()
	scratch.NeedRoot(t, "loads a BPF program and marks a scratch tmpfs with fanotify")
	cg := scratch.Cgroup(t, "gatehouse-backstop-test-")

	base, err := os.MkdirTemp("", "gatehouse-backstop-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	s := &scope{cgroup: cg, mnt: filepath.Join(base, "mnt"), fresh: filepath.Join(base, "fresh")}
	os.Mkdir(s.mnt, 0o755)
	os.Mkdir(s.fresh, 0o755)
	scratch.Mount(t, s.mnt)
	s.helper = filepath.Join(s.mnt, "helper")
	scratch.CopyFile(t, os.Args[0], s.helper, 0o755)

	l, err := fanotify.Open(fanotify.Config{Mounts: []string{s.mnt}})
	if err != nil {
		t.Fatal(err)
	}
	// It allows everything, and ends with the test or after 10 minutes
	// (a benchmark runs long), whichever comes first.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	done := make(chan struct{})
	go func() {
		defer close(done)
		l.Run(ctx, func(ev *fanotify.Event) { ev.Respond(true) })
	}()
	t.Cleanup(func() { cancel(); l.Close(); <-done })
	return s
}

// open loads a backstop scoped to s's cgroup and collects its reports.
func (s *scope) open(t testing.TB, m Mode) (*Backstop, <-chan Report) {
	t.Helper()
	b, err := Open(Config{Mode: m, Cgroup: s.cgroup})
	if err != nil {
		t.Fatalf("load the backstop: %v", err)
	}
	reports := make(chan Report, 1<<16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Run(ctx, func(r Report) {
			select {
			case reports <- r:
			default: // a benchmark's flood
			}
		})
	}()
	t.Cleanup(func() { cancel(); b.Close(); <-done })
	return b, reports
}

// run starts the helper outside the scope; it joins the cgroup, execs its
// copy on the marked tmpfs, which does do. It returns how that ended: the
// exit code, or exitSignaled+N when killed by signal N.
func (s *scope) run(t testing.TB, do string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), envJoin+"="+s.cgroup, envNext+"="+s.helper, envDo+"="+do)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	code := waitChild(cmd)
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within 120s", do)
	}
	if code != 0 && code != exitSignaled+int(syscall.SIGKILL) {
		t.Logf("%s: exit %d, stderr %q", do, code, stderr.String())
	}
	return code
}

func userNamespacesAllowed() bool {
	out, err := exec.Command("setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "unshare", "-Urm", "true").CombinedOutput()
	_ = out
	return err == nil
}

func memfdExecAllowed() bool {
	b, err := os.ReadFile("/proc/sys/vm/memfd_noexec")
	return err != nil || strings.TrimSpace(string(b)) != "2"
}

// TestDenyKillsUndecidedExecs: in deny mode, a program from an anonymous
// file and one from a tmpfs mounted in an unprivileged user's own
// namespace are killed before they run, and reported; a program on a
// marked filesystem runs. Without the backstop both run: the test shows
// the way in first.
func TestDenyKillsUndecidedExecs(t *testing.T) {
	s := newScope(t)
	killed := exitSignaled + int(syscall.SIGKILL)
	if !memfdExecAllowed() {
		t.Log("vm.memfd_noexec = 2 closes memfd execs here; that case is skipped")
	}
	userns := userNamespacesAllowed()

	t.Run("without the backstop the ways in are open", func(t *testing.T) {
		if memfdExecAllowed() {
			if code := s.run(t, "memfd"); code != 0 {
				t.Errorf("memfd exec without the backstop: exit %d, want 0 (it runs)", code)
			}
		}
		if userns {
			if code := s.run(t, "nobody:"+s.fresh); code != 0 {
				t.Errorf("fresh tmpfs exec without the backstop: exit %d, want 0 (it runs)", code)
			}
		}
	})

	b, reports := s.open(t, Deny)
	drain := func() []Report {
		var got []Report
		for {
			select {
			case r := <-reports:
				got = append(got, r)
			case <-time.After(200 * time.Millisecond):
				return got
			}
		}
	}
	t.Run("a marked filesystem's program runs", func(t *testing.T) {
		prog := filepath.Join(s.mnt, "true")
		scratch.CopyFile(t, "/bin/true", prog, 0o755)
		if code := s.run(t, "run:"+prog); code != 0 {
			t.Errorf("exec on the marked tmpfs: exit %d, want 0", code)
		}
		if got := drain(); len(got) != 0 {
			t.Errorf("reports for decided execs: %+v", got)
		}
	})
	t.Run("memfd", func(t *testing.T) {
		scratch.Need(t, memfdExecAllowed(), "execs of memfd files (vm.memfd_noexec < 2)")
		if code := s.run(t, "memfd"); code != killed {
			t.Errorf("memfd exec under the deny backstop: exit %d, want killed by SIGKILL", code)
		}
		got := drain()
		if len(got) != 1 || !got[0].Killed || got[0].FSType != 0x01021994 || !strings.HasPrefix(got[0].Filename, "/dev/fd/") {
			t.Errorf("reports %+v, want one: killed, tmpfs, /dev/fd/N", got)
		}
	})
	t.Run("a tmpfs in an unprivileged user's own namespace", func(t *testing.T) {
		scratch.Need(t, userns, "unprivileged user namespaces")
		if code := s.run(t, "nobody:"+s.fresh); code != killed {
			t.Errorf("fresh tmpfs exec under the deny backstop: exit %d, want the child killed by SIGKILL", code)
		}
		got := drain()
		if len(got) != 1 || !got[0].Killed || got[0].UID != 65534 || got[0].Filename != filepath.Join(s.fresh, "prog") {
			t.Errorf("reports %+v, want one: killed, uid 65534, %s/prog", got, s.fresh)
		}
	})
	st, err := b.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Undecided == 0 || st.Killed != st.Undecided || st.Lost != 0 || st.Seen < st.Undecided {
		t.Errorf("Stats() = %+v", st)
	}
}

// TestAuditReportsAndAllows: audit mode lets the undecided exec run and
// reports it.
func TestAuditReportsAndAllows(t *testing.T) {
	scratch.Need(t, memfdExecAllowed(), "execs of memfd files (vm.memfd_noexec < 2)")
	s := newScope(t)
	b, reports := s.open(t, Audit)
	if code := s.run(t, "memfd"); code != 0 {
		t.Errorf("memfd exec under the audit backstop: exit %d, want 0", code)
	}
	select {
	case r := <-reports:
		if r.Killed || r.Comm == "" {
			t.Errorf("report %+v, want not killed, with the program's name", r)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no report for an undecided exec")
	}
	// Switching to deny takes effect without reloading.
	if err := b.SetMode(Deny); err != nil {
		t.Fatal(err)
	}
	if code := s.run(t, "memfd"); code != exitSignaled+int(syscall.SIGKILL) {
		t.Errorf("after SetMode(Deny): exit %d, want killed", code)
	}
}

// TestScopeLeavesOthersAlone: a deny backstop scoped to a cgroup does not
// touch an undecided exec outside it.
func TestScopeLeavesOthersAlone(t *testing.T) {
	scratch.Need(t, memfdExecAllowed(), "execs of memfd files (vm.memfd_noexec < 2)")
	s := newScope(t)
	s.open(t, Deny)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0]) // not in the cgroup
	cmd.Env = append(os.Environ(), envDo+"=memfd")
	if code := waitChild(cmd); code != 0 {
		t.Errorf("memfd exec outside the scope: exit %d, want 0", code)
	}
}

func TestReportLayout(t *testing.T) {
	if n := binary.Size(execReport{}); n != reportSize {
		t.Errorf("struct report is %d bytes, reportSize says %d", n, reportSize)
	}
	if n := binary.Size(execConfig{}); n != 24 {
		t.Errorf("struct config is %d bytes, want 24", n)
	}
}

func TestCgroupScopeRefusesOtherDirectories(t *testing.T) {
	if _, _, err := cgroupScope(t.TempDir()); err == nil || !strings.Contains(err.Error(), "not a cgroup v2") {
		t.Errorf("cgroupScope of a plain directory: %v", err)
	}
}

// BenchmarkBackstopExec measures what the backstop adds to a program
// start: fork+exec+wait of /bin/true from a helper in the scope, without
// the backstop and with it in audit mode, for a program on a marked
// filesystem (decided: the program returns after reading the superblock's
// mask) and one on an unmarked one (undecided: it also writes a report).
// bpf-ns/exec is the program's own run time per exec, from the kernel's
// BPF statistics (kernel.bpf_stats_enabled while it runs).
func BenchmarkBackstopExec(b *testing.B) {
	s := newScope(b)
	marked := filepath.Join(s.mnt, "true")
	scratch.CopyFile(b, "/bin/true", marked, 0o755)
	for _, with := range []bool{false, true} {
		for _, where := range []string{"decided", "undecided"} {
			name := map[bool]string{false: "without", true: "audit"}[with] + "/" + where
			b.Run(name, func(b *testing.B) {
				prog := "/bin/true"
				if where == "decided" {
					prog = marked
				}
				var bs *Backstop
				if with {
					stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
					if err != nil {
						b.Fatalf("enable BPF statistics: %v", err)
					}
					defer stats.Close()
					bs, _ = s.open(b, Audit)
				}
				b.ResetTimer()
				if code := s.run(b, fmt.Sprintf("loop:%d:%s", b.N, prog)); code != 0 {
					b.Fatalf("exec loop: exit %d", code)
				}
				b.StopTimer()
				if bs != nil {
					ps, err := bs.objs.OnExec.Stats()
					if err != nil {
						b.Fatal(err)
					}
					if ps.RunCount > 0 {
						b.ReportMetric(float64(ps.Runtime.Nanoseconds())/float64(ps.RunCount), "bpf-ns/exec")
					}
					bs.Close()
				}
			})
		}
	}
}

// BenchmarkBackstopExecPaired alternates the same exec loop without and
// with the backstop (audit), five pairs, and reports the median of the
// per-pair ratios of execs per second (with ÷ without), so that a noisy
// machine's drift cancels out (shared/reference/exec-benchmark.md). Run it
// with -benchtime 1x; each leg is 2,000 execs.
func BenchmarkBackstopExecPaired(b *testing.B) {
	s := newScope(b)
	marked := filepath.Join(s.mnt, "true")
	scratch.CopyFile(b, "/bin/true", marked, 0o755)
	const n, pairs = 2000, 5
	for _, where := range []string{"decided", "undecided"} {
		b.Run(where, func(b *testing.B) {
			prog := "/bin/true"
			if where == "decided" {
				prog = marked
			}
			leg := func(with bool) float64 {
				if with {
					bs, _ := s.open(b, Audit)
					defer bs.Close()
				}
				start := time.Now()
				if code := s.run(b, fmt.Sprintf("loop:%d:%s", n, prog)); code != 0 {
					b.Fatalf("exec loop: exit %d", code)
				}
				return n / time.Since(start).Seconds()
			}
			var ratios []float64
			for range pairs {
				without := leg(false)
				with := leg(true)
				ratios = append(ratios, with/without)
				b.Logf("%s: without %.0f exec/s, with %.0f exec/s, ratio %.3f", where, without, with, with/without)
			}
			slices.Sort(ratios)
			b.ReportMetric(ratios[pairs/2], "ratio-median")
			b.ReportMetric(ratios[0], "ratio-min")
			b.ReportMetric(ratios[pairs-1], "ratio-max")
		})
	}
}
