package enforcer

import (
	"net"

	"golang.org/x/sys/unix"
)

// peerCred returns the uid (LOCAL_PEERCRED) and pid (LOCAL_PEERPID) of the
// process at the other end of a Unix socket. Not yet exercised on a Mac.
func peerCred(c *net.UnixConn) (uint32, int32, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var (
		cred *unix.Xucred
		pid  int
		cerr error
	)
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		if cerr == nil {
			pid, cerr = unix.GetsockoptInt(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERPID)
		}
	}); err != nil {
		return 0, 0, err
	}
	if cerr != nil {
		return 0, 0, cerr
	}
	return cred.Uid, int32(pid), nil
}
