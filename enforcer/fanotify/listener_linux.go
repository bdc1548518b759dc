package fanotify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Config says what to watch.
type Config struct {
	// Mounts are paths whose filesystems are marked (FAN_MARK_ADD|
	// FAN_MARK_FILESYSTEM) for FAN_OPEN_EXEC_PERM: the whole filesystem a
	// path lives on, through every mount of it in every mount namespace.
	// Callers pass points from LocalFilesystems.
	Mounts []string
}

// Listener holds execs on its filesystems until each is answered.
type Listener struct {
	g       *group
	marksMu sync.Mutex
	marks   []string
	pid     int // this process, whose own execs are never held

	events      atomic.Uint64
	selfAllowed atomic.Uint64
	malformed   atomic.Uint64
	responses   atomic.Uint64
	cached      atomic.Uint64 // ignore marks set by RespondCached
}

// Stats counts what a Listener has seen. Events not yet answered are
// Events - SelfAllowed - Responses (less any failed answers).
type Stats struct {
	// Events is permission events read, including SelfAllowed.
	Events uint64
	// SelfAllowed is execs by this process, allowed without the handler.
	SelfAllowed uint64
	// Malformed is events without a descriptor or with a mask not asked
	// for; those with a descriptor were allowed.
	Malformed uint64
	// Responses is answers written by Event.Respond.
	Responses uint64
}

// Open creates a permission group and marks the filesystems of cfg.Mounts
// for FAN_OPEN_EXEC_PERM. On error nothing stays marked.
//
// The descriptors the kernel opens for events are O_RDONLY|O_LARGEFILE, so
// a file of any size can be read through Event.File.
func Open(cfg Config) (*Listener, error) {
	g, err := newGroup(unix.FAN_CLASS_CONTENT | unix.FAN_CLOEXEC | unix.FAN_REPORT_TID |
		unix.FAN_UNLIMITED_QUEUE | unix.FAN_UNLIMITED_MARKS)
	if err != nil {
		return nil, err
	}
	marks, err := g.mark(cfg.Mounts, unix.FAN_OPEN_EXEC_PERM)
	if err != nil {
		g.Close()
		return nil, err
	}
	return &Listener{g: g, marks: marks, pid: os.Getpid()}, nil
}

// Marks returns the paths whose filesystems are marked.
func (l *Listener) Marks() []string {
	l.marksMu.Lock()
	defer l.marksMu.Unlock()
	return append([]string(nil), l.marks...)
}

// AddMounts marks the filesystems of more paths (filesystems mounted after
// Open) and returns those it marked. A path marked before is marked again:
// what is mounted there now may be another filesystem. Marking a
// filesystem already marked changes nothing.
func (l *Listener) AddMounts(paths []string) ([]string, error) {
	l.marksMu.Lock()
	defer l.marksMu.Unlock()
	added, err := l.g.addMarks(paths, unix.FAN_OPEN_EXEC_PERM)
	for _, p := range added {
		if !slices.Contains(l.marks, p) {
			l.marks = append(l.marks, p)
		}
	}
	return added, err
}

// Run reads events until ctx is done or Close is called, and calls handle
// for each exec on the reading goroutine. handle must not block: it answers
// at once or hands the Event to a goroutine that calls Respond, exactly
// once. Execs by this process itself are allowed without calling handle
// (but read the package doc before exec'ing from this process).
//
// When Run returns it has closed the Listener, and the kernel has allowed
// every exec still held, including those handed to handle and not yet
// answered. It returns nil after Close, ctx.Err() when ctx is done, and an
// error when the kernel's messages cannot be read or parsed (a metadata
// version this build does not know, a truncated event). Run may be called
// once.
func (l *Listener) Run(ctx context.Context, handle func(*Event)) error {
	if handle == nil {
		l.Close()
		return errors.New("fanotify: Run needs a handler")
	}
	return l.g.run(ctx, func(batch []metadata) {
		for _, m := range batch {
			l.dispatch(m, handle)
		}
	})
}

func (l *Listener) dispatch(m metadata, handle func(*Event)) {
	if m.fd < 0 {
		// FAN_NOFD: a queue overflow (impossible with FAN_UNLIMITED_QUEUE)
		// or an event without a file. Nothing to answer.
		l.malformed.Add(1)
		return
	}
	if m.mask&unix.FAN_OPEN_EXEC_PERM == 0 {
		l.malformed.Add(1)
		l.allowAndClose(m.fd)
		return
	}
	l.events.Add(1)
	if l.isSelf(m.pid) {
		l.selfAllowed.Add(1)
		l.allowAndClose(m.fd)
		return
	}
	handle(&Event{
		File: os.NewFile(uintptr(m.fd), "/proc/self/fd/"+strconv.Itoa(int(m.fd))),
		PID:  m.pid,
		Mask: m.mask,
		l:    l,
		fd:   m.fd,
	})
}

