package fanotify

import (
	"context"
	"errors"
	"slices"
	"sync"

	"golang.org/x/sys/unix"
)

// WriteWatch reports files closed after writing, for cache invalidation.
//
// It is a notification group, separate from the Listener's permission
// group: its events are never waited for by the writer, so a slow reader
// costs memory (the queue is unlimited), never a frozen task.
//
// What it does not see: writes through a mapping with no close yet, a file
// still open for writing (exec then fails with ETXTBSY anyway), truncate(2)
// by path. A cache should also validate size, mtime and ctime.
type WriteWatch struct {
	g       *group
	marksMu sync.Mutex
	marks   []string
}

// OpenWriteWatch marks the filesystems of cfg.Mounts for FAN_CLOSE_WRITE
// in a FAN_CLASS_NOTIF group, so writes through any mount of them count.
func OpenWriteWatch(cfg Config) (*WriteWatch, error) {
	g, err := newGroup(unix.FAN_CLASS_NOTIF | unix.FAN_CLOEXEC | unix.FAN_UNLIMITED_QUEUE | unix.FAN_UNLIMITED_MARKS)
	if err != nil {
		return nil, err
	}
	marks, err := g.mark(cfg.Mounts, unix.FAN_CLOSE_WRITE)
	if err != nil {
		g.Close()
		return nil, err
	}
	return &WriteWatch{g: g, marks: marks}, nil
}

// Marks returns the paths whose filesystems are marked.
func (w *WriteWatch) Marks() []string {
	w.marksMu.Lock()
	defer w.marksMu.Unlock()
	return append([]string(nil), w.marks...)
}

// AddMounts marks the filesystems of more paths; see Listener.AddMounts.
func (w *WriteWatch) AddMounts(mounts []string) ([]string, error) {
	w.marksMu.Lock()
	defer w.marksMu.Unlock()
	added, err := w.g.addMarks(mounts, unix.FAN_CLOSE_WRITE)
	for _, p := range added {
		if !slices.Contains(w.marks, p) {
			w.marks = append(w.marks, p)
		}
	}
	return added, err
}

// Run reads events until ctx is done or Close is called and calls handle
// with the device and inode of each file closed after writing, on the
// reading goroutine. handle(0, 0) means events were lost (a queue overflow,
// which FAN_UNLIMITED_QUEUE should prevent): forget everything. No real
// file has device 0. Run closes the WriteWatch when it returns; it may be
// called once.
func (w *WriteWatch) Run(ctx context.Context, handle func(dev, ino uint64)) error {
	if handle == nil {
		w.Close()
		return errors.New("fanotify: Run needs a handler")
	}
	return w.g.run(ctx, func(batch []metadata) {
		for _, m := range batch {
			if m.fd < 0 {
				if m.mask&unix.FAN_Q_OVERFLOW != 0 {
					handle(0, 0)
				}
				continue
			}
			var st unix.Stat_t
			err := unix.Fstat(int(m.fd), &st)
			unix.Close(int(m.fd))
			if err == nil && m.mask&unix.FAN_CLOSE_WRITE != 0 {
				handle(uint64(st.Dev), st.Ino)
			}
		}
	})
}

// Close stops Run and closes the group.
func (w *WriteWatch) Close() error {
	return w.g.Close()
}
