//go:build linux

package testbus

import (
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// SystemBusSocket is where the system bus listens: setuid programs
// (pkexec) ignore DBUS_SYSTEM_BUS_ADDRESS, so a test's system bus must be
// there.
const SystemBusSocket = "/run/dbus/system_bus_socket"

// StartSystemBus runs the machine's system bus configuration
// (dbus-daemon --system) for the test and removes its socket afterwards.
// A machine whose system bus runs already is not touched: the test fails
// under CI and is skipped elsewhere, saying so.
func StartSystemBus(t testing.TB) *Bus {
	t.Helper()
	Need(t, "dbus-daemon")
	if _, err := os.Stat(SystemBusSocket); err == nil {
		if c, err := dbus.Connect("unix:path=" + SystemBusSocket); err == nil {
			c.Close()
			if os.Getenv("CI") != "" {
				t.Fatalf("a system bus runs at %s: this test runs polkitd on a system bus of its own, and needs a machine without one", SystemBusSocket)
			}
			t.Skipf("a system bus runs at %s: this test runs polkitd on a system bus of its own", SystemBusSocket)
		}
		os.Remove(SystemBusSocket) // a dead one's
	}
	cmd := exec.Command("dbus-daemon", "--system", "--nofork", "--nopidfile", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, cmd)
	t.Cleanup(func() { p.stop(); os.Remove(SystemBusSocket) })
	addr, err := firstLine(out, Wait)
	if err != nil {
		t.Fatalf("the system bus did not start: %v", err)
	}
	return &Bus{Address: addr, p: p}
}

// StartPolkitd runs Debian's polkitd on the system bus bus and waits until
// it owns its name. It reads the rules in /etc/polkit-1/rules.d and
// /usr/share/polkit-1/rules.d as they are when it starts, and again when
// they change.
func StartPolkitd(t testing.TB, bus *Bus) {
	t.Helper()
	const polkitd = "/usr/lib/polkit-1/polkitd"
	if _, err := os.Stat(polkitd); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed (Debian package polkitd): CI must run this test; scripts/setup installs it", polkitd)
		}
		t.Skipf("%s is not installed (Debian package polkitd; scripts/setup installs it)", polkitd)
	}
	start(t, exec.Command(polkitd, "--no-debug"))
	conn := bus.Conn(t)
	deadline := time.Now().Add(Wait)
	for {
		var has bool
		err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, "org.freedesktop.PolicyKit1").Store(&has)
		if err == nil && has {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("polkitd did not own org.freedesktop.PolicyKit1 within %v: %v", Wait, errors.Join(err))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
