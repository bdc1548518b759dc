// Package enforcertest has in-memory fakes of the engine's platform seams —
// the event source, a held exec and the per-exec facts reader — for tests
// of the engine and of what is built on it (the local API server). Real
// files give the facts and hashes; only the kernel is faked.
package enforcertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/enforcer"
)

// Exec is one held exec. Fd is the descriptor the engine reads (closed at
// the answer); Known, when set, is what the source reports instead (a
// source without a descriptor sets Path and Stat, as Endpoint Security
// does). The answer arrives on Answer.
type Exec struct {
	Fd     *os.File
	Known  *enforcer.ExecFacts
	TID    int32
	Due    time.Time
	Answer chan bool
	// Cached is whether the answer let the kernel remember it (read after
	// the answer arrived).
	Cached bool
	once   sync.Once
}

// NewExec returns an exec of the opened file f by task tid.
func NewExec(f *os.File, tid int32) *Exec {
	return &Exec{Fd: f, TID: tid, Answer: make(chan bool, 1)}
}

// PID implements enforcer.Exec.
func (x *Exec) PID() int32 { return x.TID }

// Facts implements enforcer.Exec.
func (x *Exec) Facts() enforcer.ExecFacts {
	if x.Known != nil {
		return *x.Known
	}
	return enforcer.ExecFacts{File: x.Fd}
}

// Deadline implements enforcer.Exec.
func (x *Exec) Deadline() time.Time { return x.Due }

// Respond implements enforcer.Exec; a second answer is an error.
func (x *Exec) Respond(allow, cache bool) error {
	answered := false
	x.once.Do(func() {
		answered = true
		x.Cached = cache
		x.Answer <- allow
		if x.Fd != nil {
			x.Fd.Close()
		}
	})
	if !answered {
		return errors.New("answered twice")
	}
	return nil
}

// FileOp is one held file operation; its answer arrives on Answer.
type FileOp struct {
	Op     enforcer.FileOpFacts
	TID    int32
	Answer chan bool
	once   sync.Once
}

// NewFileOp returns a file operation by task tid.
func NewFileOp(op enforcer.FileOpFacts, tid int32) *FileOp {
	return &FileOp{Op: op, TID: tid, Answer: make(chan bool, 1)}
}

// PID implements enforcer.FileOp.
func (o *FileOp) PID() int32 { return o.TID }

// Facts implements enforcer.FileOp.
func (o *FileOp) Facts() enforcer.FileOpFacts { return o.Op }

// Deadline implements enforcer.FileOp.
func (o *FileOp) Deadline() time.Time { return time.Time{} }

// Respond implements enforcer.FileOp; a second answer, or asking the
// kernel to cache one, is an error.
func (o *FileOp) Respond(allow, cache bool) error {
	if cache {
		return errors.New("a file operation's answer was offered to the kernel's cache")
	}
	answered := false
	o.once.Do(func() { answered = true; o.Answer <- allow })
	if !answered {
		return errors.New("answered twice")
	}
	return nil
}

// SendOp hands o to the engine running s and returns its answer, failing
// t if none comes within 15 seconds.
func (s *Source) SendOp(t testing.TB, o *FileOp) bool {
	t.Helper()
	s.FileOps <- o
	select {
	case allow := <-o.Answer:
		return allow
	case <-time.After(15 * time.Second):
		t.Fatalf("%s %s %s (task %d) not answered within 15s", o.Op.Kind, o.Op.From, o.Op.To, o.TID)
	}
	return false
}

// Source delivers the execs sent on Execs, the file operations sent on
// FileOps, and the attempts on the daemon sent on Tampers.
type Source struct {
	Execs   chan *Exec
	FileOps chan *FileOp
	Written chan [2]uint64 // dev, ino of files closed after writing
	Tampers chan enforcer.TamperAttempt
	done    chan struct{}
	once    sync.Once
}

// NewSource returns a source with nothing to deliver yet.
func NewSource() *Source {
	return &Source{Execs: make(chan *Exec), FileOps: make(chan *FileOp), Written: make(chan [2]uint64), Tampers: make(chan enforcer.TamperAttempt),
		done: make(chan struct{})}
}

// Run implements enforcer.Source.
func (s *Source) Run(ctx context.Context, h enforcer.Handler) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-s.done:
			return nil
		case x := <-s.Execs:
			h.Exec(x)
		case o := <-s.FileOps:
			h.FileOp(o)
		case w := <-s.Written:
			h.FileWritten(w[0], w[1])
		case a := <-s.Tampers:
			h.Tamper(a)
		}
	}
}

