//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/gatehouse/gatehouse/internal/testbus"
	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/request"
)

// The agent end to end, as root: the real gatehoused on a scratch tmpfs,
// the real Wails agent (built with the production tags) running as uid 1000
// on a headless X server with a private session bus and dunst, driven by
// xdotool as a user would. Screenshots of each dialog go to
// $GATEHOUSE_ARTIFACTS (default /tmp/gatehouse-e2e-artifacts).

const agentUID = 1000

var agentBin struct {
	once sync.Once
	path string
	err  error
}

// buildAgent builds the Wails agent once (WebKitGTK: the first build takes
// minutes).
func buildAgent(t testing.TB) string {
	t.Helper()
	buildBinaries(t)
	agentBin.once.Do(func() {
		agentBin.path = filepath.Join(bins.dir, "gatehouse-agent")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", "build", "-tags", "production,webkit2_41", "-o", agentBin.path, "../..")
		if b, err := cmd.CombinedOutput(); err != nil {
			agentBin.err = fmt.Errorf("build the agent: %v\n%s", err, b)
		}
	})
	if agentBin.err != nil {
		t.Fatal(agentBin.err)
	}
	return agentBin.path
}

// desktop is a user's session: X display, session bus, notification
// server, and the agent running as agentUID.
type desktop struct {
	t       testing.TB
	env     *env
	display string
	bus     *testbus.Bus
	dunst   *testbus.Dunst
	bin     string // the agent binary
	home    string // the user's home
	agent   *exec.Cmd
	log     *testbus.Log
	done    chan error
	shots   string
}

func newDesktop(t testing.TB, e *env) *desktop {
	testbus.Need(t, "Xvfb", "dbus-daemon", "dunst", "xdotool", "import")
	agent := buildAgent(t)
	disp := testbus.StartXvfb(t)
	bus := testbus.StartBus(t)
	d := &desktop{t: t, env: e, display: disp.Name, bus: bus}
	d.dunst = testbus.StartDunst(t, bus, disp)
	d.shots = os.Getenv("GATEHOUSE_ARTIFACTS")
	if d.shots == "" {
		d.shots = "/tmp/gatehouse-e2e-artifacts"
	}
	if err := os.MkdirAll(d.shots, 0o755); err != nil {
		t.Fatal(err)
	}

	// The user's home and runtime directory.
	home, err := os.MkdirTemp("", "gatehouse-e2e-home-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	run := filepath.Join(home, "run")
	os.Mkdir(run, 0o700)
	for _, p := range []string{home, run} {
		if err := os.Chown(p, agentUID, agentUID); err != nil {
			t.Fatal(err)
		}
	}
	d.bin, d.home = agent, home
	t.Cleanup(d.stop)
	d.startAgent()
	return d
}

// startAgent starts the agent as agentUID and waits until it is connected.
func (d *desktop) startAgent() {
	d.t.Helper()
	d.log, d.done = &testbus.Log{}, make(chan error, 1)
	d.agent = exec.Command(d.bin, "-socket", d.env.socket(), "-company", "Example Corp IT", "-debug")
	d.agent.Env = []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + d.home,
		"USER=e2e",
		"XDG_RUNTIME_DIR=" + filepath.Join(d.home, "run"),
		"DISPLAY=" + d.display,
		"DBUS_SESSION_BUS_ADDRESS=" + d.bus.Address,
		"WEBKIT_DISABLE_COMPOSITING_MODE=1",
		"LIBGL_ALWAYS_SOFTWARE=1",
		"TZ=UTC",
	}
	d.agent.Dir = d.home
	d.agent.Stdout, d.agent.Stderr = d.log, d.log
	d.agent.SysProcAttr = &syscall.SysProcAttr{Setpgid: true,
		Credential: &syscall.Credential{Uid: agentUID, Gid: agentUID}}
	if err := d.agent.Start(); err != nil {
		d.t.Fatal(err)
	}
	go func(c *exec.Cmd, ch chan error) { ch <- c.Wait() }(d.agent, d.done)
	d.waitLog("connected to gatehoused", 60*time.Second)
}

