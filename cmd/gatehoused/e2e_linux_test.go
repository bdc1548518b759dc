//go:build linux

package main

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gatehouse/gatehouse/internal/scratch"
	"github.com/gatehouse/gatehouse/internal/testbus"
	"github.com/gatehouse/gatehouse/localapi"
)

// End to end, as root: the real gatehoused binary with fanotify marks on a
// scratch tmpfs this test mounts (and nothing else), the real SQLite file,
// the real socket with peer credentials, and the real gatehouse CLI run as
// another uid. Every exec in here runs under a timeout.

var bins struct {
	once      sync.Once
	dir       string
	daemon    string
	cli       string
	console   string
	err       error
	cleanupFn func()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bins.cleanupFn != nil {
		bins.cleanupFn()
	}
	os.Exit(code)
}

// buildBinaries builds gatehoused, gatehouse and gatehouse-console once into a directory every
// user can read (the CLI is also run as uid 1000).
func buildBinaries(t testing.TB) {
	t.Helper()
	bins.once.Do(func() {
		dir, err := os.MkdirTemp("", "gatehouse-e2e-bin-")
		if err != nil {
			bins.err = err
			return
		}
		os.Chmod(dir, 0o755)
		bins.dir, bins.cleanupFn = dir, func() { os.RemoveAll(dir) }
		bins.daemon, bins.cli, bins.console = filepath.Join(dir, "gatehoused"), filepath.Join(dir, "gatehouse"), filepath.Join(dir, "gatehouse-console")
		for out, pkg := range map[string]string{bins.daemon: ".", bins.cli: "../gatehouse", bins.console: "../gatehouse-console"} {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
			b, err := cmd.CombinedOutput()
			cancel()
			if err != nil {
				bins.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
				return
			}
		}
	})
	if bins.err != nil {
		t.Fatal(bins.err)
	}
}

type env struct {
	t      testing.TB
	api    *localapi.Client
	dir    string // state: db, socket, policy (not marked)
	mnt    string // the scratch tmpfs, marked
	cmd    *exec.Cmd
	log    *testbus.Log
	waited chan error
	// config is added to the configuration start writes; environ to
	// gatehoused's environment.
	config  string
	environ []string
}

const e2ePolicy = `id: e2e
revision: %d
default: allow
groups:
  - name: blocked
    definitions: [{path: {starts_with: MNT/blocked/}}]
  - name: justify
    definitions: [{path: {starts_with: MNT/just/}}]
  - name: evil-args
    definitions: [{type: [binary, script], path: {exact: MNT/bin/tool}, args: {contains: --evil}}]
  - name: test-shell
    definitions: [{type: binary, path: {exact: MNT/bin/mysh}}]
  - name: child-of-test-shell
    definitions: [{type: [binary, script], path: {exact: MNT/bin/child}, parent: {group: test-shell}}]
  - name: warn
    definitions: [{path: {starts_with: MNT/warn/}}]
  - name: denied-message
    definitions: [{path: {starts_with: MNT/denmsg/}}]
  - name: approve
    definitions: [{path: {starts_with: MNT/appr/}}]
  - name: offline
    definitions: [{path: {starts_with: MNT/offline/}}]
  - name: approve-two
    definitions: [{path: {starts_with: MNT/appr2/}}]
rules:
  - {group: blocked, action: deny, message: {title: "{name} is blocked"}}
  - {group: justify, action: justification, min_justification: 5}
  - {group: warn, action: warning, message: {title: "{name} is not approved by IT", body: "Continue only if you trust it."}}
  - {group: denied-message, action: deny_message, message: {title: "{name} is not allowed", body: "Games are not allowed on company computers.", url: "https://it.example.com/policy"}}
  - {group: approve, action: approval, message: {title: "{name} needs approval"}}
  - {group: offline, action: approval_offline}
  - {group: approve-two, action: approval, approvers: 2}
  - {group: evil-args, action: deny}
  - {group: child-of-test-shell, action: deny}
`

