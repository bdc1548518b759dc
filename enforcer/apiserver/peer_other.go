//go:build !linux && !darwin

package apiserver

import (
	"errors"
	"net"

	"github.com/gatehouse/gatehouse/enforcer"
)

// peerCred has no implementation on this platform: without the kernel's
// word on who is calling, nothing is served.
func peerCred(c *net.UnixConn) (enforcer.Peer, error) {
	return enforcer.Peer{}, errors.ErrUnsupported
}
