//go:build linux

package enforcer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gatehouse/gatehouse/facts"
	"github.com/gatehouse/gatehouse/policy"
)

// Holding the bytes decided (docs/enforcer.md, "The file rewritten during
// its exec"). fanotify asks inside the exec's open, before exec denies
// writes to the file; a user who can write the file can change it after
// the decision and before the kernel reads it. So for a decision on the
// contents of a file its owner can write, the engine takes a read lease on
// it first (fcntl F_SETLEASE): a lease cannot be had while anyone has the
// file open for writing, and anyone who opens it for writing afterwards
// waits in open until the lease holder lets go. Then:
//
//   - the bytes are hashed under the lease and decided on;
//   - a writer who comes before the exec has denied writes holds the
//     file's write access while he waits, so the exec fails with ETXTBSY
//     (text file busy) when it tries to deny them: nothing of the new
//     bytes runs;
//   - the engine lets go only once every exec it allowed under the lease
//     is past that point or gone; one that is not within settleWait is
//     killed (SIGKILL through a pidfd taken while it was held), before it
//     runs anything.
//
// A lease the engine keeps between execs lets the next one reuse the hash.

const (
	// maxHeldFiles bounds the leases kept; the least recently used one
	// with no exec in flight is let go first.
	maxHeldFiles = 1024
	// heldIdle is how long a lease no exec used is kept: the next exec
	// of the file within it is not hashed again, and its filesystem
	// cannot be unmounted (but lazily) meanwhile.
	heldIdle = 10 * time.Second
	// settleWait is how long a broken lease waits for its execs to fail
	// their write denial (microseconds, normally) before killing them.
	settleWait = 50 * time.Millisecond
	// pruneAt is how many execs a file may have in flight before the
	// finished ones are dropped at the next admit.
	pruneAt = 64
)

// holdableFS lists the filesystems whose files' contents only writes
// through this kernel change, so a lease holds them: local disk and memory
// filesystems. A network or FUSE filesystem's server changes contents as
// it likes; an overlay's layers can be written beneath it.
var holdableFS = map[int64]string{
	unix.EXT4_SUPER_MAGIC:     "ext4", // ext2 and ext3 too
	unix.XFS_SUPER_MAGIC:      "xfs",
	unix.BTRFS_SUPER_MAGIC:    "btrfs",
	unix.TMPFS_MAGIC:          "tmpfs",
	unix.RAMFS_MAGIC:          "ramfs",
	unix.F2FS_SUPER_MAGIC:     "f2fs",
	unix.SQUASHFS_MAGIC:       "squashfs",
	unix.EROFS_SUPER_MAGIC_V1: "erofs",
	0x2fc12fc1:                "zfs",
	unix.MSDOS_SUPER_MAGIC:    "vfat", // removable disks, owned by whoever mounted them
	unix.EXFAT_SUPER_MAGIC:    "exfat",
	0x7366746e:                "ntfs3",
}

// fsNames names the filesystems a refusal most often meets.
var fsNames = map[int64]string{
	unix.FUSE_SUPER_MAGIC:      "fuse",
	unix.NFS_SUPER_MAGIC:       "nfs",
	unix.SMB2_SUPER_MAGIC:      "smb",
	unix.CIFS_SUPER_MAGIC:      "cifs",
	unix.OVERLAYFS_SUPER_MAGIC: "overlay",
	0x6a656a63:                 "fakeowner",
	unix.V9FS_MAGIC:            "9p",
	unix.PROC_SUPER_MAGIC:      "proc",
}

// contentGuards holds files' contents with leases.
type contentGuards struct {
	mu    sync.Mutex
	files map[fileKey]*heldFile
	fs    map[uint64]string // device → "" when its files can be held, else why not
	now   func() time.Time
	off   string // why no file can be held (file leases are off), "" when they can
}