func newEnv(t testing.TB) *env {
	scratch.NeedRoot(t, "runs gatehoused, which marks a scratch tmpfs with fanotify permission events")
	buildBinaries(t)
	// Not t.TempDir: its parent is 0700, and other uids must reach the
	// programs and the socket in here.
	dir, err := os.MkdirTemp("", "gatehouse-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	e := &env{t: t, dir: dir, log: &testbus.Log{}}
	e.mnt = filepath.Join(e.dir, "mnt")
	if err := os.Mkdir(e.mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	scratch.Mount(t, e.mnt)
	t.Cleanup(e.stop) // runs before the unmount: cleanups run last-in first-out
	for _, d := range []string{"bin", "blocked", "just", "warn", "denmsg", "appr", "appr2", "offline"} {
		os.MkdirAll(filepath.Join(e.mnt, d), 0o755)
	}
	e.writePolicy(1)
	return e
}

func (e *env) writePolicy(rev int) {
	p := strings.ReplaceAll(fmt.Sprintf(e2ePolicy, rev), "MNT", e.mnt)
	tmp := filepath.Join(e.dir, "policy.tmp")
	if err := os.WriteFile(tmp, []byte(p), 0o644); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(e.dir, "policy.yaml")); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) socket() string { return filepath.Join(e.dir, "run", "gatehoused.sock") }

// start runs gatehoused and waits until its API answers.
func (e *env) start() {
	e.t.Helper()
	cfg := filepath.Join(e.dir, "gatehoused.yaml")
	extra := e.config
	if !strings.Contains(extra, "sudoers_dir:") { // the machine's only for the sudo tests
		os.MkdirAll(filepath.Join(e.dir, "sudoers.d"), 0o755)
		extra += "sudoers_dir: " + filepath.Join(e.dir, "sudoers.d") + "\n"
	}
	os.WriteFile(cfg, []byte(fmt.Sprintf("policy: %s\ndatabase: %s\nsocket: %s\nmounts: [%s]\nreload_interval: 100ms\n",
		filepath.Join(e.dir, "policy.yaml"), filepath.Join(e.dir, "db", "gatehouse.db"), e.socket(), e.mnt)+extra), 0o644)
	e.cmd = exec.Command(bins.daemon, "--config", cfg)
	e.cmd.Env = append(os.Environ(), e.environ...)
	e.cmd.Stdout, e.cmd.Stderr = e.log, e.log
	if err := e.cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	e.waited = make(chan error, 1)
	go func(c *exec.Cmd, ch chan error) { ch <- c.Wait() }(e.cmd, e.waited)
	c := e.client()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := c.Status(ctx)
		cancel()
		if err == nil {
			return
		}
		select {
		case werr := <-e.waited:
			e.t.Fatalf("gatehoused exited: %v\n%s", werr, e.log.String())
		default:
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("gatehoused API not up within 20s: %v\n%s", err, e.log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *env) stop() {
	if e.cmd == nil {
		return
	}
	e.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-e.waited:
	case <-time.After(15 * time.Second):
		e.t.Errorf("gatehoused did not stop within 15s of SIGTERM; killing\n%s", e.log.String())
		e.cmd.Process.Kill()
		<-e.waited
	}
	e.cmd = nil
	if e.t.Failed() {
		e.t.Logf("gatehoused log:\n%s", e.log.String())
	}
}

// install copies src into the tmpfs at rel.
func (e *env) install(src, rel string) string {
	e.t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		e.t.Fatal(err)
	}
	p := filepath.Join(e.mnt, rel)
	if err := os.WriteFile(p, b, 0o755); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func (e *env) script(rel, body string) string {
	p := filepath.Join(e.mnt, rel)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		e.t.Fatal(err)
	}
	return p
}

type runOpt struct {
	uid  uint32
	args []string
}

// run executes path and returns the exec error (nil when it ran).
func (e *env) run(path string, o runOpt) error {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, o.args...)
	cmd.Dir = "/"
	if o.uid != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: o.uid, Gid: o.uid}}
	}
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		e.t.Fatalf("%s did not finish within 20s", path)
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		e.t.Fatalf("%s ran but failed: %v %s", path, err, out)
	}
	return err
}

