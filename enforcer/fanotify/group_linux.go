package fanotify

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ErrClosed is returned when answering through a closed group. The kernel
// allowed the exec when the group closed.
var ErrClosed = errors.New("fanotify group closed")

// errStopped is read's answer once Close or a done context woke it.
var errStopped = errors.New("fanotify group stopped")

// group is one fanotify descriptor with the machinery to stop its reader.
//
// Lifetime of the descriptor: readers and answer writers hold mu shared
// while they use fd, and Close holds it exclusively to close fd, so a
// descriptor number is never used after it was closed (and perhaps reused
// for something else). Close first wakes the reader through the eventfd,
// which makes it drop mu. Lock order: mu, then pmu.
type group struct {
	fd   int // fanotify descriptor, non-blocking
	wake int // eventfd; readable once Close or the context stops Run
	perm bool

	mu     sync.RWMutex
	closed bool

	// pending holds, for a permission group, the descriptors of events
	// read and not yet answered, so Close can answer them. An event is
	// added while its batch is read (under mu, so Close sees either the
	// event here or the event still in the kernel's queue) and removed
	// only after its answer was written (under mu too).
	pmu     sync.Mutex
	pending map[int32]struct{}

	closeOnce sync.Once
	closeErr  error
	running   sync.Mutex // held by Run; a second concurrent Run fails
}

