//go:build linux

// Package testbus starts the real parts that the notifications tests talk
// to: a private session bus (dbus-daemon), a headless X display (Xvfb), the
// dunst notification server on them, and, where a test needs a server
// without actions, a small spec-conforming one of its own.
//
// Everything started here is killed at the test's cleanup, and every wait
// has a deadline. Tests skip, saying which binary is missing, only when a
// binary is missing; scripts/setup installs them all.
package testbus

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// Wait is the deadline for anything these helpers wait for.
const Wait = 10 * time.Second

const (
	fdoName  = "org.freedesktop.Notifications"
	fdoPath  = dbus.ObjectPath("/org/freedesktop/Notifications")
	fdoIface = "org.freedesktop.Notifications"
	dunstCmd = "org.dunstproject.cmd0"
)

// Need skips t when a binary is missing, naming it and the package that
// provides it.
func Need(t testing.TB, bins ...string) {
	t.Helper()
	pkg := map[string]string{
		"dbus-daemon": "dbus-daemon", "Xvfb": "xvfb", "dunst": "dunst", "notify-send": "libnotify-bin",
		"xdotool": "xdotool", "import": "imagemagick", "xprop": "x11-utils",
	}
	for _, b := range bins {
		if _, err := exec.LookPath(b); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed (Debian package %s): CI must run this test; scripts/setup installs it", b, pkg[b])
			}
			t.Skipf("%s is not installed (Debian package %s; scripts/setup installs it): %v", b, pkg[b], err)
		}
	}
}

// proc is a started process, killed with its process group.
type proc struct {
	cmd  *exec.Cmd
	once sync.Once
}

// start runs cmd in its own process group. Its output goes to a file that
// is shown if the test fails.
func start(t testing.TB, cmd *exec.Cmd) *proc {
	t.Helper()
	logf, err := os.CreateTemp(t.TempDir(), filepath.Base(cmd.Path)+"-*.log")
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Stdout == nil {
		cmd.Stdout = logf
	}
	cmd.Stderr = logf
	t.Cleanup(func() {
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s output:\n%s", filepath.Base(cmd.Path), b)
		}
		logf.Close()
	})
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", cmd.Path, err)
	}
	p := &proc{cmd: cmd}
	t.Cleanup(p.stop)
	return p
}

// stop kills the process and its children (dunst runs the menu script) and
// reaps it.
func (p *proc) stop() {
	p.once.Do(func() {
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		_ = p.cmd.Wait()
	})
}

// Bus is a private session bus.
type Bus struct {
	Address string
	p       *proc
}

