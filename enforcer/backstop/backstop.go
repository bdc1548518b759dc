// Package backstop is gatehoused's exec backstop on Linux: a BPF program
// at the sched_process_exec tracepoint that sees every successful exec,
// whatever mount, mount namespace or kind of file it came from, and
// reports — in deny mode also kills, before the program's first
// instruction — each one no fanotify exec-permission mark held. Those are
// the execs the enforcer never decided: a filesystem mounted where the
// daemon cannot see it (a tmpfs inside a user's unshare -Urm, a FUSE mount
// root may not enter), one mounted since the last rescan of the mounts,
// and anonymous files (memfd_create + fexecve).
//
// Whether a mark held the exec is read from the kernel: a filesystem mark
// for FAN_OPEN_EXEC_PERM sets that bit in the superblock's notification
// mask, and only root can set one. So the program needs no list from the
// daemon, and a filesystem that reuses the device number of an unmounted
// one is not taken for it.
//
// It decides nothing else: it does not know the policy. Audit mode reports
// and allows; deny mode kills every undecided exec, whatever the policy
// would have said of the program, except in init and in gatehoused itself.
// A kill arrives after the exec succeeded: the old program is gone, the
// new one never runs (its parent sees it killed by SIGKILL, not an EPERM).
//
// The package only translates; what to record is the enforcer's business.
// It builds everywhere so its parsers are tested everywhere; the BPF
// program exists only on Linux.
package backstop

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Mode is what the backstop does with an undecided exec. Zero is unset.
type Mode int

const (
	// Off loads nothing.
	Off Mode = iota + 1
	// Audit reports undecided execs and lets them run.
	Audit
	// Deny reports and kills them.
	Deny
)

// ParseMode reads a mode as the configuration spells it.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "off", "":
		return Off, nil
	case "audit":
		return Audit, nil
	case "deny":
		return Deny, nil
	}
	return 0, fmt.Errorf("exec_backstop %q: want off, audit or deny", s)
}

func (m Mode) String() string {
	switch m {
	case Off:
		return "off"
	case Audit:
		return "audit"
	case Deny:
		return "deny"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// bpfMode is the mode as bpf/exec.c numbers it.
func (m Mode) bpfMode() uint32 {
	switch m {
	case Audit:
		return 1
	case Deny:
		return 2
	}
	return 0
}

// Config says what to load.
type Config struct {
	Mode Mode
	// Cgroup, when set, is a cgroup v2 directory: only tasks in it or
	// below are looked at (a staged rollout to user.slice; tests).
	Cgroup string
}

// Report is one exec no mark held.
type Report struct {
	PID  int32 // the thread that exec'd (now the process's only one)
	TGID int32
	UID  uint32 // real uid, in the initial user namespace
	// Major and Minor are the device of the file's filesystem; Ino its
	// inode; FSType the filesystem's magic number (statfs f_type).
	Major, Minor uint32
	Ino          uint64
	FSType       uint64
	Comm         string // the new program's name, at most 15 bytes
	// Filename is the path as given to execve (relative, or /dev/fd/N for
	// fexecve); it is what the task asked for, not the file's path.
	Filename string
	// Killed is set when deny mode killed the task.
	Killed bool
}

// FSName names well-known filesystem magic numbers, for messages.
func FSName(magic uint64) string {
	switch magic {
	case 0x01021994:
		return "tmpfs" // memfd_create files live on an internal tmpfs too
	case 0x65735546:
		return "fuse"
	case 0x794c7630:
		return "overlay"
	case 0x958458f6:
		return "hugetlbfs"
	case 0xef53:
		return "ext4"
	case 0x58465342:
		return "xfs"
	case 0x9123683e:
		return "btrfs"
	case 0x6969:
		return "nfs"
	case 0x73717368:
		return "squashfs"
	}
	return fmt.Sprintf("magic %#x", magic)
}

// Stats counts what the program saw (in the scope).
type Stats struct {
	Seen      uint64 // execs looked at
	Undecided uint64 // of which no mark held
	Killed    uint64 // of which deny mode killed
	Lost      uint64 // reports dropped because the ring buffer was full
}

// reportSize is sizeof(struct report) in bpf/exec.c.
const reportSize = 4*4 + 8 + 8 + 4 + 4 + 16 + 256

// decodeReport parses one struct report from the ring buffer.
func decodeReport(b []byte) (Report, error) {
	if len(b) < reportSize {
		return Report{}, fmt.Errorf("backstop report of %d bytes, want %d", len(b), reportSize)
	}
	le := binary.LittleEndian // the object is built for bpfel; the program runs only on little-endian hosts
	dev := le.Uint32(b[12:])
	return Report{
		PID:      int32(le.Uint32(b[0:])),
		TGID:     int32(le.Uint32(b[4:])),
		UID:      le.Uint32(b[8:]),
		Major:    dev >> 20, // the kernel's dev_t, not the user-space encoding
		Minor:    dev & (1<<20 - 1),
		Ino:      le.Uint64(b[16:]),
		FSType:   le.Uint64(b[24:]),
		Killed:   le.Uint32(b[32:]) != 0,
		Comm:     cString(b[40:56]),
		Filename: cString(b[56:reportSize]),
	}, nil
}

func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

// ErrUnavailable wraps every reason the backstop cannot run here.
var ErrUnavailable = errors.New("exec backstop unavailable")
