// Package dbusdial opens a private D-Bus connection whose handshake ends
// with a context: godbus's Auth and Hello take none, so a bus that
// accepts the connection and then says nothing would hold the caller
// forever. The agent's notifications and the daemon's logind watcher
// both connect this way.
package dbusdial

import (
	"context"
	"errors"

	"github.com/godbus/dbus/v5"
)

// Dial connects to the bus at addr, authenticates and says Hello; when ctx
// ends first the connection is closed and the error says so.
func Dial(ctx context.Context, addr string) (*dbus.Conn, error) {
	conn, err := dbus.Dial(addr)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	err = conn.Auth(nil)
	if err == nil {
		err = conn.Hello()
	}
	if !stop() {
		err = errors.Join(ctx.Err(), err)
	}
	if err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}