// heldFile is one file under a read lease.
type heldFile struct {
	g      *contentGuards
	key    fileKey
	path   string
	fd     int // a duplicate of an exec's descriptor, holding the lease
	subj   policy.Subject
	want   facts.Want // what subj was gathered with
	broken bool       // a writer came; being settled
	used   time.Time
	execs  []heldExec
}

// heldExec is an exec allowed under a lease, until it is past the point
// where the kernel denies writes.
type heldExec struct {
	pidfd     int
	tid, tgid int32
}

func newContentGuards(now func() time.Time) contentGuard {
	g := &contentGuards{files: map[fileKey]*heldFile{}, fs: map[uint64]string{}, now: now}
	if v, ok := sysctlInt("fs/leases-enable"); ok && v == 0 {
		g.off = "file leases are off on this machine (fs.leases-enable = 0)"
	}
	return g
}

// sysctlInt reads one integer from /proc/sys.
func sysctlInt(name string) (int, bool) {
	b, err := os.ReadFile("/proc/sys/" + name)
	if err != nil {
		return 0, false
	}
	v, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	return v, err == nil
}

// mustHold reports whether a decision on f's contents needs them held:
// anyone but root may write it, or its filesystem is not one whose
// contents only this kernel changes (a FUSE server can claim any owner).
func (g *contentGuards) mustHold(f *os.File, st fileStat) bool {
	return !st.sealed || g.fsRefusal(f, st.key.dev) != ""
}

// fsRefusal is why files on f's filesystem cannot be held, "" when they
// can; remembered per device.
func (g *contentGuards) fsRefusal(f *os.File, dev uint64) string {
	g.mu.Lock()
	why, ok := g.fs[dev]
	g.mu.Unlock()
	if ok {
		return why
	}
	var s unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &s); err != nil {
		return "its filesystem cannot be read: " + err.Error() // not remembered
	}
	if _, ok := holdableFS[s.Type]; !ok {
		name := fsNames[s.Type]
		if name == "" {
			name = fmt.Sprintf("type %#x", s.Type)
		}
		why = "it is on a " + name + " filesystem, whose contents can change other than by writes through this kernel"
	}
	g.mu.Lock()
	if len(g.fs) > 4096 {
		clear(g.fs)
	}
	g.fs[dev] = why
	g.mu.Unlock()
	return why
}

// leaseHeld reports whether fd still holds its read lease: a writer
// breaking it turns it to F_UNLCK at once, though it lasts until let go.
func leaseHeld(fd int) bool {
	t, err := unix.FcntlInt(uintptr(fd), unix.F_GETLEASE, 0)
	return err == nil && t == unix.F_RDLCK
}

// letGo gives up fd's lease and closes it. The lease belongs to the open
// file, which the exec's descriptor shares: closing fd alone would leave it
// until the source closes that one too.
func letGo(fd int) {
	unix.FcntlInt(uintptr(fd), unix.F_SETLEASE, unix.F_UNLCK)
	unix.Close(fd)
}