// newGroup calls fanotify_init and creates the wake eventfd. FAN_NONBLOCK
// is added to flags: the reader waits in poll(2) on both descriptors, never
// in read(2), so Close can always wake it.
func newGroup(flags uint) (*group, error) {
	fd, err := unix.FanotifyInit(flags|unix.FAN_NONBLOCK, unix.O_RDONLY|unix.O_LARGEFILE|unix.O_CLOEXEC)
	if err != nil {
		return nil, initError(err, flags)
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	g := &group{fd: fd, wake: wake}
	if flags&(unix.FAN_CLASS_CONTENT|unix.FAN_CLASS_PRE_CONTENT) != 0 {
		g.perm = true
		g.pending = make(map[int32]struct{})
	}
	return g, nil
}

func initError(err error, flags uint) error {
	switch {
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("fanotify_init: %w: needs root (CAP_SYS_ADMIN in the initial user namespace)", err)
	case errors.Is(err, unix.EINVAL) && flags&unix.FAN_CLASS_CONTENT != 0:
		return fmt.Errorf("fanotify_init: %w: the kernel lacks CONFIG_FANOTIFY_ACCESS_PERMISSIONS or is older than Linux 5.0", err)
	case errors.Is(err, unix.ENOSYS):
		return fmt.Errorf("fanotify_init: %w: the kernel is built without CONFIG_FANOTIFY", err)
	case errors.Is(err, unix.EMFILE):
		return fmt.Errorf("fanotify_init: %w: too many fanotify groups (fs.fanotify.max_user_groups) or open files", err)
	}
	return fmt.Errorf("fanotify_init: %w", err)
}

// markFlags marks a filesystem: the superblock of the path's filesystem,
// so the mark holds every mount of it — bind mounts, and the copies of its
// mounts in other mount namespaces, an unprivileged user's own included
// (unshare -Urm). A mount mark (FAN_MARK_MOUNT) held only the one mount,
// and a user's new namespace got unmarked copies of every mount.
const markFlags = unix.FAN_MARK_ADD | unix.FAN_MARK_FILESYSTEM

// mark marks the filesystem of each path for mask.
func (g *group) mark(paths []string, mask uint64) ([]string, error) {
	if len(paths) == 0 {
		return nil, errors.New("fanotify: no filesystems to mark")
	}
	marked := make([]string, 0, len(paths))
	for _, p := range paths {
		if err := unix.FanotifyMark(g.fd, markFlags, mask, unix.AT_FDCWD, p); err != nil {
			return nil, markError(p, mask, err)
		}
		marked = append(marked, p)
	}
	return marked, nil
}

// addMarks marks the filesystem of each of paths; it returns those it
// marked, and the first error (after trying the rest).
func (g *group) addMarks(paths []string, mask uint64) ([]string, error) {
	var added []string
	var first error
	for _, p := range paths {
		if slices.Contains(added, p) {
			continue
		}
		if err := unix.FanotifyMark(g.fd, markFlags, mask, unix.AT_FDCWD, p); err != nil {
			if first == nil {
				first = markError(p, mask, err)
			}
			continue
		}
		added = append(added, p)
	}
	return added, first
}

// markError says which filesystem failed and what to do about it.
//
// EINVAL for a permission mask has two causes that errno cannot tell
// apart, but by the time we mark, fanotify_init with FAN_CLASS_CONTENT has
// succeeded, which it does not without CONFIG_FANOTIFY_ACCESS_PERMISSIONS.
// So the filesystem refusing permission events (proc and others flagged
// FS_DISALLOW_NOTIFY_PERM, internal SB_NOUSER mounts) or a kernel without
// FAN_OPEN_EXEC_PERM (before 5.0) are left.
func markError(path string, mask uint64, err error) error {
	what := "fanotify mark of the filesystem of " + path
	switch {
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("%s: %w: needs root (CAP_SYS_ADMIN)", what, err)
	case errors.Is(err, unix.EINVAL) && mask&unix.FAN_OPEN_EXEC_PERM != 0:
		return fmt.Errorf("%s for FAN_OPEN_EXEC_PERM: %w: this filesystem refuses permission events (e.g. proc) or the kernel lacks FAN_OPEN_EXEC_PERM (Linux 5.0, CONFIG_FANOTIFY_ACCESS_PERMISSIONS); leave this filesystem out", what, err)
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		return fmt.Errorf("%s: %w: check the path (mounts in the configuration)", what, err)
	case errors.Is(err, unix.EACCES):
		return fmt.Errorf("%s: %w: root cannot reach this path (a FUSE mount without allow_other?); leave this mount out", what, err)
	case errors.Is(err, unix.ENOSPC):
		return fmt.Errorf("%s: %w: too many marks (fs.fanotify.max_user_marks)", what, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// next waits for events, reads a batch into buf and parses it into
// events. It returns errStopped once the group is being stopped and
// ErrClosed after it was closed. A parse error comes with the events framed
// before it, which the caller must still answer.
//
// It polls before reading: when idle that is two syscalls per batch
// (poll, read), never a read that fails with EAGAIN first.
func (g *group) next(buf []byte, events []metadata) ([]metadata, error) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return events, ErrClosed
	}
	fds := []unix.PollFd{
		{Fd: int32(g.fd), Events: unix.POLLIN},
		{Fd: int32(g.wake), Events: unix.POLLIN},
	}
	for {
		fds[0].Revents, fds[1].Revents = 0, 0
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return events, fmt.Errorf("fanotify poll: %w", err)
		}
		if fds[1].Revents != 0 {
			return events, errStopped
		}
		n, err := unix.Read(g.fd, buf)
		switch {
		case err == unix.EINTR || err == unix.EAGAIN:
			continue
		case err != nil:
			return events, fmt.Errorf("fanotify read: %w", err)
		case n == 0:
			// Not something the kernel does; do not spin on it.
			return events, errors.New("fanotify read: end of file")
		}
		events, err = parseEvents(events, buf[:n])
		if g.perm {
			g.pmu.Lock()
			for _, m := range events {
				if m.fd >= 0 {
					g.pending[m.fd] = struct{}{}
				}
			}
			g.pmu.Unlock()
		}
		return events, err
	}
}

// respond writes one fanotify_response while the descriptor is known open.
// It returns ErrClosed after Close, which answered the event already.
func (g *group) respond(fd int32, allow bool) error {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.closed {
		return ErrClosed
	}
	var err error
	for {
		if _, err = unix.Write(g.fd, response(fd, allow)); err != unix.EINTR {
			break
		}
	}
	g.pmu.Lock()
	delete(g.pending, fd)
	g.pmu.Unlock()
	return err
}

func response(fd int32, allow bool) []byte {
	var b [8]byte // struct fanotify_response
	r := uint32(unix.FAN_DENY)
	if allow {
		r = unix.FAN_ALLOW
	}
	binary.NativeEndian.PutUint32(b[0:4], uint32(fd))
	binary.NativeEndian.PutUint32(b[4:8], r)
	return b[:]
}

// stop wakes the reader without closing; used when the context is done.
func (g *group) stop() {
	g.mu.RLock()
	defer g.mu.RUnlock()
	if !g.closed {
		g.signal()
	}
}

func (g *group) signal() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	unix.Write(g.wake, one[:]) // nobody reads wake, so it stays readable
}