// Close implements enforcer.Source.
func (s *Source) Close() error { s.once.Do(func() { close(s.done) }); return nil }

// Describe implements enforcer.Source.
func (s *Source) Describe() (string, []string) { return "fake", []string{"/fake"} }

// Task is what Tasks knows of one pid.
type Task struct {
	Task      enforcer.Task
	Args      []string
	Ancestors []enforcer.Ancestor
	// Exe is the program the task runs, for OpenExe ("" : only as an
	// ancestor of another task).
	Exe string
	// Slow delays Task; ArgsBlock, when set, holds ExecArgs until closed
	// (an argv in memory backed by a stuck FUSE file).
	Slow      time.Duration
	ArgsBlock chan struct{}
	// Fail, when set, says what ExecArgs and Ancestors fail with (a task
	// that could not be read); they return Args and Ancestors as the part
	// read. A pointer keeps Task small enough for the map to hold it
	// inline, so the benchmarks built on the fake allocate no more.
	Fail *Failure
}

// Failure is how a task's facts cannot be read.
type Failure struct {
	Args, Ancestors error
}

// Tasks is an in-memory process table.
type Tasks struct {
	// ExeBlock, when set, holds OpenExe until closed (an executable on a
	// stuck FUSE mount).
	ExeBlock chan struct{}
	// Procs is what Processes lists (the machine's processes).
	Procs []enforcer.Process
	mu    sync.Mutex
	tasks map[int32]Task
}

// Processes implements enforcer.ProcessLister.
func (t *Tasks) Processes() ([]enforcer.Process, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]enforcer.Process(nil), t.Procs...), nil
}

// Set records pid's task.
func (t *Tasks) Set(pid int32, ft Task) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.tasks == nil {
		t.tasks = map[int32]Task{}
	}
	t.tasks[pid] = ft
}

func (t *Tasks) get(pid int32) (Task, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ft, ok := t.tasks[pid]
	if !ok {
		return ft, fmt.Errorf("no task %d", pid)
	}
	return ft, nil
}

// Task implements enforcer.Tasks.
func (t *Tasks) Task(pid int32) (enforcer.Task, error) {
	ft, err := t.get(pid)
	if ft.Slow > 0 {
		time.Sleep(ft.Slow)
	}
	return ft.Task, err
}

// ExecArgs implements enforcer.Tasks.
func (t *Tasks) ExecArgs(pid int32) ([]string, error) {
	ft, err := t.get(pid)
	if ft.ArgsBlock != nil {
		<-ft.ArgsBlock
	}
	if err == nil && ft.Fail != nil {
		err = ft.Fail.Args
	}
	return ft.Args, err
}

// Ancestors implements enforcer.Tasks.
func (t *Tasks) Ancestors(pid int32, max int) ([]enforcer.Ancestor, error) {
	ft, err := t.get(pid)
	if err == nil && ft.Fail != nil {
		err = ft.Fail.Ancestors
	}
	return ft.Ancestors, err
}

// OpenExe implements enforcer.Tasks: the task's executable, or an
// ancestor's.
func (t *Tasks) OpenExe(pid int32) (*os.File, error) {
	if t.ExeBlock != nil {
		<-t.ExeBlock
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if ft, ok := t.tasks[pid]; ok && ft.Exe != "" {
		return os.Open(ft.Exe)
	}
	for _, ft := range t.tasks {
		for _, a := range ft.Ancestors {
			if a.PID == pid {
				return os.Open(a.Exe)
			}
		}
	}
	return nil, fmt.Errorf("no exe for %d", pid)
}

// Cwd implements enforcer.Tasks.
func (t *Tasks) Cwd(pid int32) string { return "/" }

// Send hands x to the engine running s and returns its answer, failing t
// if none comes within 15 seconds.
func (s *Source) Send(t testing.TB, x *Exec) bool {
	t.Helper()
	s.Execs <- x
	select {
	case allow := <-x.Answer:
		return allow
	case <-time.After(15 * time.Second):
		name := "an exec without a descriptor"
		if x.Fd != nil {
			name = x.Fd.Name()
		}
		t.Fatalf("exec of %s (task %d) not answered within 15s", name, x.TID)
	}
	return false
}

// Program writes an executable file dir/rel (making its directories) and
// returns its path.
func Program(t testing.TB, dir, rel, content string) string {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}