// isSelf reports whether thread tid belongs to this process. With
// FAN_REPORT_TID the event names a thread; tgkill with signal 0 checks
// membership in one syscall without touching /proc. A held task cannot
// exit and have its id reused while we look.
func (l *Listener) isSelf(tid int32) bool {
	if int(tid) == l.pid {
		return true
	}
	if tid <= 0 {
		return false
	}
	return unix.Tgkill(l.pid, int(tid), 0) == nil
}

// allowAndClose answers an event the handler never sees. An error means the
// group is closed (and Close allowed the event) or the event is gone.
func (l *Listener) allowAndClose(fd int32) {
	l.g.respond(fd, true)
	unix.Close(int(fd))
}

// Close stops Run, allows every exec still held — events handed to handle
// and not answered, and events still queued — and closes the group. It
// removes the marks first and waits until no event has arrived for 10 ms,
// so it takes at least that long. Events handed out still need Respond,
// which then returns ErrClosed, to close their File.
//
// Closing the descriptor alone would not do: the kernel allows held execs
// when the group's last reference goes, and a child forked by this process
// holds a copy until its execve succeeds — possibly the execve held.
//
// It is safe to call more than once and from any goroutine.
func (l *Listener) Close() error {
	return l.g.Close()
}

// Stats returns the counters.
func (l *Listener) Stats() Stats {
	return Stats{
		Events:      l.events.Load(),
		SelfAllowed: l.selfAllowed.Load(),
		Malformed:   l.malformed.Load(),
		Responses:   l.responses.Load(),
	}
}

// Event is one exec held by the kernel until Respond.
type Event struct {
	// File is the kernel's descriptor of the file being executed, opened
	// read-only. Read facts from it; do not close it (Respond does, after
	// answering: the kernel matches the answer by descriptor number, and a
	// number closed early may be reused by another event). Its Name is
	// /proc/self/fd/N, valid until Respond.
	File *os.File
	// PID is the thread doing the exec (FAN_REPORT_TID), in the daemon's
	// pid namespace.
	PID int32
	// Mask is the event mask; FAN_OPEN_EXEC_PERM is set.
	Mask uint64

	l        *Listener
	fd       int32
	answered atomic.Bool
}

// Respond answers the kernel, FAN_ALLOW or FAN_DENY, then closes File. It
// may be called from any goroutine. Only the first call does anything;
// later calls return an error. After the Listener closed it returns an
// error wrapping ErrClosed: the kernel has already allowed the exec.
func (e *Event) Respond(allow bool) error {
	if !e.answered.CompareAndSwap(false, true) {
		return fmt.Errorf("fanotify event fd %d for pid %d: answered twice", e.fd, e.PID)
	}
	err := e.l.g.respond(e.fd, allow)
	if err == nil {
		e.l.responses.Add(1)
	}
	e.File.Close()
	if err != nil {
		return fmt.Errorf("fanotify answer for pid %d: %w", e.PID, err)
	}
	return nil
}

// RespondCached allows the exec and asks the kernel not to hold this file
// again: an ignore mark on its inode for FAN_OPEN_EXEC_PERM, which the
// kernel clears by itself when the file is modified. Use it only for an
// answer that no user, argument list or parent chain could change; call
// Listener.FlushCache when the policy changes. If the mark cannot be set
// the exec is still allowed.
func (e *Event) RespondCached() error {
	if !e.answered.Load() {
		if err := unix.FanotifyMark(e.l.g.fd, unix.FAN_MARK_ADD|unix.FAN_MARK_IGNORED_MASK, unix.FAN_OPEN_EXEC_PERM, int(e.fd), ""); err == nil {
			e.l.cached.Add(1)
		}
	}
	return e.Respond(true)
}

// FlushCache removes every ignore mark RespondCached set, so every file is
// held and decided again.
func (l *Listener) FlushCache() error {
	if err := unix.FanotifyMark(l.g.fd, unix.FAN_MARK_FLUSH, 0, unix.AT_FDCWD, ""); err != nil {
		return fmt.Errorf("fanotify flush of cached allows: %w", err)
	}
	return nil
}

// Path returns the path of File as the daemon's mount namespace sees it
// (readlink of /proc/self/fd/N). A file unlinked since has " (deleted)"
// appended by the kernel. Valid until Respond.
func (e *Event) Path() (string, error) {
	if e.answered.Load() {
		return "", fmt.Errorf("fanotify event for pid %d: path after answer", e.PID)
	}
	p, err := os.Readlink(e.File.Name())
	if err != nil {
		return "", fmt.Errorf("path of exec by pid %d: %w", e.PID, err)
	}
	return p, nil
}
