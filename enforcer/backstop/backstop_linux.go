package backstop

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/ringbuf"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// Backstop is the loaded and attached program.
//
// Safety: the program is detached by Close, and by the kernel when this
// process exits however it exits (the link and the program live on
// descriptors, nothing is pinned). A detached backstop kills nothing.
type Backstop struct {
	objs execObjects
	tp   link.Link
	rd   *ringbuf.Reader

	closeOnce sync.Once
	closeErr  error
}

// Open loads the program, sets its mode and scope and attaches it to
// sched_process_exec. Off is not a mode to open with.
func Open(cfg Config) (*Backstop, error) {
	if cfg.Mode != Audit && cfg.Mode != Deny {
		return nil, fmt.Errorf("backstop: open in mode %v: want audit or deny", cfg.Mode)
	}
	c := execConfig{Mode: cfg.Mode.bpfMode(), Self: uint32(os.Getpid())}
	if cfg.Cgroup != "" {
		id, level, err := cgroupScope(cfg.Cgroup)
		if err != nil {
			return nil, err
		}
		c.ScopeCgroup, c.ScopeLevel = id, level
	}
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK.
	if err := rlimit.RemoveMemlock(); err != nil {
		return nil, fmt.Errorf("%w: raise RLIMIT_MEMLOCK: %w", ErrUnavailable, err)
	}
	b := &Backstop{}
	if err := loadExecObjects(&b.objs, nil); err != nil {
		return nil, loadError(err)
	}
	if err := b.objs.Config.Put(uint32(0), c); err != nil {
		b.objs.Close()
		return nil, fmt.Errorf("backstop: set its configuration: %w", err)
	}
	tp, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sched_process_exec", Program: b.objs.OnExec})
	if err != nil {
		b.objs.Close()
		return nil, fmt.Errorf("%w: attach to the sched_process_exec tracepoint: %w", ErrUnavailable, err)
	}
	b.tp = tp
	rd, err := ringbuf.NewReader(b.objs.Reports)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("backstop: read its reports: %w", err)
	}
	b.rd = rd
	return b, nil
}

// loadError says why the kernel refused the program, and what would help.
func loadError(err error) error {
	switch {
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("%w: the kernel refused the BPF program (%w): it needs root (CAP_BPF and CAP_PERFMON) and a kernel that allows raw tracepoint programs (a lockdown in confidentiality mode forbids reading kernel memory)", ErrUnavailable, err)
	case errors.Is(err, ebpf.ErrNotSupported), errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("%w: this kernel lacks what the program needs (BPF ring buffers, Linux 5.8; BTF at /sys/kernel/btf/vmlinux, CONFIG_DEBUG_INFO_BTF): %w", ErrUnavailable, err)
	}
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		return fmt.Errorf("%w: the kernel's verifier refused the program: %v", ErrUnavailable, ve)
	}
	return fmt.Errorf("%w: load the BPF program: %w", ErrUnavailable, err)
}

// cgroupScope returns the id and depth of the cgroup v2 directory dir.
// The id of a cgroup v2 is its directory's inode number; its depth is how
// far below the hierarchy's root it lies.
func cgroupScope(dir string) (id uint64, level uint32, err error) {
	dir = filepath.Clean(dir)
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		return 0, 0, fmt.Errorf("backstop: scope cgroup %s: %w", dir, err)
	}
	if fs.Type != unix.CGROUP2_SUPER_MAGIC {
		return 0, 0, fmt.Errorf("backstop: scope cgroup %s is not a cgroup v2 directory (mount cgroup2, or name a directory under it)", dir)
	}
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return 0, 0, fmt.Errorf("backstop: scope cgroup %s: %w", dir, err)
	}
	for p := dir; p != "/"; p = filepath.Dir(p) {
		var up unix.Stat_t
		if err := unix.Stat(filepath.Dir(p), &up); err != nil {
			return 0, 0, fmt.Errorf("backstop: scope cgroup %s: %w", dir, err)
		}
		if up.Dev != st.Dev {
			return st.Ino, level, nil
		}
		level++
	}
	return 0, 0, fmt.Errorf("backstop: scope cgroup %s: no cgroup v2 root above it", dir)
}

// pollEvery is how often Run looks for reports the program did not wake
// it for (it wakes the reader only when 64 are waiting).
const pollEvery = 100 * time.Millisecond

// Run reads reports until ctx is done or Close, and calls handle for each
// on the reading goroutine, at most pollEvery after the exec. It returns
// nil after Close, ctx.Err() when ctx is done. Run may be called once; it
// does not close the Backstop.
func (b *Backstop) Run(ctx context.Context, handle func(Report)) error {
	stop := context.AfterFunc(ctx, func() { b.rd.Close() })
	defer stop()
	var rec ringbuf.Record
	b.rd.SetDeadline(time.Now().Add(pollEvery))
	for {
		err := b.rd.ReadInto(&rec)
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			b.rd.SetDeadline(time.Now().Add(pollEvery))
			continue
		case errors.Is(err, ringbuf.ErrClosed), errors.Is(err, os.ErrClosed):
			return ctx.Err()
		case err != nil:
			return fmt.Errorf("backstop: read report: %w", err)
		}
		r, err := decodeReport(rec.RawSample)
		if err != nil {
			continue // a build whose layout differs; cannot happen with the embedded object
		}
		handle(r)
	}
}

// Stats sums the program's counters over all CPUs.
func (b *Backstop) Stats() (Stats, error) {
	var out [4]uint64
	for k := range out {
		var perCPU []uint64
		if err := b.objs.Counts.Lookup(uint32(k), &perCPU); err != nil {
			return Stats{}, fmt.Errorf("backstop: read counters: %w", err)
		}
		for _, v := range perCPU {
			out[k] += v
		}
	}
	return Stats{Seen: out[0], Undecided: out[1], Killed: out[2], Lost: out[3]}, nil
}

// SetMode switches between audit and deny without detaching.
func (b *Backstop) SetMode(m Mode) error {
	if m != Audit && m != Deny {
		return fmt.Errorf("backstop: mode %v: want audit or deny", m)
	}
	var c execConfig
	if err := b.objs.Config.Lookup(uint32(0), &c); err != nil {
		return fmt.Errorf("backstop: read its configuration: %w", err)
	}
	c.Mode = m.bpfMode()
	if err := b.objs.Config.Put(uint32(0), c); err != nil {
		return fmt.Errorf("backstop: set its mode: %w", err)
	}
	return nil
}

// Close detaches the program first — from then on nothing is killed —
// then frees it. Safe to call more than once.
func (b *Backstop) Close() error {
	b.closeOnce.Do(func() {
		if b.tp != nil {
			b.closeErr = b.tp.Close()
		}
		if b.rd != nil {
			b.rd.Close()
		}
		b.objs.Close()
	})
	return b.closeErr
}