// hold takes f's contents under a lease and returns them hashed there.
func (g *contentGuards) hold(f *os.File, st fileStat, path string, want facts.Want, hash func(*os.File) (policy.Subject, error)) (contentHold, policy.Subject, error) {
	now := g.now()
	g.mu.Lock()
	if h := g.files[st.key]; h != nil && !h.broken && h.want.Covers(want) && leaseHeld(h.fd) {
		h.used = now
		s := h.subj
		g.mu.Unlock()
		return h, s, nil
	}
	g.mu.Unlock()
	if g.off != "" {
		return nil, policy.Subject{}, &unheldError{why: g.off, fs: true}
	}
	if why := g.fsRefusal(f, st.key.dev); why != "" {
		return nil, policy.Subject{}, &unheldError{why: why, fs: true}
	}
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, policy.Subject{}, fmt.Errorf("duplicate the exec's descriptor: %w", err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETLEASE, unix.F_RDLCK); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.EAGAIN) {
			return nil, policy.Subject{}, &unheldError{why: "it is open for writing"}
		}
		return nil, policy.Subject{}, &unheldError{why: "its filesystem refused a lease: " + err.Error(), fs: true}
	}
	// f and fd are one open file: the bytes read through f are the held ones.
	subj, err := hash(f)
	if err != nil {
		letGo(fd)
		return nil, policy.Subject{}, err
	}
	if !leaseHeld(fd) {
		letGo(fd)
		return nil, policy.Subject{}, &unheldError{why: "it was opened for writing while it was checked"}
	}
	h := &heldFile{g: g, key: st.key, path: path, fd: fd, subj: subj, want: want, used: now}
	g.mu.Lock()
	defer g.mu.Unlock()
	if old := g.files[st.key]; old != nil && !old.broken {
		// Another exec of the file took a lease meanwhile; no write came
		// between (neither lease broke), so its hash is this one.
		letGo(fd)
		old.used = now
		return old, old.subj, nil
	}
	g.files[st.key] = h
	if len(g.files) > maxHeldFiles {
		g.evictLocked()
	}
	return h, subj, nil
}

// evictLocked lets go of the least recently used lease with no exec in
// flight.
func (g *contentGuards) evictLocked() {
	var oldest *heldFile
	for _, h := range g.files {
		if len(h.execs) == 0 && (oldest == nil || h.used.Before(oldest.used)) {
			oldest = h
		}
	}
	if oldest != nil {
		delete(g.files, oldest.key)
		letGo(oldest.fd)
	}
}

// admit records that tid's exec is to run the held bytes. An error means
// they may have changed since they were decided: deny.
func (h *heldFile) admit(tid int32) error {
	// Most execs are by a process's only thread, whose id is the
	// process's: a pidfd opens for it at once (EINVAL for another thread).
	tgid := tid
	pidfd, err := unix.PidfdOpen(int(tid), 0)
	if errors.Is(err, unix.EINVAL) {
		if tgid, err = tgidOf(tid); err != nil {
			return err
		}
		pidfd, err = unix.PidfdOpen(int(tgid), 0)
	}
	if err != nil {
		return fmt.Errorf("pidfd of process %d: %w", tgid, err)
	}
	g := h.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if h.broken || !leaseHeld(h.fd) {
		unix.Close(pidfd)
		return &unheldError{why: "it was opened for writing while its exec was decided"}
	}
	if len(h.execs) >= pruneAt {
		h.pruneLocked()
	}
	h.execs = append(h.execs, heldExec{pidfd: pidfd, tid: tid, tgid: tgid})
	return nil
}

// pruneLocked drops the execs that no longer need the lease.
func (h *heldFile) pruneLocked() {
	keep := h.execs[:0]
	for _, x := range h.execs {
		if x.settled(h.key) {
			unix.Close(x.pidfd)
		} else {
			keep = append(keep, x)
		}
	}
	clear(h.execs[len(keep):])
	h.execs = keep
}

// tgidOf reads the process a thread belongs to.
func tgidOf(tid int32) (int32, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(tid)) + "/status")
	if err != nil {
		return 0, err
	}
	_, rest, ok := bytes.Cut(b, []byte("\nTgid:"))
	if !ok {
		return 0, fmt.Errorf("no Tgid in /proc/%d/status", tid)
	}
	line, _, _ := bytes.Cut(rest, []byte("\n"))
	n, err := strconv.Atoi(string(bytes.TrimSpace(line)))
	if err != nil {
		return 0, fmt.Errorf("Tgid of %d: %w", tid, err)
	}
	return int32(n), nil
}