// isEPERM is the kernel's answer to a fanotify deny (EACCES would be file
// permissions, which would make a test pass for the wrong reason).
func isEPERM(err error) bool { return errors.Is(err, syscall.EPERM) }

// cli runs the gatehouse CLI as uid against the daemon.
func (e *env) cli(uid uint32, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bins.cli, append(args, "--socket", e.socket())...)
	cmd.Dir = "/"
	if uid != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// client is one client for the whole test, as the agent would hold one.
func (e *env) client() *localapi.Client {
	if e.api == nil {
		e.api = localapi.NewClient(e.socket())
	}
	return e.api
}

func (e *env) events(f localapi.EventFilter) []localapi.Event {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if f.Limit == 0 {
		f.Limit = 10000
	}
	evs, err := e.client().Events(ctx, f)
	if err != nil {
		e.t.Fatal(err)
	}
	return evs
}

// waitEvent polls the API until an event satisfying ok appears.
func (e *env) waitEvent(what string, ok func(localapi.Event) bool) localapi.Event {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		for _, ev := range e.events(localapi.EventFilter{}) {
			if ok(ev) {
				return ev
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("no audit event for %s within 10s", what)
	return localapi.Event{}
}

func TestE2EAllowDeny(t *testing.T) {
	e := newEnv(t)
	e.start()
	ok := e.install("/bin/true", "bin/ok")
	bad := e.install("/bin/true", "blocked/bad")
	if err := e.run(ok, runOpt{}); err != nil {
		t.Fatalf("allowed program: %v", err)
	}
	if err := e.run(bad, runOpt{uid: 1000}); !isEPERM(err) {
		t.Fatalf("denied program: err = %v, want EPERM", err)
	}
	ev := e.waitEvent("the deny", func(ev localapi.Event) bool { return ev.Path == bad && ev.Action == "deny" })
	if ev.Allowed || ev.UID != 1000 || ev.Rule != 1 || ev.PolicyID != "e2e" || ev.SHA256 == "" {
		t.Errorf("deny event = %+v", ev)
	}
	out, err := e.cli(0, "status")
	if err != nil || !strings.Contains(out, "e2e revision 1") || !strings.Contains(out, e.mnt) {
		t.Errorf("gatehouse status: %v\n%s", err, out)
	}
	out, err = e.cli(0, "check", bad)
	if err != nil || !strings.Contains(out, "BLOCKED") {
		t.Errorf("gatehouse check %s: %v\n%s", bad, err, out)
	}
	// A user sees only their own events.
	out, err = e.cli(1001, "events", "--json")
	if err != nil {
		t.Fatalf("events as 1001: %v %s", err, out)
	}
	if strings.Contains(out, bad) {
		t.Errorf("uid 1001 sees uid 1000's events:\n%s", out)
	}
	out, err = e.cli(1000, "events", "--json", "--action", "deny")
	if err != nil || !strings.Contains(out, bad) {
		t.Errorf("uid 1000 does not see its own deny: %v\n%s", err, out)
	}
}

func TestE2EJustification(t *testing.T) {
	e := newEnv(t)
	e.start()
	p := e.install("/bin/true", "just/tool")
	if err := e.run(p, runOpt{uid: 1000}); !isEPERM(err) {
		t.Fatalf("justification program before answering: %v, want EPERM", err)
	}
	var req localapi.Request
	deadline := time.Now().Add(10 * time.Second)
	for req.ID == 0 && time.Now().Before(deadline) {
		out, err := e.cli(1000, "requests", "--json")
		if err != nil {
			t.Fatalf("requests as 1000: %v %s", err, out)
		}
		var rs []localapi.Request
		json.Unmarshal([]byte(out), &rs)
		for _, r := range rs {
			if r.Path == p {
				req = r
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if req.ID == 0 || req.Kind != "justification" || req.UID != 1000 {
		t.Fatalf("no justification request visible to uid 1000: %+v", req)
	}
	id := strconv.FormatInt(req.ID, 10)
	// Another user cannot answer it, and cannot claim to be 1000.
	if out, err := e.cli(1001, "request", id, "--reason", "let me in please"); err == nil {
		t.Errorf("uid 1001 answered uid 1000's request: %s", out)
	}
	if out, err := e.cli(1000, "request", id, "--reason", "abc"); err == nil || !strings.Contains(out, "at least 5") {
		t.Errorf("too short a reason: %v %s", err, out)
	}
	if out, err := e.cli(1000, "request", id, "--reason", "monthly report"); err != nil || !strings.Contains(out, "granted") {
		t.Fatalf("answer: %v %s", err, out)
	}
	if err := e.run(p, runOpt{uid: 1001}); !isEPERM(err) {
		t.Errorf("another uid ran the granted program: %v", err)
	}
	if err := e.run(p, runOpt{uid: 1000}); err != nil {
		t.Fatalf("granted program: %v", err)
	}
	e.waitEvent("the run allowed by the grant", func(ev localapi.Event) bool {
		return ev.Path == p && ev.Allowed && ev.GrantID != 0 && ev.Reason == "monthly report"
	})
	// Renamed: blocked again.
	moved := filepath.Join(e.mnt, "just", "renamed")
	os.Rename(p, moved)
	if err := e.run(moved, runOpt{uid: 1000}); !isEPERM(err) {
		t.Errorf("renamed granted file: %v, want EPERM", err)
	}
}

func TestE2EArgsAndParent(t *testing.T) {
	e := newEnv(t)
	e.start()
	tool := e.script("bin/tool", "exit 0")
	if err := e.run(tool, runOpt{args: []string{"--fine", "a b"}}); err != nil {
		t.Errorf("tool --fine: %v", err)
	}
	if err := e.run(tool, runOpt{args: []string{"x", "--evil"}}); !isEPERM(err) {
		t.Errorf("tool x --evil: %v, want EPERM", err)
	}
	ev := e.waitEvent("the args deny", func(ev localapi.Event) bool { return ev.Path == tool && ev.Action == "deny" })
	if strings.Join(ev.Args, " ") != "x --evil" {
		t.Errorf("deny event args = %q, want the real arguments [x --evil]", ev.Args)
	}
	// The child is denied when its parent is the test shell, not otherwise.
	mysh := e.install("/bin/dash", "bin/mysh")
	child := e.script("bin/child", "exit 0")
	if err := e.run(child, runOpt{}); err != nil {
		t.Errorf("child run directly: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, mysh, "-c", child+"; echo rc=$?").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "rc=126") && !strings.Contains(string(out), "rc=2") {
		t.Errorf("child under the test shell ran or shell failed: %v %q", err, out)
	}
	e.waitEvent("the parent deny", func(ev localapi.Event) bool {
		return ev.Path == child && ev.Action == "deny" && ev.Parent == mysh
	})
}

func TestE2EReloadKeepsOldPolicyOnError(t *testing.T) {
	e := newEnv(t)
	e.start()
	bad := e.install("/bin/true", "blocked/bad")
	os.WriteFile(filepath.Join(e.dir, "policy.yaml"), []byte("id: broken\nrevision: 9\nrules: [{group: nope, action: deny}]\n"), 0o644)
	e.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	var st localapi.Status
	for time.Now().Before(deadline) {
		st, _ = e.client().Status(context.Background())
		if st.PolicyError != "" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.PolicyError == "" || !strings.Contains(st.PolicyError, "nope") || st.PolicyRevision != 1 {
		t.Fatalf("after a broken reload: revision %d, error %q", st.PolicyRevision, st.PolicyError)
	}
	if err := e.run(bad, runOpt{}); !isEPERM(err) {
		t.Errorf("old policy not in force after a broken reload: %v", err)
	}
	e.writePolicy(2)
	for time.Now().Before(deadline) {
		st, _ = e.client().Status(context.Background())
		if st.PolicyRevision == 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if st.PolicyRevision != 2 || st.PolicyError != "" {
		t.Errorf("fixed policy not picked up: revision %d error %q", st.PolicyRevision, st.PolicyError)
	}
}

// TestE2EKill9 kills the daemon with SIGKILL while execs stream through the
// marked mount: execs keep working, a restart recovers, and no audit event
// the daemon reported as committed is lost.
func TestE2EKill9(t *testing.T) {
	e := newEnv(t)
	e.start()
	ok := e.install("/bin/true", "bin/ok")
	bad := e.install("/bin/true", "blocked/bad")
	var stop atomic.Bool
	var runs, fails atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				err := exec.CommandContext(ctx, ok).Run()
				if ctx.Err() != nil {
					t.Error("an exec hung for 20s")
				}
				cancel()
				runs.Add(1)
				if err != nil {
					fails.Add(1)
				}
			}
		}()
	}
	for i := 0; i < 20; i++ {
		e.run(bad, runOpt{})
	}
	time.Sleep(300 * time.Millisecond)
	committed := e.events(localapi.EventFilter{})
	if len(committed) == 0 {
		t.Fatal("no events committed before the kill")
	}
	e.cmd.Process.Kill()
	<-e.waited
	e.cmd = nil
	before := runs.Load()
	time.Sleep(500 * time.Millisecond)
	if runs.Load() == before {
		t.Error("no exec completed in 500ms after the daemon was killed")
	}
	if err := e.run(bad, runOpt{}); err != nil {
		t.Errorf("with the daemon dead, execs are not held: got %v", err)
	}
	e.start()
	stop.Store(true)
	wg.Wait()
	if f := fails.Load(); f != 0 {
		t.Errorf("%d of %d allowed execs failed across the kill", f, runs.Load())
	}
	if err := e.run(bad, runOpt{}); !isEPERM(err) {
		t.Errorf("after restart the policy is not enforced: %v", err)
	}
	after := e.events(localapi.EventFilter{})
	have := map[int64]bool{}
	for _, ev := range after {
		have[ev.ID] = true
	}
	for _, ev := range committed {
		if !have[ev.ID] {
			t.Errorf("event %d (%s %s) committed before the kill is gone", ev.ID, ev.Kind, ev.Path)
		}
	}
	// The restart records the kill, with the number of events it lost.
	var unclean []localapi.Event
	for _, ev := range after {
		if ev.Kind == "unclean_stop" {
			unclean = append(unclean, ev)
		}
	}
	if len(unclean) != 1 || unclean[0].PolicyID == "" || !strings.Contains(unclean[0].Detail, "did not stop cleanly") ||
		!strings.Contains(unclean[0].Detail, "audit events lost without a record") {
		t.Fatalf("after the restart: unclean_stop events %+v, want one, naming the policy and counting what was lost", unclean)
	}
	t.Logf("%d execs across the kill; %d events committed before it, %d after restart; the restart says: %s",
		runs.Load(), len(committed), len(after), unclean[0].Detail)
}

// openPTY opens a pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	// Through SyscallConn, not Fd: Fd would put the master in blocking
	// mode, and readUntil's deadlines would then never fire (a read with
	// nothing to read hung the whole test binary once).
	rc, err := m.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		if ierr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ierr == nil {
			n, ierr = unix.IoctlGetInt(int(fd), unix.TIOCGPTN)
		}
	}); err != nil || ierr != nil {
		t.Fatal(err, ierr)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// TestE2ETerminalMessage: a program blocked from a terminal gets one short
// message on that terminal, with the rule's message; a request gets the
// command to answer it.
func TestE2ETerminalMessage(t *testing.T) {
	e := newEnv(t)
	e.start()
	for _, tt := range []struct {
		rel  string
		want []string
	}{
		{"blocked/bad", []string{"was blocked by policy e2e rule 1", "bad is blocked"}},
		{"just/tool", []string{"was blocked (justification, request", "gatehouse request", "--reason"}},
	} {
		p := e.install("/bin/true", tt.rel)
		m, s := openPTY(t)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		cmd := exec.CommandContext(ctx, p)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = s, s, s
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		err := cmd.Run()
		cancel()
		if !isEPERM(err) {
			t.Fatalf("%s from a terminal: %v, want EPERM", p, err)
		}
		got := readUntil(t, m, tt.want[len(tt.want)-1], 10*time.Second)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("terminal of %s got %q, want it to contain %q", tt.rel, got, w)
			}
		}
	}
}

// readUntil reads the pty master until want appears or the time is up.
func readUntil(t *testing.T, m *os.File, want string, d time.Duration) string {
	t.Helper()
	var b strings.Builder
	deadline := time.Now().Add(d)
	buf := make([]byte, 4096)
	for time.Now().Before(deadline) && !strings.Contains(b.String(), want) {
		m.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, _ := m.Read(buf)
		b.Write(buf[:n])
	}
	return b.String()
}

// TestE2ECacheDroppedOnWrite: writing a file that was run drops its cached
// facts (FAN_CLOSE_WRITE), and the new content is what gets decided.
func TestE2ECacheDroppedOnWrite(t *testing.T) {
	e := newEnv(t)
	e.start()
	p := e.script("bin/tool", "exit 0")
	if err := e.run(p, runOpt{}); err != nil {
		t.Fatal(err)
	}
	counter := func(name string) uint64 {
		st, err := e.client().Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return st.Counters[name]
	}
	before := counter("cache_evictions")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nexit 0 # changed\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for counter("cache_evictions") == before && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if counter("cache_evictions") == before {
		t.Fatal("writing a cached file did not drop its facts")
	}
	if err := e.run(p, runOpt{}); err != nil {
		t.Fatal(err)
	}
	var hashes []string
	for deadline := time.Now().Add(10 * time.Second); len(hashes) < 2 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		hashes = hashes[:0]
		for _, ev := range e.events(localapi.EventFilter{Kind: "exec", PathContains: p}) {
			hashes = append(hashes, ev.SHA256)
		}
	}
	if len(hashes) < 2 || hashes[0] == hashes[len(hashes)-1] {
		t.Errorf("the run after the write was decided on the old hash: %v", hashes)
	}
}

