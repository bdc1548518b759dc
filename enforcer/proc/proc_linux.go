package proc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Task reads the identity of task pid (a thread id works: /proc/TID is
// there even though /proc does not list it) from /proc/PID/status and
// /proc/PID/stat.
func Task(pid int32) (TaskInfo, error) {
	buf := bufs.Get().(*[4096]byte)
	defer bufs.Put(buf)
	b, err := readProc(pid, "status", buf[:])
	if err != nil {
		return TaskInfo{}, err
	}
	st, err := parseStatus(b)
	if err != nil {
		return TaskInfo{}, fmt.Errorf("task %d: %w", pid, err)
	}
	b, err = readProc(pid, "stat", buf[:])
	if err != nil {
		return TaskInfo{}, err
	}
	sf, err := parseStat(b)
	if err != nil {
		return TaskInfo{}, fmt.Errorf("task %d: %w", pid, err)
	}
	gids := make([]uint32, 0, 2+len(st.groups))
	for _, g := range append([]uint32{st.gid, st.egid}, st.groups...) {
		if !slices.Contains(gids, g) {
			gids = append(gids, g)
		}
	}
	return TaskInfo{
		PID:   pid,
		TGID:  st.tgid,
		PPID:  st.ppid,
		UID:   st.uid,
		EUID:  st.euid,
		GIDs:  gids,
		Comm:  sf.comm,
		TTYNr: sf.ttyNr,
		TTY:   TTYPath(sf.ttyNr),
	}, nil
}

// Processes lists every process (not thread) in /proc with its
// identity; one that exits while being read is left out.
func Processes() ([]TaskInfo, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	out := make([]TaskInfo, 0, len(names))
	for _, n := range names {
		pid, err := strconv.ParseInt(n, 10, 32)
		if err != nil || pid <= 0 {
			continue
		}
		if t, err := Task(int32(pid)); err == nil {
			out = append(out, t)
		}
	}
	return out, nil
}

// TTYPath names the terminal with device number ttyNr as /proc/PID/stat
// encodes it: /dev/pts/N, /dev/ttyN or /dev/ttySN. It returns "" for 0,
// for other kinds of terminal, and when that path in this mount namespace
// is not the character device ttyNr (a container's /dev/pts, say).
func TTYPath(ttyNr uint32) string {
	path, major, minor := ttyDevice(ttyNr)
	if path == "" {
		return ""
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil ||
		st.Mode&unix.S_IFMT != unix.S_IFCHR || uint64(st.Rdev) != unix.Mkdev(major, minor) {
		return ""
	}
	return path
}

// ExecArgs returns the argv of task tid, which must be parked inside
// execve or execveat — as a task is while it waits on a fanotify
// FAN_OPEN_EXEC_PERM event, whose pid (with FAN_REPORT_TID) is tid. It
// reads the syscall's arguments from /proc/TID/syscall and the pointer
// array and strings from /proc/TID/mem (root or CAP_SYS_PTRACE).
//
// The argv is the caller's, as passed to execve. When the kernel holds one
// execve for several files, each event reads that same argv: a "#!" script
// and then its interpreter, an ELF program and then its ld.so, a
// binfmt_misc file and then its interpreter. The interpreter's own argv
// (interpreter, script path, args) is being built in the new image and is
// not readable yet.
//
// The event reaches the listener a moment before the task is asleep in
// execve; ExecArgs looks again until it is (parkWait, 250 ms at most),
// sleeping its thread in between.
//
// Errors, with which the caller should evaluate the exec without its
// arguments:
//   - ErrNotInExec: the task is in another syscall (uselib(2) also opens
//     for exec), still running after parkWait (killed while held), or in
//     none — programs started by the kernel
//     itself (usermode helpers such as modprobe or a core_pattern pipe),
//     and 32-bit (compat) tasks, whose syscall numbers differ;
//   - ErrTruncated, with the complete arguments before the cut, when argv
//     has more than 4096 arguments or 256 KiB;
//   - permission (not root), a task gone, an unreadable argv, or an
//     unsupported architecture (other than amd64 and arm64).
//
// Reading another task's memory can block, and the task's owner chooses
// where argv points: into a file mapping not yet read in, say, on a FUSE
// filesystem whose server never answers — then ExecArgs blocks until the
// server answers or the connection is aborted (seen on Linux 6.18). execve
// copies argv only after the permission event (an execve with a bad argv
// pointer is held first and fails with EFAULT after), so nothing has
// touched those pages yet. Call ExecArgs where a deadline can answer the
// exec without it, from a bounded pool — never on the fanotify reading
// goroutine.
//
// The argv read is advisory: until the kernel copies it, after the
// answer, any task sharing the memory (another thread, a CLONE_VM child)
// or allowed to write it (ptrace, process_vm_writev) can change it.
func ExecArgs(tid int32) ([]string, error) {
	args, _, err := execArgs(tid, parkWait)
	return args, err
}

// parkWait bounds how long ExecArgs waits for a held task to be parked.
//
// The kernel queues the permission event, wakes the listener and only then
// puts the task to sleep; until it sleeps, /proc/TID/syscall says
// "running". Every answer to the group also wakes every task waiting on
// it, to look whether the answer is theirs. On a busy machine such a task
// then waits for a CPU: with four exec loops on two CPUs a fifth of the
// first looks found the task running, and it parked after about 1 ms
// (median), 10–40 ms (p99), at worst 180 ms (issue 13; an 80 ms bound
// still missed up to 12 in 8,000). Waiting costs the task nothing — it
// cannot run before it has a CPU either. The bound is for a task that
// never parks: one killed while held runs on to its exit. It stays inside
// the engine's wait for the whole read.
const parkWait = 250 * time.Millisecond

// execArgs is ExecArgs, waiting at most wait for the task to be parked;
// waited is how long it waited (0 when the first look found it parked).
func execArgs(tid int32, wait time.Duration) (args []string, waited time.Duration, err error) {
	if !archSupported {
		return nil, 0, fmt.Errorf("argv of task %d: unsupported architecture %s", tid, runtime.GOARCH)
	}
	sc, waited, err := parkedSyscall(tid, wait)
	if err != nil {
		return nil, waited, err
	}
	args, err = readExecArgv(tid, sc)
	return args, waited, err
}

// parkedSyscall reads /proc/TID/syscall until it names the system call the
// task sleeps in, for at most wait. Between looks it gives the CPU away —
// the task may be waiting for this very CPU — first with sched_yield, then
// with sleeps doubling from 10 µs to 500 µs (so a task that parks is seen
// within half a millisecond; a look at a running task costs a few µs).
func parkedSyscall(tid int32, wait time.Duration) (syscallState, time.Duration, error) {
	var start time.Time
	pause := 10 * time.Microsecond
	for try := 0; ; try++ {
		buf := bufs.Get().(*[4096]byte)
		b, err := readProc(tid, "syscall", buf[:])
		if err != nil {
			bufs.Put(buf)
			return syscallState{}, since(start), err
		}
		sc, err := parseSyscall(string(b))
		bufs.Put(buf)
		if err != nil {
			return syscallState{}, since(start), fmt.Errorf("task %d: %w", tid, err)
		}
		if !sc.running {
			return sc, since(start), nil
		}
		switch {
		case try == 0:
			start = time.Now()
		case time.Since(start) >= wait:
			return sc, since(start), &notInExecError{tid: tid, running: true, waited: time.Since(start)}
		}
		if try < 3 {
			unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
			continue
		}
		// Nanosleep, not time.Sleep: the runtime's timers sleep at least
		// about a millisecond.
		ts := unix.NsecToTimespec(pause.Nanoseconds())
		unix.Nanosleep(&ts, nil)
		pause = min(2*pause, 500*time.Microsecond)
	}
}

// since is the time since start, 0 for a zero start.
func since(start time.Time) time.Duration {
	if start.IsZero() {
		return 0
	}
	return time.Since(start)
}

// readExecArgv reads the argv of task tid, parked in the system call sc.
func readExecArgv(tid int32, sc syscallState) ([]string, error) {
	var argv uint64
	switch {
	case sc.nr == sysExecve: // execve(path, argv, envp)
		argv = sc.args[1]
	case sc.nr == sysExecveat: // execveat(dirfd, path, argv, envp, flags)
		argv = sc.args[2]
	default:
		return nil, &notInExecError{tid: tid, nr: sc.nr}
	}
	path := procPath(tid, "mem")
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, procError(path, err)
	}
	defer unix.Close(fd)
	r := readers.Get().(*argvReader)
	defer readers.Put(r)
	args, err := r.read(memFile(fd), argv, ptrSize)
	if err != nil {
		return args, fmt.Errorf("argv of task %d: %w", tid, err)
	}
	return args, nil
}

// memFile reads /proc/TID/mem with pread(2), address as offset.
type memFile int

func (m memFile) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		k, err := unix.Pread(int(m), p[n:], off+int64(n))
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return n, err
		case k == 0:
			return n, io.EOF // the task's memory is gone (it exited)
		}
		n += k
	}
	return n, nil
}

