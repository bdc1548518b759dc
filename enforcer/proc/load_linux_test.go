package proc

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/enforcer/fanotify"
	"github.com/gatehouse/gatehouse/internal/scratch"
)

// TestExecArgsUnderLoad holds the execs of parallel shell loops on a
// scratch mount and reads every held task's argv as gatehoused does: on
// goroutines of their own, at most 16 at once, while the reading
// goroutine goes on with the next events. Each read must find the task
// parked in execve, however busy the machine: the event arrives before
// the task sleeps, and on a busy machine a fifth of the first looks find
// it running (issue 13: 11% of the denied execs ran). The figures are
// logged: how many reads waited, and for how long.
func TestExecArgsUnderLoad(t *testing.T) {
	const loops, perLoop = 4, 2000
	dir := scratch.Tmpfs(t)
	tool := filepath.Join(dir, "tool")
	scratch.CopyFile(t, "/bin/true", tool, 0o755)
	l, err := fanotify.Open(fanotify.Config{Mounts: []string{dir}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	var (
		mu    sync.Mutex
		reads int
		fails []error
		bad   []string
		waits []time.Duration // of the reads that found the task running
	)
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	done := make(chan error, 1)
	go func() {
		done <- l.Run(ctx, func(ev *fanotify.Event) {
			wg.Go(func() {
				defer ev.Respond(true) // whatever happens: never hold an exec
				sem <- struct{}{}
				args, waited, err := execArgs(ev.PID, parkWait)
				<-sem
				mu.Lock()
				defer mu.Unlock()
				reads++
				if waited > 0 {
					waits = append(waits, waited)
				}
				switch {
				case err != nil:
					fails = append(fails, err)
				case !slices.Equal(args, []string{tool, "--evil"}):
					bad = append(bad, fmt.Sprintf("%q", args))
				}
			})
		})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
		wg.Wait()
	}()

	start := time.Now()
	var cmds sync.WaitGroup
	for range loops {
		cmds.Go(func() {
			loop := fmt.Sprintf(`i=0; while [ $i -lt %d ]; do "$0" --evil || exit 1; i=$((i+1)); done`, perLoop)
			out, err := exec.CommandContext(ctx, "/bin/sh", "-c", loop, tool).CombinedOutput()
			if err != nil {
				t.Errorf("exec loop: %v %s", err, out)
			}
		})
	}
	cmds.Wait()
	elapsed := time.Since(start)
	// The last answers are written before the loops end; give the
	// goroutines that recorded them the lock.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := reads
		mu.Unlock()
		if n >= loops*perLoop {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d execs in %d loops in %v; %d argv reads, %d failed", loops*perLoop, loops, elapsed.Round(time.Millisecond), reads, len(fails))
	if len(waits) > 0 {
		slices.Sort(waits)
		t.Logf("%d reads (%.1f%%) found the task running and waited for it to park: median %v, p99 %v, max %v",
			len(waits), 100*float64(len(waits))/float64(reads), waits[len(waits)/2], waits[len(waits)*99/100], waits[len(waits)-1])
	}
	if reads != loops*perLoop {
		t.Errorf("%d argv reads, want one per exec (%d)", reads, loops*perLoop)
	}
	// A task that does not get a CPU for all of parkWait is not read (the
	// engine then decides without its arguments, by the fail mode); on a
	// two-CPU machine that was 0 to 12 in 8,000 with an 80 ms bound, none
	// in 32,000 with 250 ms. Any other failure is a bug.
	for _, err := range fails {
		var nie *notInExecError
		if !errors.As(err, &nie) || !nie.running || nie.waited < parkWait {
			t.Errorf("argv read failed: %v", err)
		}
	}
	if len(fails) > reads/1000 {
		t.Errorf("%d of %d argv reads found the task still running after %v, e.g.: %v", len(fails), reads, parkWait, fails[0])
	}
	if len(bad) > 0 {
		t.Errorf("%d argv reads returned other arguments, e.g. %s", len(bad), bad[0])
	}
}

// TestExecArgsRunningTask: a task that never parks (here one that spins in
// user space, as a task killed while held runs on to its exit) is given
// up after parkWait, with an error that says so — or, when a look finds
// it preempted in user space (syscall -1: the kernel then reports it as
// in no system call, as happens on a loaded machine), at once as not in
// execve. Either way no argv is read.
func TestExecArgsRunningTask(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	spin := exec.CommandContext(ctx, "/bin/sh", "-c", "while :; do :; done")
	if err := spin.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		spin.Process.Kill()
		spin.Wait()
	}()
	_, waited, err := execArgs(int32(spin.Process.Pid), parkWait)
	var nie *notInExecError
	if !errors.Is(err, ErrNotInExec) || !errors.As(err, &nie) || !(nie.running && waited >= parkWait || !nie.running && nie.nr == -1) {
		t.Fatalf("execArgs(spinning task) = %v after %v, want \"running\" after at least %v, or not in a system call", err, waited, parkWait)
	}
	t.Logf("%v", err)
}
