package logind_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/gatehouse/gatehouse/enforcer/logind"
	"github.com/gatehouse/gatehouse/internal/testbus"
)

// A real dbus-daemon with a stand-in for systemd-logind (which needs
// systemd to run): the names, paths, signatures and signals logind uses.
func TestSessionEnds(t *testing.T) {
	bus := testbus.StartBus(t)
	fake := testbus.StartFakeLogind(t, bus.Address)
	fake.AddSession(t, "c1", 1001, false)

	ends := make(chan logind.End, 8)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	w, err := logind.Connect(ctx, bus.Address, slog.Default(), func(e logind.End) { ends <- e })
	if err != nil {
		t.Fatal(err)
	}
	if w.Sessions() != 1 {
		t.Errorf("sessions listed at start: %d, want 1", w.Sessions())
	}
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	want := func(e logind.End) {
		t.Helper()
		select {
		case got := <-ends:
			if got != e {
				t.Errorf("end %+v, want %+v", got, e)
			}
		case <-time.After(testbus.Wait):
			t.Fatalf("no end within %v, want %+v", testbus.Wait, e)
		}
	}
	none := func() {
		t.Helper()
		select {
		case got := <-ends:
			t.Errorf("an end nobody caused: %+v", got)
		case <-time.After(200 * time.Millisecond):
		}
	}

	fake.Lock(t, "c1") // loginctl lock-session
	want(logind.End{UID: 1001, Why: "screen lock"})
	fake.AddSession(t, "c2", 1002, true) // a session started after the watcher
	fake.LockedHint(t, "c2", false)
	none()
	fake.LockedHint(t, "c2", true) // a desktop's locker
	want(logind.End{UID: 1002, Why: "screen lock"})
	fake.Remove(t, "c1")
	want(logind.End{UID: 1001, Why: "logout"})
	fake.Remove(t, "c9") // unknown: nothing
	none()

	// Someone else on the bus cannot end a session by sending the
	// same signal: the match is on logind's name.
	other := bus.Conn(t)
	other.Emit(dbus.ObjectPath("/org/freedesktop/login1"), "org.freedesktop.login1.Manager.SessionRemoved", "c2",
		dbus.ObjectPath("/org/freedesktop/login1/session/c2"))
	none()

	bus.Stop()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Run returned no error when the bus went away")
		}
	case <-time.After(testbus.Wait):
		t.Fatal("Run did not return when the bus went away")
	}
}

// With no bus, Connect says so at once.
func TestNoBus(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := logind.Connect(ctx, "unix:path="+t.TempDir()+"/none", slog.Default(), func(logind.End) {}); err == nil {
		t.Fatal("connected to no bus")
	}
}