// TestE2EKernelCache: a plain allow is remembered by the kernel (the daemon
// no longer sees the file), and forgotten when the file is modified or the
// policy reloads.
func TestE2EKernelCache(t *testing.T) {
	e := newEnv(t)
	evil := []byte("#!/bin/sh\nexit 0 # evil\n")
	sum := sha256.Sum256(evil)
	pol := func(rev int, denyCached bool) {
		action := "allow"
		if denyCached {
			action = "deny"
		}
		p := fmt.Sprintf(`id: e2e-cache
revision: %d
default: allow
groups:
  - name: evil
    definitions: [{sha256: %x}]
  - name: cached
    definitions: [{path: {starts_with: %s/cached/}}]
rules:
  - {group: evil, action: deny}
  - {group: cached, action: %s, audit: false}
`, rev, sum, e.mnt, action)
		tmp := filepath.Join(e.dir, "policy.tmp")
		os.WriteFile(tmp, []byte(p), 0o644)
		os.Rename(tmp, filepath.Join(e.dir, "policy.yaml"))
	}
	pol(1, false)
	e.start()
	os.MkdirAll(filepath.Join(e.mnt, "cached"), 0o755)
	prog := e.install("/bin/true", "cached/prog")
	execs := func() uint64 {
		st, err := e.client().Status(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return st.Counters["execs"]
	}
	for i := 0; i < 2; i++ {
		if err := e.run(prog, runOpt{}); err != nil {
			t.Fatalf("run %d: %v", i, err)
		}
	}
	n := execs()
	for i := 0; i < 5; i++ {
		e.run(prog, runOpt{})
	}
	if got := execs(); got != n {
		t.Errorf("the daemon saw %d more execs of a cached allow", got-n)
	}
	// Modified: held and decided again (on the new hash: denied).
	if err := os.WriteFile(prog, evil, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := e.run(prog, runOpt{}); !isEPERM(err) {
		t.Errorf("a cached file rewritten with denied contents: %v, want EPERM", err)
	}
	// Reload: cached allows are forgotten.
	prog2 := e.install("/bin/true", "cached/prog2")
	e.run(prog2, runOpt{})
	e.run(prog2, runOpt{})
	pol(2, true)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if st, _ := e.client().Status(context.Background()); st.PolicyRevision == 2 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := e.run(prog2, runOpt{}); !isEPERM(err) {
		t.Errorf("cached allow survived a policy that denies it: %v, want EPERM", err)
	}
}