func (d *desktop) stop() {
	if d.agent == nil {
		return
	}
	syscall.Kill(-d.agent.Process.Pid, syscall.SIGTERM)
	select {
	case <-d.done:
	case <-time.After(10 * time.Second):
		syscall.Kill(-d.agent.Process.Pid, syscall.SIGKILL)
		<-d.done
	}
	d.agent = nil
	if d.t.Failed() {
		d.t.Logf("agent log:\n%s", d.log.String())
	}
}

func (d *desktop) waitLog(what string, within time.Duration) {
	d.t.Helper()
	deadline := time.Now().Add(within)
	for !strings.Contains(d.log.String(), what) {
		select {
		case err := <-d.done:
			d.t.Fatalf("the agent exited (%v) before %q\n%s", err, what, d.log.String())
		default:
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("the agent did not log %q within %v\n%s", what, within, d.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// x runs an X tool on the display.
func (d *desktop) x(name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = []string{"DISPLAY=" + d.display, "PATH=/usr/local/bin:/usr/bin:/bin"}
	out, err := cmd.CombinedOutput()
	return strings.TrimSpace(string(out)), err
}

// window returns the id of the visible agent window, or "".
func (d *desktop) window() string {
	out, err := d.x("xdotool", "search", "--onlyvisible", "--name", "^Gatehouse$")
	if err != nil {
		return ""
	}
	return strings.Fields(out + " ")[0]
}

// waitWindow waits until the agent window is visible (or, with visible
// false, gone) and returns its id.
func (d *desktop) waitWindow(visible bool, within time.Duration) string {
	d.t.Helper()
	deadline := time.Now().Add(within)
	for {
		w := d.window()
		if (w != "") == visible {
			return w
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("agent window visible=%v not reached within %v\n%s", visible, within, d.log.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// screenshot keeps the whole screen as name.png among the artefacts.
func (d *desktop) screenshot(name string) {
	d.t.Helper()
	p := filepath.Join(d.shots, name+".png")
	if out, err := d.x("import", "-window", "root", p); err != nil {
		d.t.Errorf("screenshot %s: %v %s", name, err, out)
		return
	}
	d.t.Logf("screenshot: %s", p)
}

// keys focuses the window and sends xdotool commands to it.
func (d *desktop) keys(w string, args ...string) {
	d.t.Helper()
	if out, err := d.x("xdotool", "windowfocus", "--sync", w); err != nil {
		d.t.Fatalf("xdotool windowfocus: %v %s", err, out)
	}
	if out, err := d.x("xdotool", args...); err != nil {
		d.t.Fatalf("xdotool %v: %v %s", args, err, out)
	}
}

// runAsUser execs path as the agent's user without a controlling terminal
// (as from a desktop launcher) and returns the exec error.
func (d *desktop) runAsUser(path string, args ...string) error {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Dir = "/tmp"
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: &syscall.Credential{Uid: agentUID, Gid: agentUID}}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		d.t.Fatalf("%s did not finish within 20s", path)
	}
	if err != nil && !isEPERM(err) {
		d.t.Fatalf("%s: %v %s", path, err, out)
	}
	return err
}

// markerScript writes a program that records its arguments in a file the
// user can write, so the test sees that (and how) it ran.
func (e *env) markerScript(rel string) (prog, marker string) {
	out := filepath.Join(e.mnt, "out")
	os.MkdirAll(out, 0o777)
	os.Chmod(out, 0o777)
	marker = filepath.Join(out, filepath.Base(rel)+".ran")
	return e.script(rel, fmt.Sprintf(`pwd > %[1]s.cwd; echo "$@" > %[1]s`, marker)), marker
}

func waitFile(t testing.TB, path string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return strings.TrimSpace(string(b))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not written within %v", path, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestE2EAgentJustification(t *testing.T) {
	e := newEnv(t)
	e.start()
	d := newDesktop(t, e)
	prog, marker := e.markerScript("just/report")

	start := time.Now()
	if err := d.runAsUser(prog, "--quarter", "3"); !isEPERM(err) {
		t.Fatalf("justification program: err = %v, want EPERM", err)
	}
	w := d.waitWindow(true, 20*time.Second)
	t.Logf("deny → dialog visible: %v", time.Since(start).Round(time.Millisecond))
	time.Sleep(300 * time.Millisecond) // let the page render before the screenshot
	d.screenshot("justification")
	d.checkWindowState(w)

	d.keys(w, "type", "--delay", "40", "quarterly report")
	time.Sleep(300 * time.Millisecond)
	d.screenshot("justification-typed")
	d.keys(w, "key", "ctrl+Return")

	// The agent relaunches it as the user, with the original arguments.
	if got := waitFile(t, marker, 20*time.Second); got != "--quarter 3" {
		t.Errorf("relaunched with %q, want %q", got, "--quarter 3")
	}
	if cwd := waitFile(t, marker+".cwd", time.Second); cwd != "/tmp" {
		t.Errorf("relaunched in %q, want the original working directory /tmp", cwd)
	}
	d.waitWindow(false, 10*time.Second)
	ev := e.waitEvent("the relaunch allowed by the grant", func(ev localapi.Event) bool {
		return ev.Kind == "exec" && ev.Path == prog && ev.Allowed && ev.GrantID != 0
	})
	if ev.Reason != "quarterly report" || ev.UID != agentUID || !slices.Equal(ev.Args, []string{"--quarter", "3"}) {
		t.Errorf("grant-use event = %+v; want the reason, uid %d and the arguments", ev, agentUID)
	}
}

// blockAndShow runs prog as the user, expects EPERM and the dialog, and
// keeps a screenshot named shot.
func (d *desktop) blockAndShow(prog, shot string, args ...string) string {
	d.t.Helper()
	if err := d.runAsUser(prog, args...); !isEPERM(err) {
		d.t.Fatalf("%s: err = %v, want EPERM", prog, err)
	}
	w := d.waitWindow(true, 20*time.Second)
	time.Sleep(300 * time.Millisecond) // let the page render
	d.screenshot(shot)
	return w
}

func (e *env) waitRequestState(id int64, state request.State) localapi.Request {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		r, err := e.client().Request(ctx, id)
		cancel()
		if err == nil && r.State == state {
			return r
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("request %d not %s within 10s (now %+v, %v)", id, state, r, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// onlyRequest is the request for path, waiting for it: the daemon writes
// a request after it has answered the exec, so it may lag the EPERM.
func (e *env) onlyRequest(path string) localapi.Request {
	e.t.Helper()
	var found localapi.Request
	e.waitFor("the request for "+path, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		rs, err := e.client().Requests(ctx)
		if err != nil {
			e.t.Fatal(err)
		}
		for _, r := range rs {
			if r.Path == path {
				found = r
				return true
			}
		}
		return false
	})
	return found
}

func TestE2EAgentWarning(t *testing.T) {
	e := newEnv(t)
	e.start()
	d := newDesktop(t, e)
	prog, marker := e.markerScript("warn/tool")
	w := d.blockAndShow(prog, "warning", "--open", "file.txt")
	d.keys(w, "key", "Return") // Continue is the default button
	if got := waitFile(t, marker, 20*time.Second); got != "--open file.txt" {
		t.Errorf("relaunched with %q", got)
	}
	d.waitWindow(false, 10*time.Second)
	e.waitRequestState(e.onlyRequest(prog).ID, request.Answered)
}

func TestE2EAgentDeniedWithPublisherInfo(t *testing.T) {
	e := newEnv(t)
	e.start()
	d := newDesktop(t, e)
	prog, marker := e.markerScript("denmsg/game")
	w := d.blockAndShow(prog, "denied")
	// Publisher Info is left of Close, which has the focus.
	d.keys(w, "key", "shift+Tab", "space")
	time.Sleep(300 * time.Millisecond)
	d.screenshot("denied-publisher-info")
	d.keys(w, "key", "Escape")
	d.waitWindow(false, 10*time.Second)
	e.waitRequestState(e.onlyRequest(prog).ID, request.Cancelled)
	if _, err := os.Stat(marker); err == nil {
		t.Error("a denied program ran")
	}
}

func TestE2EAgentApprovalAndNotification(t *testing.T) {
	e := newEnv(t)
	e.start()
	d := newDesktop(t, e)
	prog, marker := e.markerScript("appr/editor")
	// The window starts this minute (the dialog takes a start up to a
	// minute in the past) and lasts ten: wait for a minute with time to
	// type it.
	for time.Now().Second() > 35 {
		time.Sleep(time.Second)
	}
	from := time.Now().UTC().Truncate(time.Minute)
	until := from.Add(10 * time.Minute)
	w := d.blockAndShow(prog, "approval", "notes.txt")
	d.keys(w, "type", "--delay", "40", "month-end close")
	d.keys(w, "key", "Tab")
	d.typeDateTime(w, from)
	d.keys(w, "key", "Tab")
	d.typeDateTime(w, until)
	time.Sleep(300 * time.Millisecond)
	d.screenshot("approval-filled")
	d.keys(w, "key", "Return") // Request Approval
	r := e.waitRequestState(e.onlyRequest(prog).ID, request.Submitted)
	if r.Reason != "month-end close" || !r.WindowStart.Equal(from) || !r.WindowEnd.Equal(until) {
		t.Errorf("submitted %q for %v – %v; want %q for %v – %v", r.Reason, r.WindowStart, r.WindowEnd, "month-end close", from, until)
	}
	time.Sleep(300 * time.Millisecond)
	d.screenshot("approval-submitted")
	d.keys(w, "key", "Return") // OK on the notice
	d.waitWindow(false, 10*time.Second)
	// The "submitted" notification, then "approved" replaces it once root
	// approves with the CLI.
	d.dunst.WaitDisplayed(t, 1)
	if out, err := e.cli(0, "requests", "approve", fmt.Sprint(r.ID)); err != nil {
		t.Fatalf("approve: %v %s", err, out)
	}
	e.waitRequestState(r.ID, request.Approved)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second); true {
			got, err := e.client().Request(ctx, r.ID)
			cancel()
			if err == nil && got.Notified {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not post the approval\n%s", d.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	d.screenshot("approved-notification")
	// A click on the notification opens the program, within its window.
	d.dunst.ClickFirst(t)
	if got := waitFile(t, marker, 20*time.Second); got != "notes.txt" {
		t.Errorf("opened with %q", got)
	}
	e.waitEvent("the run allowed by the approval", func(ev localapi.Event) bool {
		return ev.Kind == "exec" && ev.Path == prog && ev.Allowed && ev.RequestID == r.ID
	})
	// The grant ends with the window the user asked for.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gs, err := e.client().Grants(ctx)
	if err != nil || len(gs) != 1 || !gs[0].Expires.Equal(until) {
		t.Errorf("grants = %+v, %v; want one that expires at %v", gs, err, until)
	}
}

// typeDateTime fills a focused datetime-local field as WebKitGTK shows it
// (mm/dd/yyyy, hh:mm AM), one segment at a time.
func (d *desktop) typeDateTime(w string, t time.Time) {
	d.t.Helper()
	for _, seg := range []string{t.Format("01"), t.Format("02"), t.Format("2006"), t.Format("03"), t.Format("04"), t.Format("PM")[:1]} {
		d.keys(w, "type", "--delay", "80", seg)
		time.Sleep(150 * time.Millisecond)
		d.keys(w, "key", "Right")
	}
}

func TestE2EAgentOfflineCode(t *testing.T) {
	e := newEnv(t)
	e.start()
	d := newDesktop(t, e)
	prog, marker := e.markerScript("offline/app")
	w := d.blockAndShow(prog, "offline", "--sync")
	r := e.onlyRequest(prog)
	if len(r.RequestCode) != 6 {
		t.Fatalf("request = %+v", r)
	}
	// The help desk: the machine's secret, the name, code and revision.
	out, err := exec.Command(bins.cli, "offline", "respond", "--machine", r.Machine, "--request-code", r.RequestCode,
		"--revision", fmt.Sprint(r.PolicyRevision), "--secret-file", filepath.Join(e.dir, "db", "offline.key")).CombinedOutput()
	if err != nil {
		t.Fatalf("offline respond: %v %s", err, out)
	}
	code := strings.TrimSpace(string(out))
	// A wrong code first: the error is shown, the dialog stays.
	d.keys(w, "type", "--delay", "40", "0000-0000-0000")
	d.keys(w, "key", "Return")
	time.Sleep(500 * time.Millisecond)
	d.screenshot("offline-wrong-code")
	d.keys(w, "key", "ctrl+a", "BackSpace")
	d.keys(w, "type", "--delay", "40", strings.ToLower(code))
	d.keys(w, "key", "Return")
	if got := waitFile(t, marker, 20*time.Second); got != "--sync" {
		t.Errorf("relaunched with %q", got)
	}
	d.waitWindow(false, 10*time.Second)
	got := e.waitRequestState(r.ID, request.Approved)
	if got.DecidedBy != "offline response code" {
		t.Errorf("decided by %q", got.DecidedBy)
	}
}

// BenchmarkE2EDenyToDialog measures, with the agent already running, the
// time from a denied exec (its return to the caller) to the agent's window
// on screen (xdotool sees it mapped), over b.N blocks of a warning program,
// each closed with Escape. It reports the median and p95; the figures are
// in docs/benchmarks.md.
//
//	sudo go test -run '^$' -bench E2EDenyToDialog -benchtime 20x ./cmd/gatehoused
func BenchmarkE2EDenyToDialog(b *testing.B) {
	e := newEnv(b)
	e.start()
	d := newDesktop(b, e)
	prog, _ := e.markerScript("warn/bench")
	var lat []time.Duration
	for b.Loop() {
		start := time.Now()
		if err := d.runAsUser(prog); !isEPERM(err) {
			b.Fatalf("err = %v, want EPERM", err)
		}
		w := d.waitWindow(true, 20*time.Second)
		lat = append(lat, time.Since(start))
		d.keys(w, "key", "Escape")
		d.waitWindow(false, 10*time.Second)
		// The next run makes a new request once this one is closed.
		e.waitRequestState(e.onlyRequest(prog).ID, request.Cancelled)
	}
	slices.Sort(lat)
	pct := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.5), "p50-ms")
	b.ReportMetric(pct(0.95), "p95-ms")
	b.Logf("deny → dialog over %d runs: p50 %.0f ms, p95 %.0f ms, min %v, max %v", len(lat), pct(0.5), pct(0.95),
		lat[0].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
}

// TestE2EAgentDecisionWhileAway: an approval decided while the user's agent
// is not running is shown when it starts — once: the next start of the
// agent shows nothing again.
func TestE2EAgentDecisionWhileAway(t *testing.T) {
	e := newEnv(t)
	e.start()
	prog, marker := e.markerScript("appr/away")
	if err := e.run(prog, runOpt{uid: agentUID}); !isEPERM(err) {
		t.Fatalf("err = %v, want EPERM", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		rs, _ := e.client().Requests(ctx)
		cancel()
		if len(rs) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no request within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	id := fmt.Sprint(e.onlyRequest(prog).ID)
	if out, err := e.cli(agentUID, "request", id, "--reason", "needed while away"); err != nil {
		t.Fatalf("submit: %v %s", err, out)
	}
	if out, err := e.cli(0, "requests", "approve", id); err != nil {
		t.Fatalf("approve: %v %s", err, out)
	}

	d := newDesktop(t, e) // the agent starts now
	shown := func() int { return int(d.dunst.Displayed(t)) + len(d.dunst.History(t)) }
	deadline = time.Now().Add(10 * time.Second)
	for shown() < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the decision made while away was not shown\n%s", d.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := d.dunst.History(t); len(got) > 0 && !strings.Contains(got[0].Summary, "was approved") {
		t.Errorf("notification = %+v", got)
	}
	e.waitRequestState(e.onlyRequest(prog).ID, request.Approved)
	d.screenshot("approved-while-away")

	// Log out and in again: nothing new.
	d.stop()
	d.startAgent()
	time.Sleep(time.Second)
	if n := shown(); n != 1 {
		t.Errorf("after the agent restarted, dunst has shown %d notifications, want still 1", n)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the program ran without anyone starting it")
	}
}

// checkWindowState checks what the dialog window asks of the window
// manager: always on top, fixed at 480×360, centred on the 800×600 screen.
func (d *desktop) checkWindowState(w string) {
	d.t.Helper()
	props, err := d.x("xprop", "-id", w)
	if err != nil {
		d.t.Fatalf("xprop: %v %s", err, props)
	}
	for _, want := range []string{"_NET_WM_STATE_ABOVE", "minimum size: 480 by 360", "maximum size: 480 by 360"} {
		if !strings.Contains(props, want) {
			d.t.Errorf("window properties lack %q:\n%s", want, props)
		}
	}
	geo, err := d.x("xwininfo", "-id", w)
	if err != nil || !strings.Contains(geo, "Absolute upper-left X:  160") || !strings.Contains(geo, "Absolute upper-left Y:  120") {
		d.t.Errorf("window geometry (%v):\n%s\nwant centred at 160,120 on the 800x600 screen", err, geo)
	}
}

// menuItem is one entry of the tray's com.canonical.dbusmenu layout.
type menuItem struct {
	id      int32
	label   string
	visible bool
}

// trayMenu reads the agent's tray menu over the session bus, as a tray host
// (the StatusNotifierItem's menu object) would.
func (d *desktop) trayMenu(conn *dbus.Conn) ([]menuItem, error) {
	obj := conn.Object(fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", d.agent.Process.Pid), "/StatusNotifierItem/menu")
	var rev uint32
	var root struct {
		ID       int32
		Props    map[string]dbus.Variant
		Children []dbus.Variant
	}
	if err := obj.Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{}).Store(&rev, &root); err != nil {
		return nil, err
	}
	var out []menuItem
	for _, c := range root.Children {
		f, ok := c.Value().([]any)
		if !ok || len(f) < 2 {
			continue
		}
		id, _ := f[0].(int32)
		props, _ := f[1].(map[string]dbus.Variant)
		it := menuItem{id: id, visible: true}
		if v, ok := props["label"]; ok {
			it.label, _ = v.Value().(string)
		}
		if v, ok := props["visible"]; ok {
			it.visible, _ = v.Value().(bool)
		}
		out = append(out, it)
	}
	return out, nil
}

// waitMenu waits until the tray menu shows an item whose label contains want.
func (d *desktop) waitMenu(conn *dbus.Conn, want string) menuItem {
	d.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		items, err := d.trayMenu(conn)
		for _, it := range items {
			if it.visible && strings.Contains(it.label, want) {
				return it
			}
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("the tray menu has no %q within 10s: %+v (%v)", want, items, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestE2EAgentTrayMenu(t *testing.T) {
	e := newEnv(t)
	e.start()
	d := newDesktop(t, e)
	conn := d.bus.Conn(t)
	d.waitMenu(conn, "Connected · policy e2e revision 1")
	d.waitMenu(conn, "No open requests")

	prog, _ := e.markerScript("just/menu")
	w := d.blockAndShow(prog, "menu-dialog")
	d.waitMenu(conn, "menu — waiting for you")
	d.keys(w, "key", "Escape")
	d.waitMenu(conn, "menu — cancelled")

	// The daemon goes away and comes back: the menu says so, the agent
	// reconnects by itself.
	e.stop()
	d.waitMenu(conn, "Not connected: gatehoused is not running")
	e.start()
	d.waitMenu(conn, "Connected · policy e2e revision 1")

	// Quit from the menu ends the agent.
	quit := d.waitMenu(conn, "Quit Gatehouse")
	obj := conn.Object(fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", d.agent.Process.Pid), "/StatusNotifierItem/menu")
	if err := obj.Call("com.canonical.dbusmenu.Event", 0, quit.id, "clicked", dbus.MakeVariant(""), uint32(0)).Err; err != nil {
		t.Fatalf("click Quit: %v", err)
	}
	select {
	case err := <-d.done:
		if err != nil {
			t.Errorf("the agent exited with %v after Quit", err)
		}
		d.agent = nil
	case <-time.After(15 * time.Second):
		t.Fatalf("the agent did not quit within 15s of Quit\n%s", d.log.String())
	}
}

// TestE2EAgentAdminSession: admin rights asked for from the tray menu of
// the real agent: Request admin rights… opens the dialog, the reason typed
// in it is sent, the menu shows the time left, End admin rights ends the
// session, and a notification says so.
func TestE2EAgentAdminSession(t *testing.T) {
	e := newEnv(t)
	p := strings.ReplaceAll(fmt.Sprintf(e2ePolicy, 1), "MNT", e.mnt) +
		"admin_sessions:\n  - {name: everyone, require: justification, min_justification: 5, max_duration: 30m, default_duration: 15m}\n"
	if err := os.WriteFile(filepath.Join(e.dir, "policy.yaml"), []byte(p), 0o644); err != nil {
		t.Fatal(err)
	}
	e.start()
	d := newDesktop(t, e)
	conn := d.bus.Conn(t)
	click := func(it menuItem) {
		t.Helper()
		obj := conn.Object(fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", d.agent.Process.Pid), "/StatusNotifierItem/menu")
		if err := obj.Call("com.canonical.dbusmenu.Event", 0, it.id, "clicked", dbus.MakeVariant(""), uint32(0)).Err; err != nil {
			t.Fatalf("click %q: %v", it.label, err)
		}
	}
	click(d.waitMenu(conn, "Request admin rights…"))
	w := d.waitWindow(true, 20*time.Second)
	time.Sleep(300 * time.Millisecond)
	d.screenshot("admin")
	d.keys(w, "key", "Tab") // from the length (15 minutes) to the reason
	d.keys(w, "type", "--delay", "40", "install the printer")
	d.keys(w, "key", "ctrl+Return")
	ev := e.waitEvent("the session's grant", func(ev localapi.Event) bool {
		return ev.Kind == "admin_session" && ev.Action == "elevate" && ev.UID == agentUID
	})
	if ev.Reason != "install the printer" || ev.GrantID == 0 {
		t.Errorf("the grant's event: %+v", ev)
	}
	time.Sleep(300 * time.Millisecond)
	d.screenshot("admin-granted")
	d.keys(w, "key", "Return") // OK
	d.waitWindow(false, 10*time.Second)
	d.waitMenu(conn, "Admin rights: 14 min left")

	click(d.waitMenu(conn, "End admin rights"))
	e.waitEvent("the session's end", func(ev localapi.Event) bool {
		return ev.Kind == "admin_session" && ev.Action == "end" && ev.UID == agentUID && strings.Contains(ev.Detail, "ended by the user")
	})
	d.waitMenu(conn, "Request admin rights…")
	deadline := time.Now().Add(10 * time.Second)
	for {
		var said []string
		for _, n := range d.dunst.History(t) {
			said = append(said, n.Summary)
		}
		if slices.Contains(said, "Admin rights ended") {
			break
		}
		if d.dunst.Displayed(t) > 0 {
			d.dunst.CloseLast(t) // into the history, to be read
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("no notification of the end within 10s (history %q)", said)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
