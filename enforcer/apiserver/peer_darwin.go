package apiserver

import (
	"fmt"
	"net"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
	"golang.org/x/sys/unix"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/endpointsecurity"
)

// peerCred returns what the kernel says of the process at the other end of
// a Unix socket: its audit token (LOCAL_PEERTOKEN: effective and real uid,
// pid and pid version) and groups (LOCAL_PEERCRED). The engine names the
// peer's executable and code signature from the token (Options.PeerCode),
// so that sudo and the agent are recognised as on Linux. Not yet exercised
// on a Mac.
func peerCred(c *net.UnixConn) (enforcer.Peer, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return enforcer.Peer{}, err
	}
	var (
		cred *unix.Xucred
		tok  []byte
		cerr error
	)
	if err := raw.Control(func(fd uintptr) {
		cred, cerr = unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		if cerr == nil {
			tok, cerr = peerToken(int(fd))
		}
	}); err != nil {
		return enforcer.Peer{}, err
	}
	if cerr != nil {
		return enforcer.Peer{}, cerr
	}
	t, err := endpointsecurity.ParseAuditToken(tok)
	if err != nil {
		return enforcer.Peer{}, fmt.Errorf("LOCAL_PEERTOKEN: %w", err)
	}
	p := enforcer.Peer{UID: t.EUID, RealUID: t.RUID, PID: t.PID, PIDVersion: t.PIDVersion}
	for i := 0; i < int(cred.Ngroups) && i < len(cred.Groups); i++ {
		p.GIDs = append(p.GIDs, cred.Groups[i])
	}
	return p, nil
}

var (
	getsockoptOnce sync.Once
	getsockopt     func(fd, level, opt int32, val unsafe.Pointer, len *uint32) int32
	getsockoptErr  error
)

// peerToken reads LOCAL_PEERTOKEN (an audit_token_t), which x/sys/unix has
// no getter for, through libSystem's getsockopt.
func peerToken(fd int) ([]byte, error) {
	getsockoptOnce.Do(func() {
		lib, err := purego.Dlopen("/usr/lib/libSystem.B.dylib", purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			getsockoptErr = fmt.Errorf("load libSystem: %w", err)
			return
		}
		purego.RegisterLibFunc(&getsockopt, lib, "getsockopt")
	})
	if getsockoptErr != nil {
		return nil, getsockoptErr
	}
	buf := make([]byte, 32)
	n := uint32(len(buf))
	if r := getsockopt(int32(fd), unix.SOL_LOCAL, unix.LOCAL_PEERTOKEN, unsafe.Pointer(&buf[0]), &n); r != 0 {
		return nil, fmt.Errorf("getsockopt LOCAL_PEERTOKEN failed")
	}
	return buf[:n], nil
}
