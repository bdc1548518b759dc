//go:build linux

package testbus

import (
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// FakeLogind stands in for systemd-logind (which needs systemd to run) on
// a test bus: it owns org.freedesktop.login1 with logind's paths,
// signatures and signals: ListSessions, each
// session's User and LockedHint properties, and the signals.
type FakeLogind struct {
	conn     *dbus.Conn
	mu       sync.Mutex
	sessions map[string]fakeSession
}

type fakeSession struct {
	uid   uint32
	props *prop.Properties
}

type listed struct {
	ID   string
	UID  uint32
	User string
	Seat string
	Path dbus.ObjectPath
}

func sessionPath(id string) dbus.ObjectPath {
	return dbus.ObjectPath("/org/freedesktop/login1/session/" + id)
}

// StartFakeLogind connects to the bus at addr and owns logind's name.
func StartFakeLogind(t testing.TB, addr string) *FakeLogind {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	f := &FakeLogind{conn: conn, sessions: map[string]fakeSession{}}
	if err := conn.ExportMethodTable(map[string]any{"ListSessions": f.list}, "/org/freedesktop/login1", "org.freedesktop.login1.Manager"); err != nil {
		t.Fatal(err)
	}
	if r, err := conn.RequestName("org.freedesktop.login1", dbus.NameFlagDoNotQueue); err != nil || r != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("own org.freedesktop.login1: %v %v", r, err)
	}
	return f
}

func (f *FakeLogind) list() ([]listed, *dbus.Error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []listed
	for id, s := range f.sessions {
		out = append(out, listed{ID: id, UID: s.uid, User: "u", Seat: "seat0", Path: sessionPath(id)})
	}
	return out, nil
}

// AddSession exports session id of uid and, when announce, sends SessionNew.
func (f *FakeLogind) AddSession(t testing.TB, id string, uid uint32, announce bool) {
	t.Helper()
	type user struct {
		UID  uint32
		Path dbus.ObjectPath
	}
	props, err := prop.Export(f.conn, sessionPath(id), prop.Map{"org.freedesktop.login1.Session": {
		"User":       {Value: user{uid, "/org/freedesktop/login1/user/_1"}, Emit: prop.EmitFalse},
		"LockedHint": {Value: false, Emit: prop.EmitTrue},
	}})
	if err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	f.sessions[id] = fakeSession{uid: uid, props: props}
	f.mu.Unlock()
	if announce {
		f.emit(t, "/org/freedesktop/login1", "org.freedesktop.login1.Manager.SessionNew", id, sessionPath(id))
	}
}

func (f *FakeLogind) emit(t testing.TB, path dbus.ObjectPath, name string, body ...any) {
	t.Helper()
	if err := f.conn.Emit(path, name, body...); err != nil {
		t.Fatal(err)
	}
}

// Lock sends the session's Lock signal (loginctl lock-session).
func (f *FakeLogind) Lock(t testing.TB, id string) {
	f.emit(t, sessionPath(id), "org.freedesktop.login1.Session.Lock")
}

// LockedHint sets the session's LockedHint (PropertiesChanged).
func (f *FakeLogind) LockedHint(t testing.TB, id string, v bool) {
	t.Helper()
	f.mu.Lock()
	s := f.sessions[id]
	f.mu.Unlock()
	s.props.SetMust("org.freedesktop.login1.Session", "LockedHint", v)
}

// Remove sends SessionRemoved.
func (f *FakeLogind) Remove(t testing.TB, id string) {
	f.mu.Lock()
	delete(f.sessions, id)
	f.mu.Unlock()
	f.emit(t, "/org/freedesktop/login1", "org.freedesktop.login1.Manager.SessionRemoved", id, sessionPath(id))
}
