//go:build linux

package enforcer

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/enforcer/fanotify"
	"github.com/gatehouse/gatehouse/facts"
	"github.com/gatehouse/gatehouse/internal/scratch"
	"github.com/gatehouse/gatehouse/policy"
)

// heldTestFile writes a file on a scratch tmpfs owned by uid 1000 (who
// could rewrite it) and opens it as an exec's descriptor would be.
func heldTestFile(t *testing.T) (*contentGuards, *os.File, fileStat) {
	t.Helper()
	dir := t.TempDir()
	scratch.Mount(t, dir)
	p := filepath.Join(dir, "tool")
	if err := os.WriteFile(p, []byte("good bytes"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(p, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := stat(f)
	if err != nil {
		t.Fatal(err)
	}
	cg := newContentGuards(time.Now).(*contentGuards)
	scratch.Need(t, cg.off == "", "file leases (fs.leases-enable = 1)")
	return cg, f, st
}

func hashForTest(calls *int) func(*os.File) (policy.Subject, error) {
	return func(f *os.File) (policy.Subject, error) {
		*calls++
		b := make([]byte, 64)
		n, err := f.ReadAt(b, 0)
		if n == 0 {
			return policy.Subject{}, err
		}
		return policy.Subject{SHA256: string(b[:n])}, nil
	}
}

// openWrite opens p for writing in the background (it waits while a
// lease is held) and reports when it got through.
func openWrite(t *testing.T, p string) <-chan error {
	done := make(chan error, 1)
	go func() {
		w, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err == nil {
			_, err = w.WriteAt([]byte("evil bytes"), 0)
			w.Close()
		}
		done <- err
	}()
	return done
}

// heldExecOf starts prog (on the scratch tmpfs a fanotify listener
// marks) and returns its exec's event, held in execve until answered, and
// a wait for the program's end (after the answer).
//
// The exec is made by a shell this test starts (exec "$0" "$@"), never by
// the test process itself: Go starts a program with vfork and keeps its P
// while the child is in execve, so an exec held by this process's own
// listener deadlocks the runtime as soon as a stop-the-world (a GC phase)
// waits for that P while the listener waits for a P to answer — which a
// CI run under -race hit.
func heldExecOf(t *testing.T, events <-chan *fanotify.Event, prog string, args ...string) (*fanotify.Event, func() error) {
	t.Helper()
	cmd := exec.Command("/bin/sh", append([]string{"-c", `exec "$0" "$@"`, prog}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	wait := sync.OnceValue(cmd.Wait)
	select {
	case ev := <-events:
		t.Cleanup(func() {
			ev.Respond(true)
			syscall.Kill(int(ev.PID), syscall.SIGKILL)
			wait()
		})
		return ev, wait
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		wait()
		t.Fatalf("no exec event for %s in 10 s: it was not held", prog)
	}
	return nil, nil
}

func TestContentHoldLetsAWriterInOnlyWhenSettled(t *testing.T) {
	cg, f, st := heldTestFile(t)
	dir := filepath.Dir(f.Name())
	if !cg.mustHold(f, st) {
		t.Fatal("mustHold is false for a file uid 1000 owns")
	}
	calls := 0
	held, subj, err := cg.hold(f, st, f.Name(), facts.Want{}, hashForTest(&calls))
	if err != nil {
		t.Fatalf("hold: %v", err)
	}
	h := held.(*heldFile)
	if subj.SHA256 != "good bytes" || calls != 1 {
		t.Fatalf("hold hashed %q in %d calls", subj.SHA256, calls)
	}
	// A second exec while held reuses the hash.
	if h2, _, err := cg.hold(f, st, f.Name(), facts.Want{}, hashForTest(&calls)); err != nil || h2 != held || calls != 1 {
		t.Fatalf("second hold: %v, same %v, %d hash calls", err, h2 == held, calls)
	}

	// A real exec held in execve by a fanotify listener on the scratch
	// tmpfs: not settled, so it is killed when a writer comes.
	l, err := fanotify.Open(fanotify.Config{Mounts: []string{dir}})
	if err != nil {
		t.Fatalf("fanotify: %v", err)
	}
	events := make(chan *fanotify.Event, 4)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	// The listener never blocks: an exec the test is not waiting for is
	// allowed at once (a held exec nobody answers freezes the process that
	// made it, and with it this test binary's exit).
	go func() {
		l.Run(ctx, func(ev *fanotify.Event) {
			select {
			case events <- ev:
			default:
				t.Logf("an exec the test did not expect (pid %d): allowed", ev.PID)
				ev.Respond(true)
			}
		})
		close(ran)
	}()
	t.Cleanup(func() {
		cancel()
		l.Close()
		select {
		case <-ran:
		case <-time.After(10 * time.Second):
			t.Error("the fanotify listener did not stop within 10 s")
		}
	})
	sleepBin, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(sleepBin)
	if err != nil {
		t.Fatal(err)
	}
	prog := filepath.Join(dir, "sleep")
	if err := os.WriteFile(prog, b, 0o755); err != nil {
		t.Fatal(err)
	}
	// One that ran its program settles (it runs the file: sleep, here
	// the held file's stand-in, as its exe).
	doneEv, _ := heldExecOf(t, events, prog, "30")
	doneEv.Respond(true)
	progSt, err := os.Stat(prog)
	if err != nil {
		t.Fatal(err)
	}
	ps := progSt.Sys().(*syscall.Stat_t)
	waitSettled := time.Now().Add(5 * time.Second)
	for !(heldExec{pidfd: -1, tid: doneEv.PID, tgid: doneEv.PID}).settled(fileKey{uint64(ps.Dev), ps.Ino}) {
		if time.Now().After(waitSettled) {
			t.Fatal("an exec that runs its file is not settled after 5 s")
		}
		time.Sleep(time.Millisecond)
	}
	if err := h.admit(doneEv.PID); err != nil {
		t.Fatalf("admit: %v", err)
	}

	inExecEv, inExecWait := heldExecOf(t, events, prog, "30")
	x := heldExec{pidfd: -1, tid: inExecEv.PID, tgid: inExecEv.PID}
	if x.settled(st.key) {
		t.Error("a task held in execve is settled")
	}
	if err := h.admit(inExecEv.PID); err != nil {
		t.Fatalf("admit: %v", err)
	}
	writer := openWrite(t, f.Name())
	select {
	case err := <-writer:
		t.Fatalf("the writer got through a held lease: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	broken := cg.scan()
	if len(broken) != 1 || broken[0] != h {
		t.Fatalf("scan found %d broken leases, want the held one", len(broken))
	}
	if err := h.admit(int32(os.Getpid())); err == nil {
		t.Error("admit on a broken lease succeeded")
	}
	if _, _, err := cg.hold(f, st, f.Name(), facts.Want{}, hashForTest(&calls)); err == nil {
		t.Error("hold while a writer waits succeeded")
	}
	var killed []int32
	h.settle(func(path string, _ policy.Subject, tid int32) { killed = append(killed, tid) })
	if len(killed) != 1 || killed[0] != inExecEv.PID {
		t.Errorf("settle killed %v, want only the exec held in execve (%d)", killed, inExecEv.PID)
	}
	inExecEv.Respond(true) // too late: it is dead
	select {
	case err := <-writer:
		if err != nil {
			t.Fatalf("the writer after settling: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the writer still waits 5 s after the lease was let go")
	}
	if err := inExecWait(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("the exec held in execve ended with %v; want killed", err)
	}
	if err := syscall.Kill(int(doneEv.PID), 0); err != nil {
		t.Errorf("the settled exec was killed: %v", err)
	}
	if cg.held() != 0 {
		t.Errorf("%d files still held", cg.held())
	}
}

func TestContentHoldRefusesAFileOpenForWriting(t *testing.T) {
	cg, f, st := heldTestFile(t)
	w, err := os.OpenFile(f.Name(), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	calls := 0
	_, _, err = cg.hold(f, st, f.Name(), facts.Want{}, hashForTest(&calls))
	ue, ok := errors.AsType[*unheldError](err)
	if !ok || ue.fs || !strings.Contains(ue.why, "open for writing") {
		t.Fatalf("hold of a file open for writing: %v", err)
	}
	if calls != 0 {
		t.Error("the file was hashed though it could not be held")
	}
}

func TestContentMustHold(t *testing.T) {
	cg, f, _ := heldTestFile(t)
	if err := os.Chown(f.Name(), 0, 0); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		mode os.FileMode
		want bool
	}{{0o755, false}, {0o775, true}, {0o757, true}, {0o555, false}} {
		if err := os.Chmod(f.Name(), tt.mode); err != nil {
			t.Fatal(err)
		}
		st2, err := stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := cg.mustHold(f, st2); got != tt.want {
			t.Errorf("root's file, mode %v: mustHold %v, want %v", tt.mode, got, tt.want)
		}
	}
	// A filesystem whose contents this kernel does not own is never
	// trusted: /proc stands in for one (a FUSE server can claim any
	// owner).
	pf, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	pst, err := stat(pf)
	if err != nil {
		t.Fatal(err)
	}
	if !cg.mustHold(pf, pst) {
		t.Error("a root-owned file on /proc needs no hold")
	}
	if _, _, err := cg.hold(pf, pst, pf.Name(), facts.Want{}, func(*os.File) (policy.Subject, error) { return policy.Subject{}, nil }); err == nil {
		t.Error("a file on /proc was held")
	} else if ue, ok := errors.AsType[*unheldError](err); !ok || !ue.fs {
		t.Errorf("hold on /proc: %v, want a filesystem refusal", err)
	}
}

// BenchmarkContentHold: what holding adds to an exec — the first exec
// of a file (a lease taken, the file hashed under it), the next ones
// (the lease reused; a pidfd and /proc read per exec, dropped once
// settled), and a writer's wait at a lease no exec is using.
func BenchmarkContentHold(b *testing.B) {
	dir := b.TempDir()
	scratch.Mount(b, dir)
	p := filepath.Join(dir, "tool")
	if err := os.WriteFile(p, make([]byte, 64<<10), 0o755); err != nil {
		b.Fatal(err)
	}
	os.Chown(p, 1000, 1000)
	f, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	st, _ := stat(f)
	cg := newContentGuards(time.Now).(*contentGuards)
	scratch.Need(b, cg.off == "", "file leases (fs.leases-enable = 1)")
	hash := func(f *os.File) (policy.Subject, error) { return (&Engine{}).fileFacts(f, p, facts.Want{}) }
	// The execs admitted: a process asleep, settled as one that has left
	// execve is.
	sleeper := exec.Command("sleep", "600")
	if err := sleeper.Start(); err != nil {
		b.Fatal(err)
	}
	defer sleeper.Process.Kill()
	time.Sleep(20 * time.Millisecond)
	tid := int32(sleeper.Process.Pid)

	b.Run("first", func(b *testing.B) {
		for b.Loop() {
			h, _, err := cg.hold(f, st, p, facts.Want{}, hash)
			if err != nil {
				b.Fatal(err)
			}
			hf := h.(*heldFile)
			cg.mu.Lock()
			delete(cg.files, st.key)
			hf.closeLocked()
			cg.mu.Unlock()
		}
	})
	b.Run("held", func(b *testing.B) {
		for b.Loop() {
			h, _, err := cg.hold(f, st, p, facts.Want{}, hash)
			if err != nil {
				b.Fatal(err)
			}
			if err := h.admit(tid); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("writer", func(b *testing.B) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { cg.run(ctx, func(string, policy.Subject, int32) {}); close(done) }()
		defer func() { cancel(); <-done }()
		for b.Loop() {
			if _, _, err := cg.hold(f, st, p, facts.Want{}, hash); err != nil {
				b.Fatal(err)
			}
			w, err := os.OpenFile(p, os.O_WRONLY, 0) // waits for the lease to go
			if err != nil {
				b.Fatal(err)
			}
			w.Close()
		}
	})
}
