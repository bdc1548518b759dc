//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gatehouse/gatehouse/internal/scratch"
	"github.com/gatehouse/gatehouse/localapi"
)

// The exec backstop end to end: gatehoused with exec_backstop: deny,
// scoped to a cgroup this test creates (exec_backstop_cgroup), so that
// nothing outside it can be killed. Only this test's helpers go into the
// cgroup, and they start only programs on the daemon's marked tmpfs, or
// the way in under test.

// The helper: join the cgroup and exec the next stage (this test binary
// copied onto the marked tmpfs), which runs a program from a memfd.
const (
	e2eJoin = "GATEHOUSE_E2E_JOIN"
	e2eNext = "GATEHOUSE_E2E_NEXT"
	e2eDo   = "GATEHOUSE_E2E_DO"
)

// init runs the helper before TestMain: during package initialisation the
// main goroutine is on the main thread, the one whose exec counts.
func init() {
	if cg := os.Getenv(e2eJoin); cg != "" {
		if err := os.WriteFile(filepath.Join(cg, "cgroup.procs"), []byte("0"), 0); err != nil {
			fmt.Fprintln(os.Stderr, "join cgroup:", err)
			os.Exit(2)
		}
		next := os.Getenv(e2eNext)
		env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
			return strings.HasPrefix(kv, e2eJoin+"=") || strings.HasPrefix(kv, e2eNext+"=")
		})
		fmt.Fprintln(os.Stderr, "exec next stage:", syscall.Exec(next, []string{next}, env))
		os.Exit(2)
	}
	if filepath.Base(os.Args[0]) == "helper" && os.Getenv(e2eDo) != "memfd" {
		// The copy on the marked tmpfs, started without its task: never
		// the whole test suite again, inside the scope.
		fmt.Fprintln(os.Stderr, "helper started without", e2eDo)
		os.Exit(2)
	}
	if os.Getenv(e2eDo) == "memfd" {
		fd, err := unix.MemfdCreate("sneaky", 0)
		if err != nil {
			os.Exit(2)
		}
		b, _ := os.ReadFile("/bin/true")
		unix.Write(fd, b)
		empty, _ := unix.BytePtrFromString("")
		arg0, _ := unix.BytePtrFromString("sneaky")
		argv := []*byte{arg0, nil}
		envp := []*byte{nil}
		_, _, errno := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(fd), uintptr(unsafe.Pointer(empty)),
			uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envp[0])), unix.AT_EMPTY_PATH, 0)
		fmt.Fprintln(os.Stderr, "fexecve:", errno)
		os.Exit(3)
	}
}

// TestE2EBackstopKillsAMemfdProgram: a program run from a memfd_create
// file, which no mark can hold, is killed before it runs, recorded as a
// deny with rule 0, and counted; gatehouse status shows the gaps the
// backstop closes as closed. Without the backstop (the default) the same
// program runs, and status names the gap and its fix.
func TestE2EBackstopKillsAMemfdProgram(t *testing.T) {
	b, err := os.ReadFile("/proc/sys/vm/memfd_noexec")
	scratch.Need(t, err != nil || strings.TrimSpace(string(b)) != "2", "execs of memfd files (vm.memfd_noexec < 2)")
	cg := scratch.Cgroup(t, "gatehouse-e2e-")
	e := newEnv(t)
	helper := filepath.Join(e.mnt, "bin", "helper")
	run := func() (killed bool, code int) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, os.Args[0])
		cmd.Env = append(os.Environ(), e2eJoin+"="+cg, e2eNext+"="+helper, e2eDo+"=memfd")
		out, err := cmd.CombinedOutput()
		if ctx.Err() != nil {
			t.Fatal("the memfd helper did not finish within 20s")
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				return ws.Signal() == syscall.SIGKILL, -1
			}
			t.Logf("helper: %v %s", err, out)
			return false, ee.ExitCode()
		}
		return false, 0
	}

	// Off, as by default: the way in is open, and status says so.
	e.start()
	e.install(os.Args[0], "bin/helper")
	if killed, code := run(); killed || code != 0 {
		t.Fatalf("memfd program without the backstop: killed %v, exit %d; want it to run", killed, code)
	}
	out, err := e.cli(1000, "status")
	if err != nil || !strings.Contains(out, "gap:     memfd_exec") || !strings.Contains(out, "vm.memfd_noexec=2") ||
		!strings.Contains(out, "gap:     exec_backstop") {
		t.Errorf("gatehouse status without the backstop: %v\n%s", err, out)
	}
	e.stop()

	e.config = fmt.Sprintf("exec_backstop: deny\nexec_backstop_cgroup: %s\n", cg)
	e.start()
	if killed, _ := run(); !killed {
		t.Fatal("memfd program under exec_backstop: deny was not killed")
	}
	ev := e.waitEvent("the backstop's kill", func(ev localapi.Event) bool {
		return ev.Kind == "exec" && ev.Action == "deny" && strings.Contains(ev.Detail, "killed by the exec backstop")
	})
	if ev.Allowed || ev.Rule != 0 || ev.UID != 0 || !strings.HasPrefix(ev.Path, "/dev/fd/") || !strings.Contains(ev.Detail, "tmpfs") {
		t.Errorf("backstop event = %+v", ev)
	}
	if n := e.counter("undecided_killed"); n != 1 {
		t.Errorf("undecided_killed = %d, want 1", n)
	}
	out, err = e.cli(0, "status")
	if err != nil || strings.Contains(out, "gap:     memfd_exec") || !strings.Contains(out, "closed:  exec_backstop, memfd_exec") {
		t.Errorf("gatehouse status with the backstop: %v\n%s", err, out)
	}
	// A program on the marked filesystem is decided as before.
	ok := e.install("/bin/true", "bin/ok")
	if err := e.run(ok, runOpt{}); err != nil {
		t.Errorf("a program on the marked tmpfs under the backstop: %v", err)
	}

	// A daemon that dies, however it dies, kills nothing more: the kernel
	// detaches the program with its last descriptor.
	e.cmd.Process.Kill()
	<-e.waited
	e.cmd = nil
	if killed, code := run(); killed || code != 0 {
		t.Errorf("memfd program after gatehoused was killed: killed %v, exit %d; want it to run (backstop gone)", killed, code)
	}
}
