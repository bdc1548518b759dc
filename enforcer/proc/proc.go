package proc

import (
	"errors"
	"fmt"
	"time"
)

// TaskInfo is what the process table says about one task.
type TaskInfo struct {
	PID  int32 // the task (thread) asked about
	TGID int32 // its process
	PPID int32 // the parent of its process
	UID  uint32
	EUID uint32
	// GIDs are the real and effective group, then the supplementary
	// groups, each once.
	GIDs []uint32
	// Comm is the task's command name (at most 15 bytes). For a task held
	// in execve it is still the old program's name.
	Comm string
	// TTYNr is the controlling terminal's device number as the kernel
	// encodes it (new_encode_dev), 0 for none.
	TTYNr uint32
	// TTY is the controlling terminal's path, e.g. "/dev/pts/3"; "" for
	// none or one this package does not name.
	TTY string
}

// Ancestor is one process of a parent chain.
type Ancestor struct {
	PID int32
	// Exe is the path of the program it runs; "" for a kernel thread or
	// when unreadable. A program deleted since it started has " (deleted)"
	// appended by the kernel.
	Exe string
}

// ErrNotInExec means the task is not parked inside execve or execveat, so
// its argv cannot be read from the syscall's arguments.
var ErrNotInExec = errors.New("task not held in execve")

// ErrTruncated means argv was longer than ExecArgs reads (maxArgs
// arguments or maxArgBytes bytes); the arguments returned with it are
// complete, the rest is missing.
var ErrTruncated = errors.New("argv truncated")

// notInExecError says what the task was doing instead.
type notInExecError struct {
	tid     int32
	nr      int64
	running bool
	waited  time.Duration // for running: how long it was watched
}

func (e *notInExecError) Error() string {
	if e.running {
		return fmt.Sprintf("task %d is running, not held in execve (still running after %v)", e.tid, e.waited.Round(time.Microsecond))
	}
	return fmt.Sprintf("task %d is not in execve (syscall %d)", e.tid, e.nr)
}

func (e *notInExecError) Is(target error) bool { return target == ErrNotInExec }
