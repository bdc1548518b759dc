//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gatehouse/gatehouse/localapi"
)

// Argument rules under load, end to end (issue 13 item 3): the real daemon
// reads the arguments of every held exec of a program with an argument
// rule, however busy the machine, and decides the exec by the rule when it
// cannot.

// e2eBadArgv makes this test binary execve the path it names with an argv
// pointer into unmapped memory, and print the errno execve returned.
const e2eBadArgv = "GATEHOUSE_E2E_BADARGV"

func init() {
	if path := os.Getenv(e2eBadArgv); path != "" {
		p, _ := unix.BytePtrFromString(path)
		envp := []*byte{nil}
		// The kernel asks for the exec permission before it copies argv
		// (Linux 6.x): the daemon is asked about an exec whose arguments
		// cannot be read, and then execve fails with EFAULT if allowed.
		_, _, errno := unix.Syscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(p)), 16, uintptr(unsafe.Pointer(&envp[0])))
		fmt.Print(int(errno))
		os.Exit(0)
	}
}

// TestE2EArgsRuleUnderLoad runs four shell loops of 2,000 execs each of a
// program that a rule denies with --evil, at once: none of them runs —
// before, one in ten did, the daemon having read /proc before the held
// task was asleep in execve. An exec whose argv cannot be read at all is
// denied by the rule too, counted and recorded as such.
func TestE2EArgsRuleUnderLoad(t *testing.T) {
	const loops, perLoop = 4, 2000
	e := newEnv(t)
	e.start()
	tool := e.install("/bin/true", "bin/tool")

	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var mu sync.Mutex
	var ran, denied int
	var wg sync.WaitGroup
	for range loops {
		wg.Go(func() {
			// sh is not on the marked mount; each of its children execs
			// the tool, which is.
			loop := fmt.Sprintf(`ran=0; denied=0; i=0
while [ $i -lt %d ]; do
	if "$0" --evil 2>/dev/null; then ran=$((ran+1)); else denied=$((denied+1)); fi
	i=$((i+1))
done
echo $ran $denied`, perLoop)
			out, err := exec.CommandContext(ctx, "/bin/sh", "-c", loop, tool).Output()
			if err != nil {
				t.Errorf("exec loop: %v", err)
				return
			}
			var r, d int
			if _, err := fmt.Sscan(string(out), &r, &d); err != nil {
				t.Errorf("exec loop printed %q: %v", out, err)
				return
			}
			mu.Lock()
			ran, denied = ran+r, denied+d
			mu.Unlock()
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		t.Fatal("the exec loops did not finish within 4 minutes")
	}
	elapsed := time.Since(start)
	unread, without := e.counter("args_unavailable"), e.counter("decided_without_args")
	t.Logf("%d execs of tool --evil in %d loops in %v: %d ran, %d denied; args_unavailable %d, decided_without_args %d; decision p50 %v, p99 %v",
		loops*perLoop, loops, elapsed.Round(time.Millisecond), ran, denied, unread, without,
		time.Duration(e.counter("decision_p50_ns")), time.Duration(e.counter("decision_p99_ns")))
	if ran != 0 || denied != loops*perLoop {
		t.Errorf("%d of %d execs of tool --evil ran (%d denied)", ran, loops*perLoop, denied)
	}
	if without != unread {
		t.Errorf("decided_without_args = %d, args_unavailable = %d: every exec whose arguments were not read needed them", without, unread)
	}

	// Arguments that cannot be read at all: the deny rule on them decides.
	ctx, cancel = context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), e2eBadArgv+"="+tool)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bad-argv helper: %v", err)
	}
	errno, err := strconv.Atoi(string(out))
	if err != nil {
		t.Fatalf("bad-argv helper printed %q", out)
	}
	if syscall.Errno(errno) != syscall.EPERM {
		t.Errorf("execve with an unreadable argv: %v, want EPERM (EFAULT: the daemon allowed it)", syscall.Errno(errno))
	}
	ev := e.waitEvent("the exec without arguments", func(ev localapi.Event) bool {
		return ev.Path == tool && strings.Contains(ev.Detail, "arguments not read")
	})
	if ev.Allowed || ev.Action != "deny" {
		t.Errorf("event %+v, want a deny", ev)
	}
	if n := e.counter("decided_without_args"); n != without+1 {
		t.Errorf("decided_without_args = %d after the unreadable argv, want %d", n, without+1)
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatal("the bad-argv helper did not finish within 20s")
	}
	t.Logf("unreadable argv: %s", ev.Detail)
}
