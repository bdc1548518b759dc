package apiserver

import (
	"net"

	"golang.org/x/sys/unix"

	"github.com/gatehouse/gatehouse/enforcer"
)

// peerCred returns the uid and groups (LOCAL_PEERCRED) and pid
// (LOCAL_PEERPID) of the process at the other end of a Unix socket. The
// real uid, executable and code signature (from LOCAL_PEERTOKEN, the audit
// token) come with the Endpoint Security issue; until then no peer is the
// sudo front-end or the agent on macOS. Not yet exercised on a Mac.
func peerCred(c *net.UnixConn) (enforcer.Peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return enforcer.Peer{}, err
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
		return enforcer.Peer{}, err
	}
	if cerr != nil {
		return enforcer.Peer{}, cerr
	}
	p := enforcer.Peer{UID: cred.Uid, RealUID: cred.Uid, PID: int32(pid)}
	for i := 0; i < int(cred.Ngroups) && i < len(cred.Groups); i++ {
		p.GIDs = append(p.GIDs, cred.Groups[i])
	}
	return p, nil
}