// Ancestors returns the parent chain of pid, its parent first, up to and
// including pid 1 or at most max entries. It stops at parent 0 (init, or a
// parent outside this pid namespace) and at a loop. Between reading a
// parent's id and reading the parent, the parent can exit and its id be
// reused; for a task held in execve its own parent is stable only if that
// parent is waiting for it (vfork).
func Ancestors(pid int32, max int) ([]Ancestor, error) {
	buf := bufs.Get().(*[4096]byte)
	defer bufs.Put(buf)
	var chain []Ancestor
	for cur := pid; len(chain) < max; {
		b, err := readProc(cur, "stat", buf[:])
		if err != nil {
			return chain, fmt.Errorf("ancestors of %d: %w", pid, err)
		}
		sf, err := parseStat(b)
		if err != nil {
			return chain, fmt.Errorf("ancestors of %d: task %d: %w", pid, cur, err)
		}
		if sf.ppid <= 0 {
			return chain, nil
		}
		if sf.ppid == pid || slices.ContainsFunc(chain, func(a Ancestor) bool { return a.PID == sf.ppid }) {
			return chain, fmt.Errorf("ancestors of %d: loop at %d", pid, sf.ppid)
		}
		chain = append(chain, Ancestor{PID: sf.ppid, Exe: readlink(procPath(sf.ppid, "exe"))})
		cur = sf.ppid
	}
	return chain, nil
}

