package enforcer

import "os"

// Task is what the engine learns about the task doing an exec, from the
// kernel's process table (/proc on Linux). Identity comes from here, never
// from anything the program or user says.
type Task struct {
	UID  uint32
	GIDs []uint32
	PPID int32
	// TTY is the controlling terminal's device path, "" for none.
	TTY string
}

// Ancestor is one process of a parent chain.
type Ancestor struct {
	PID int32
	// Exe is the path of the running executable.
	Exe string
}

// Tasks reads per-exec facts. The Linux implementation reads /proc; tests
// use a fake.
type Tasks interface {
	Task(pid int32) (Task, error)
	// ExecArgs returns argv (argv[0] included) of a task held inside
	// execve, or an error when it is not available.
	ExecArgs(tid int32) ([]string, error)
	// Ancestors returns the parent chain of pid — its parent first — at
	// most max entries.
	Ancestors(pid int32, max int) ([]Ancestor, error)
	// OpenExe opens the executable pid is running, for its facts.
	OpenExe(pid int32) (*os.File, error)
	// Cwd returns the working directory of pid, "" when unknown.
	Cwd(pid int32) string
}