// Close wakes the reader and closes the group. A permission group first
// allows everything it holds (release).
func (g *group) Close() error {
	g.closeOnce.Do(func() {
		g.signal() // before Lock: the reader holds mu shared until woken
		g.mu.Lock()
		defer g.mu.Unlock()
		if g.perm {
			g.release()
		}
		g.closed = true
		g.closeErr = unix.Close(g.fd)
		unix.Close(g.wake)
		if g.closeErr != nil {
			g.closeErr = fmt.Errorf("close fanotify group: %w", g.closeErr)
		}
	})
	return g.closeErr
}

// releaseQuiet is how long release waits for stragglers after the marks are
// gone: a task that passed the mark check just before the flush still
// queues its event.
const releaseQuiet = 10 * time.Millisecond

// release answers allow to every event the group holds, read or still
// queued, after removing the marks so no new ones arrive. Caller holds mu.
//
// Closing the descriptor is not enough. The kernel allows waiting events
// when the last reference to the group is dropped, and a child this process
// forked holds one — its copy of the descriptor, which FAN_CLOEXEC closes
// only once its execve succeeds. If that execve is the one being held,
// nothing would ever answer it.
func (g *group) release() {
	unix.FanotifyMark(g.fd, unix.FAN_MARK_FLUSH|unix.FAN_MARK_FILESYSTEM, 0, unix.AT_FDCWD, "")
	g.pmu.Lock()
	for fd := range g.pending {
		unix.Write(g.fd, response(fd, true)) // the handler's copy of fd stays open until its Respond
	}
	clear(g.pending)
	g.pmu.Unlock()

	buf := make([]byte, 4096)
	var events []metadata
	pfd := []unix.PollFd{{Fd: int32(g.fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Read(g.fd, buf)
		switch {
		case err == unix.EINTR:
			continue
		case err == unix.EAGAIN:
			pfd[0].Revents = 0
			if k, perr := unix.Poll(pfd, int(releaseQuiet/time.Millisecond)); k > 0 || perr == unix.EINTR {
				continue
			}
			return
		case err != nil || n == 0:
			return
		}
		events, _ = parseEvents(events[:0], buf[:n])
		for _, m := range events {
			if m.fd >= 0 {
				unix.Write(g.fd, response(m.fd, true))
				unix.Close(int(m.fd))
			}
		}
	}
}

// run is the read loop shared by Listener and WriteWatch: it reads until
// ctx is done or Close, hands each batch to each, and closes the group when
// it returns. each must consume every descriptor in the batch.
func (g *group) run(ctx context.Context, each func([]metadata)) error {
	if !g.running.TryLock() {
		return errors.New("fanotify: Run called while already running")
	}
	defer g.running.Unlock()
	defer g.Close()
	stop := context.AfterFunc(ctx, g.stop)
	defer stop()

	// 8 KiB holds about 340 bare events; the kernel opens a descriptor for
	// each event it copies out, so a bigger batch only means more open files.
	buf := make([]byte, 8192)
	events := make([]metadata, 0, len(buf)/metadataSize)
	for {
		var err error
		events, err = g.next(buf, events[:0])
		if errors.Is(err, errStopped) || errors.Is(err, ErrClosed) {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return nil
		}
		each(events)
		if err != nil {
			return err
		}
	}
}