// OpenExe opens the program pid runs, through /proc/PID/exe: the file
// itself, even if it was renamed or deleted. For a task held in execve it
// is still the old program.
func OpenExe(pid int32) (*os.File, error) {
	return os.Open(procPath(pid, "exe"))
}

// Cwd returns the working directory of pid, "" when it cannot be read.
func Cwd(pid int32) string {
	return readlink(procPath(pid, "cwd"))
}

func procPath(pid int32, name string) string {
	return "/proc/" + strconv.FormatInt(int64(pid), 10) + "/" + name
}

// readlink returns the target of path, "" when it cannot be read.
func readlink(path string) string {
	var buf [256]byte
	n, err := unix.Readlink(path, buf[:])
	if err != nil {
		return ""
	}
	if n < len(buf) {
		return string(buf[:n])
	}
	s, err := os.Readlink(path) // longer than buf: let os grow the buffer
	if err != nil {
		return ""
	}
	return s
}

// bufs holds read buffers for /proc files: most fit in 4 KiB.
var bufs = sync.Pool{New: func() any { return new([4096]byte) }}

// readProc reads /proc/PID/name whole into buf, growing it if need be, with
// open, read and close: no fstat, no poller registration.
//
// These files are seq_files that the kernel renders whole on the first
// read, so a read that does not fill the buffer has returned everything,
// and the read that would return 0 is skipped (each syscall counts: this
// runs while an exec waits).
func readProc(pid int32, name string, buf []byte) ([]byte, error) {
	path := procPath(pid, name)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, procError(path, err)
	}
	defer unix.Close(fd)
	b := buf[:0]
	for {
		n, err := unix.Read(fd, b[len(b):cap(b)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, procError(path, err)
		}
		b = b[:len(b)+n]
		if n == 0 || len(b) < cap(b) {
			return b, nil
		}
		b = slices.Grow(b, cap(b))
	}
}

func procError(path string, err error) error {
	if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
		return fmt.Errorf("read %s: %w (needs root or CAP_SYS_PTRACE)", path, err)
	}
	return fmt.Errorf("read %s: %w", path, err)
}
