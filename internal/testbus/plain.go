//go:build linux

package testbus

import (
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// Received is one Notify call a PlainServer got.
type Received struct {
	AppName, Summary, Body string
	Actions                []string
	ReplacesID, ID         uint32
}

// PlainServer is a minimal org.freedesktop.Notifications server that
// reports the capabilities it is given: enough of the spec to stand in for
// servers without actions (notify-osd and the like).
type PlainServer struct {
	caps []string
	conn *dbus.Conn

	mu   sync.Mutex
	next uint32
	got  []Received
}

// StartPlainServer exports a PlainServer on bus and takes the
// notification service name.
func StartPlainServer(t testing.TB, bus *Bus, caps ...string) *PlainServer {
	t.Helper()
	s := &PlainServer{caps: caps, conn: bus.Conn(t)}
	if err := s.conn.Export(s, fdoPath, fdoIface); err != nil {
		t.Fatalf("export plain server: %v", err)
	}
	reply, err := s.conn.RequestName(fdoName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("plain server: request name: reply %v, err %v", reply, err)
	}
	return s
}

// GetCapabilities implements the spec method.
func (s *PlainServer) GetCapabilities() ([]string, *dbus.Error) {
	return s.caps, nil
}

// Notify implements the spec method and records the call.
func (s *PlainServer) Notify(app string, replaces uint32, icon, summary, body string,
	actions []string, hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := replaces
	if id == 0 {
		s.next++
		id = s.next
	}
	s.got = append(s.got, Received{AppName: app, Summary: summary, Body: body, Actions: actions, ReplacesID: replaces, ID: id})
	return id, nil
}

// CloseNotification implements the spec method.
func (s *PlainServer) CloseNotification(id uint32) *dbus.Error {
	return nil
}

// GetServerInformation implements the spec method.
func (s *PlainServer) GetServerInformation() (name, vendor, version, spec string, err *dbus.Error) {
	return "plain", "gatehouse tests", "1", "1.2", nil
}

// WaitReceived waits until the server has received n notifications and
// returns them.
func (s *PlainServer) WaitReceived(t testing.TB, n int) []Received {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for {
		s.mu.Lock()
		got := append([]Received(nil), s.got...)
		s.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("plain server received %d notifications after %v, want %d", len(got), Wait, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