// settled reports whether the exec no longer needs the lease: its process
// is gone, it runs the file (past the point where exec denies writes), or
// its thread has left execve (the exec failed, or the thread took the
// process's place, which comes after the denial).
func (x heldExec) settled(key fileKey) bool {
	fds := []unix.PollFd{{Fd: int32(x.pidfd), Events: unix.POLLIN}}
	if n, err := unix.Poll(fds, 0); err == nil && n > 0 {
		return true // exited
	}
	proc := "/proc/" + strconv.Itoa(int(x.tgid))
	var buf [64]byte
	n, err := readSmall(proc+"/task/"+strconv.Itoa(int(x.tid))+"/syscall", buf[:])
	if err != nil {
		return errors.Is(err, fs.ErrNotExist)
	}
	nr, _, _ := bytes.Cut(buf[:n], []byte(" "))
	if nr, err := strconv.Atoi(string(bytes.TrimSpace(nr))); err == nil && nr != unix.SYS_EXECVE && nr != unix.SYS_EXECVEAT {
		return true
	}
	// In execve, or "running" (anywhere): settled only once it runs the
	// file.
	var s unix.Stat_t
	return unix.Stat(proc+"/exe", &s) == nil && s.Dev == key.dev && s.Ino == key.ino
}

// readSmall reads the start of a small /proc file into buf.
func readSmall(path string, buf []byte) (int, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return 0, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	n, err := unix.Read(fd, buf)
	if err != nil {
		return 0, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	return n, nil
}

// held is how many files are held now.
func (g *contentGuards) held() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.files)
}

// run watches the leases until ctx is done: a writer breaking one sends
// the lease holder SIGIO, and a scan every 250 ms catches what a signal
// did not say. killed is called for each exec killed to settle a lease.
func (g *contentGuards) run(ctx context.Context, killed func(path string, subj policy.Subject, tid int32)) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, unix.SIGIO)
	defer signal.Stop(sig)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	var settling sync.WaitGroup
	defer settling.Wait()
	for {
		select {
		case <-ctx.Done():
			g.mu.Lock()
			for k, h := range g.files {
				delete(g.files, k)
				h.closeLocked()
			}
			g.mu.Unlock()
			return
		case <-sig:
		case <-t.C:
		}
		for _, h := range g.scan() {
			settling.Add(1)
			go func() {
				defer settling.Done()
				h.settle(killed)
			}()
		}
	}
}

// scan takes the broken leases out of the table, for settling, and lets
// go of idle ones.
func (g *contentGuards) scan() (broken []*heldFile) {
	now := g.now()
	g.mu.Lock()
	defer g.mu.Unlock()
	for k, h := range g.files {
		switch {
		case !leaseHeld(h.fd):
			h.broken = true
			delete(g.files, k)
			broken = append(broken, h)
		default:
			if len(h.execs) > 0 {
				h.pruneLocked()
			}
			if len(h.execs) == 0 && now.Sub(h.used) > heldIdle {
				delete(g.files, k)
				h.closeLocked()
			}
		}
	}
	return broken
}

func (h *heldFile) closeLocked() {
	for _, x := range h.execs {
		unix.Close(x.pidfd)
	}
	h.execs = nil
	letGo(h.fd)
}

// settle lets a writer in: once every exec allowed under the lease is
// settled, or killed when it is not within settleWait, the lease goes.
func (h *heldFile) settle(killed func(path string, subj policy.Subject, tid int32)) {
	h.g.mu.Lock()
	pending := h.execs
	h.execs = nil
	h.g.mu.Unlock()
	deadline := time.Now().Add(settleWait)
	for len(pending) > 0 {
		keep := pending[:0]
		for _, x := range pending {
			if x.settled(h.key) {
				unix.Close(x.pidfd)
			} else {
				keep = append(keep, x)
			}
		}
		pending = keep
		if len(pending) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Microsecond)
	}
	for _, x := range pending {
		// Still inside execve with a writer waiting: it cannot have run
		// anything yet, and now it never will.
		if err := unix.PidfdSendSignal(x.pidfd, unix.SIGKILL, nil, 0); err == nil {
			killed(h.path, h.subj, x.tid)
		}
		unix.Close(x.pidfd)
	}
	letGo(h.fd)
}
