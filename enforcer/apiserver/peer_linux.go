package apiserver

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/gatehouse/gatehouse/enforcer"
)

// peerCred reads the identity of the process at the other end of a Unix
// socket from the kernel, as of when it connected: uid, gid and pid
// (SO_PEERCRED), its groups (SO_PEERGROUPS), and through a pidfd of it
// (SO_PEERPIDFD) its real uid and executable. The pidfd pins the process:
// what is read by pid is used only if the pidfd still names a live process
// afterwards, so a pid reused meanwhile cannot lend its identity.
func peerCred(c *net.UnixConn) (enforcer.Peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return enforcer.Peer{}, err
	}
	var (
		p    enforcer.Peer
		cerr error
	)
	if err := raw.Control(func(fd uintptr) {
		cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		if err != nil {
			cerr = fmt.Errorf("SO_PEERCRED: %w", err)
			return
		}
		p = enforcer.Peer{UID: cred.Uid, RealUID: cred.Uid, PID: cred.Pid}
		gids, err := peerGroups(int(fd))
		if err != nil {
			cerr = fmt.Errorf("SO_PEERGROUPS: %w", err)
			return
		}
		p.GIDs = append([]uint32{cred.Gid}, gids...)
		pidfd, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PEERPIDFD)
		if err != nil {
			// A kernel before 6.5: the peer's uid and groups are still
			// the kernel's; it is taken as not being sudo.
			return
		}
		defer unix.Close(pidfd)
		p.RealUID, p.Exe = processOf(pidfd, cred.Pid, cred.Uid)
	}); err != nil {
		return enforcer.Peer{}, err
	}
	return p, cerr
}

// peerGroups returns the supplementary groups of the socket's peer.
func peerGroups(fd int) ([]uint32, error) {
	buf := make([]uint32, 64)
	for {
		n := uint32(len(buf) * 4)
		_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_PEERGROUPS,
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&n)), 0)
		switch {
		case errno == 0:
			return buf[:n/4], nil
		case errno == unix.ERANGE && int(n/4) > len(buf) && n/4 <= 1<<16:
			buf = make([]uint32, n/4)
		default:
			return nil, errno
		}
	}
}

// processOf returns the real uid and the executable of the process pidfd
// refers to ("" when unknown, with the real uid then equal to euid). It
// reads the real uid from the pidfd itself (PIDFD_GET_INFO, Linux 6.13)
// or /proc/PID/status, the executable from /proc/PID/exe, and uses them
// only if the pidfd is still alive after the reads.
func processOf(pidfd int, pid int32, euid uint32) (ruid uint32, exe string) {
	ruid = euid
	info := unix.PidfdInfo{Mask: unix.PIDFD_INFO_CREDS}
	haveInfo := unix.IoctlPidfdInfo(pidfd, &info) == nil && info.Mask&unix.PIDFD_INFO_CREDS != 0
	exe, err := os.Readlink("/proc/" + strconv.Itoa(int(pid)) + "/exe")
	if err != nil {
		return euid, ""
	}
	r := info.Ruid
	if !haveInfo {
		if r, err = statusRealUID(pid); err != nil {
			return euid, ""
		}
	}
	// Signal 0 checks that the process the pidfd pins is still alive, so
	// the pid read above was still its pid.
	if err := unix.PidfdSendSignal(pidfd, 0, nil, 0); err != nil {
		return euid, ""
	}
	return r, exe
}

// statusRealUID reads the real uid from /proc/PID/status.
func statusRealUID(pid int32) (uint32, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/status")
	if err != nil {
		return 0, err
	}
	return parseStatusRealUID(string(b))
}

// parseStatusRealUID finds the real uid in the text of /proc/PID/status
// ("Uid:\treal\teffective\tsaved\tfs").
func parseStatusRealUID(s string) (uint32, error) {
	for line := range strings.Lines(s) {
		rest, ok := strings.CutPrefix(line, "Uid:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) == 0 {
			break
		}
		u, err := strconv.ParseUint(f[0], 10, 32)
		if err != nil {
			return 0, fmt.Errorf("status Uid line %q: %w", strings.TrimSpace(line), err)
		}
		return uint32(u), nil
	}
	return 0, errors.New("no Uid line in /proc/PID/status")
}