// busConfig is a session bus with no service activation (so nothing is
// started behind a test's back) and no policy limits: any local user may
// connect (an agent under test runs as a user, the test as root).
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// StartBus starts dbus-daemon and returns once it prints its address.
func StartBus(t testing.TB) *Bus {
	t.Helper()
	Need(t, "dbus-daemon")
	// Not t.TempDir (0700): other users reach the socket in here.
	dir, err := os.MkdirTemp("", "testbus-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	cfg := filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, busConfig, dir), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dbus-daemon", "--config-file="+cfg, "--nofork", "--nopidfile", "--print-address=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, cmd)
	addr, err := firstLine(out, Wait)
	if err != nil {
		p.stop()
		t.Fatalf("dbus-daemon did not print its address: %v", err)
	}
	return &Bus{Address: addr, p: p}
}

// Stop kills the bus daemon: every connection to it breaks.
func (b *Bus) Stop() { b.p.stop() }

// Conn opens a private connection to the bus, closed at cleanup.
func (b *Bus) Conn(t testing.TB) *dbus.Conn {
	t.Helper()
	c, err := dbus.Connect(b.Address)
	if err != nil {
		t.Fatalf("connect to test bus: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func firstLine(r interface{ Read([]byte) (int, error) }, d time.Duration) (string, error) {
	ch := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		if err != nil {
			errc <- err
			return
		}
		ch <- strings.TrimSpace(line)
	}()
	select {
	case s := <-ch:
		return s, nil
	case err := <-errc:
		return "", err
	case <-time.After(d):
		return "", fmt.Errorf("nothing after %v", d)
	}
}

// Display is a headless X server.
type Display struct {
	Name string // ":N"
}

// StartXvfb starts Xvfb on a free display number (Xvfb picks it).
func StartXvfb(t testing.TB) *Display {
	t.Helper()
	Need(t, "Xvfb")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "800x600x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	p := start(t, cmd)
	w.Close()
	defer r.Close()
	n, err := firstLine(r, Wait)
	if err != nil {
		p.stop()
		t.Fatalf("Xvfb did not report its display: %v", err)
	}
	return &Display{Name: ":" + n}
}

// Dunst is the dunst notification server on a test bus.
type Dunst struct {
	p    *proc
	dir  string
	conn *dbus.Conn
}

// dunstrc makes dunst's context menu a script that picks the line the test
// asks for: dunst writes one line per action, "#Label (Summary) [id,key]".
// markup = full is Debian's default (/etc/xdg/dunst/dunstrc): dunst then
// advertises body-markup. Without idle_threshold = 0 dunst would not expire
// notifications while the (input-less) X display looks idle.
const dunstrc = `[global]
    dmenu = %s
    show_age_threshold = -1
    idle_threshold = 0
    markup = full
`

const pickScript = `#!/bin/sh
# Picks the menu line that contains both strings the test wrote.
a=$(cat "%[1]s/want-summary")
b=$(cat "%[1]s/want-key")
grep -F -- "$a" | grep -F -- "$b" | head -n 1
`

// StartDunst starts dunst on bus and display and waits until it owns
// org.freedesktop.Notifications.
func StartDunst(t testing.TB, bus *Bus, disp *Display) *Dunst {
	t.Helper()
	return StartDunstWith(t, bus, disp, "")
}

// StartDunstWith is StartDunst with more dunstrc sections appended.
func StartDunstWith(t testing.TB, bus *Bus, disp *Display, extra string) *Dunst {
	t.Helper()
	Need(t, "dunst")
	dir := t.TempDir()
	pick := filepath.Join(dir, "pick.sh")
	if err := os.WriteFile(pick, fmt.Appendf(nil, pickScript, dir), 0o700); err != nil {
		t.Fatal(err)
	}
	rc := filepath.Join(dir, "dunstrc")
	if err := os.WriteFile(rc, append(fmt.Appendf(nil, dunstrc, pick), extra...), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dunst", "-config", rc)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + dir,
		"XDG_CONFIG_HOME=" + dir,
		"DISPLAY=" + disp.Name,
		"DBUS_SESSION_BUS_ADDRESS=" + bus.Address,
	}
	d := &Dunst{p: start(t, cmd), dir: dir, conn: bus.Conn(t)}
	WaitOwner(t, d.conn, true)
	return d
}

// Stop kills dunst.
func (d *Dunst) Stop() { d.p.stop() }

// WaitOwner waits until org.freedesktop.Notifications has an owner on conn's
// bus (or, with want false, has none).
func WaitOwner(t testing.TB, conn *dbus.Conn, want bool) {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for {
		var has bool
		err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, fdoName).Store(&has)
		if err == nil && has == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("org.freedesktop.Notifications owned=%v after %v (err %v), want %v", has, Wait, err, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (d *Dunst) obj() dbus.BusObject { return d.conn.Object(fdoName, fdoPath) }

func (d *Dunst) call(t testing.TB, method string, args ...any) *dbus.Call {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Wait)
	defer cancel()
	c := d.obj().CallWithContext(ctx, method, 0, args...)
	if c.Err != nil {
		t.Fatalf("dunst %s: %v", method, c.Err)
	}
	return c
}

// Displayed is how many notifications dunst shows now.
func (d *Dunst) Displayed(t testing.TB) uint32 {
	t.Helper()
	v, err := d.obj().GetProperty(dunstCmd + ".displayedLength")
	if err != nil {
		t.Fatalf("dunst displayedLength: %v", err)
	}
	n, _ := v.Value().(uint32)
	return n
}

// WaitDisplayed waits until dunst shows n notifications.
func (d *Dunst) WaitDisplayed(t testing.TB, n uint32) {
	t.Helper()
	deadline := time.Now().Add(Wait)
	for {
		got := d.Displayed(t)
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("dunst shows %d notifications after %v, want %d", got, Wait, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Entry is a notification in dunst's history (closed ones, newest first).
type Entry struct {
	ID            uint32
	Summary, Body string
	AppName       string
}

// History lists the notifications dunst has closed, newest first.
func (d *Dunst) History(t testing.TB) []Entry {
	t.Helper()
	var raw []map[string]dbus.Variant
	if err := d.call(t, dunstCmd+".NotificationListHistory").Store(&raw); err != nil {
		t.Fatalf("dunst history: %v", err)
	}
	out := make([]Entry, 0, len(raw))
	for _, m := range raw {
		var e Entry
		e.Summary, _ = m["summary"].Value().(string)
		e.Body, _ = m["body"].Value().(string)
		e.AppName, _ = m["appname"].Value().(string)
		if id, ok := m["id"].Value().(int32); ok {
			e.ID = uint32(id)
		}
		out = append(out, e)
	}
	return out
}

// ClickFirst does what a click on the first shown notification does with
// dunst's do_action: it invokes the default action (org.dunstproject.cmd0
// NotificationAction 0, as `dunstctl action 0`).
func (d *Dunst) ClickFirst(t testing.TB) {
	t.Helper()
	d.call(t, dunstCmd+".NotificationAction", uint32(0))
}

// Choose picks the action with key on the shown notification titled
// summary from dunst's context menu (org.dunstproject.cmd0
// ContextMenuCall, as `dunstctl context`), as a user would.
func (d *Dunst) Choose(t testing.TB, summary, key string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(d.dir, "want-summary"), []byte("("+summary+") ["), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.dir, "want-key"), []byte(","+key+"]"), 0o600); err != nil {
		t.Fatal(err)
	}
	d.call(t, dunstCmd+".ContextMenuCall")
}

// CloseLast closes the newest shown notification as the user's close
// shortcut does (NotificationCloseLast, `dunstctl close`): reason 2,
// dismissed.
func (d *Dunst) CloseLast(t testing.TB) {
	t.Helper()
	d.call(t, dunstCmd+".NotificationCloseLast")
}
