package enforcer_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/apiserver"
	"github.com/gatehouse/gatehouse/enforcer/enforcertest"
	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/offline"
	"github.com/gatehouse/gatehouse/request"
)

// The engine against a fake event source and fake /proc (enforcertest):
// real files (for facts and hashes), a real SQLite store, the real local
// API handler (enforcer/apiserver) over it.

type harness struct {
	t      testing.TB
	shift  atomic.Int64 // added to the engine's clock
	dir    string
	e      *enforcer.Engine
	api    http.Handler
	st     *store.Store
	src    *enforcertest.Source
	tasks  *enforcertest.Tasks
	cancel context.CancelFunc
	done   chan error
	nextID atomic.Int32 // pids of fake execs
}

const testPolicy = `id: engine-test
revision: %d
default: allow
groups:
  - name: denied
    definitions: [{path: {starts_with: DIR/deny/}}]
  - name: justify
    definitions: [{path: {starts_with: DIR/just/}}]
  - name: warn
    definitions: [{path: {starts_with: DIR/warn/}}]
  - name: approve
    definitions: [{path: {starts_with: DIR/appr/}}]
  - name: evil-args
    definitions: [{type: [binary, script], path: {exact: DIR/args/tool}, args: {contains: --evil}}]
  - name: shells
    definitions: [{path: {exact: DIR/parent/sh}}]
  - name: child-of-shell
    definitions: [{type: [binary, script], path: {exact: DIR/child/tool}, parent: {group: shells, any_ancestor: true}}]
  - name: audited
    definitions: [{path: {starts_with: DIR/audit/}}]
  - name: denied-message
    definitions: [{path: {starts_with: DIR/denmsg/}}]
  - name: denied-notify
    definitions: [{path: {starts_with: DIR/notify/}}]
  - name: offline
    definitions: [{path: {starts_with: DIR/offline/}}]
  - name: safe-tool
    definitions: [{type: [binary, script], path: {exact: DIR/safe/tool}, args: {exact: --safe}}]
  - name: safe-dir
    definitions: [{path: {starts_with: DIR/safe/}}]
rules:
  - {group: denied, action: deny, message: {title: "{name} is blocked"}}
  - {group: justify, action: justification, min_justification: 5}
  - {group: warn, action: warning}
  - {group: approve, action: approval}
  - {group: evil-args, action: deny}
  - {group: child-of-shell, action: deny}
  - {group: audited, action: audit}
  - {group: denied-message, action: deny_message, message: {title: "{name} is not allowed", body: "Ask IT."}}
  - {group: denied-notify, action: deny_notify}
  - {group: offline, action: approval_offline}
  - {group: safe-tool, action: allow}
  - {group: safe-dir, action: deny}
`

func newHarness(t testing.TB, mod func(*enforcer.Config)) *harness {
	t.Helper()
	return newHarnessWith(t, mod, enforcer.Options{})
}

// newHarnessWith is newHarness with engine options beyond the seams.
func newHarnessWith(t testing.TB, mod func(*enforcer.Config), opt enforcer.Options) *harness {
	t.Helper()
	dir := t.TempDir()
	h := &harness{t: t, dir: dir, src: enforcertest.NewSource(), tasks: &enforcertest.Tasks{}}
	h.nextID.Store(1000)
	h.writePolicy(1)
	cfg := enforcer.DefaultConfig()
	cfg.Policy = filepath.Join(dir, "policy.yaml")
	cfg.Database = filepath.Join(dir, "db", "gatehouse.db")
	cfg.SudoersDir = filepath.Join(dir, "sudoers.d") // never the machine's
	os.MkdirAll(cfg.SudoersDir, 0o755)
	cfg.Socket = filepath.Join(dir, "sock")
	cfg.ReloadInterval = enforcer.Duration(20 * time.Millisecond)
	// The tests that count audit events count the decisions' own; the
	// programs' first records are tested in programs_test.go.
	cfg.ProgramFacts = new(false)
	if mod != nil {
		mod(&cfg)
	}
	st, err := store.Open(cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	h.st = st
	opt.Tasks, opt.Store = h.tasks, st
	opt.Now = func() time.Time { return time.Now().Add(time.Duration(h.shift.Load())) }
	e, err := enforcer.New(cfg, opt)
	if err != nil {
		t.Fatal(err)
	}
	h.e = e
	h.api = apiserver.New(e, nil).Handler()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- e.Run(ctx, h.src) }()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		h.t.Error("Run did not return within 10s of cancel")
	}
	h.cancel = nil
	h.st.Close()
}

func (h *harness) writePolicy(rev int) {
	p := strings.ReplaceAll(fmt.Sprintf(testPolicy, rev), "DIR", h.dir)
	tmp := filepath.Join(h.dir, "policy.yaml.tmp")
	if err := os.WriteFile(tmp, []byte(p), 0o644); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(h.dir, "policy.yaml")); err != nil {
		h.t.Fatal(err)
	}
}

// file creates an executable file under the harness dir.
func (h *harness) file(rel, content string) string {
	h.t.Helper()
	return enforcertest.Program(h.t, h.dir, rel, content)
}

type execOpt struct {
	uid          uint32
	args         []string
	ancestors    []enforcer.Ancestor
	deadline     time.Time
	slow         time.Duration
	argsBlock    chan struct{}
	argsErr      error // the arguments cannot be read
	ancestorsErr error // the parent chain cannot be read
}

// exec runs one fake exec of path and returns the answer.
func (h *harness) exec(path string, o execOpt) bool {
	h.t.Helper()
	f, err := os.Open(path)
	if err != nil {
		h.t.Fatal(err)
	}
	pid := h.nextID.Add(1)
	args := o.args
	if args == nil {
		args = []string{filepath.Base(path)}
	}
	ft := enforcertest.Task{Task: enforcer.Task{UID: o.uid, GIDs: []uint32{o.uid}}, Args: args, Ancestors: o.ancestors, Slow: o.slow, ArgsBlock: o.argsBlock}
	if o.argsErr != nil || o.ancestorsErr != nil {
		ft.Fail = &enforcertest.Failure{Args: o.argsErr, Ancestors: o.ancestorsErr}
	}
	h.tasks.Set(pid, ft)
	x := enforcertest.NewExec(f, pid)
	x.Due = o.deadline
	return h.src.Send(h.t, x)
}

// as is the caller the kernel would report for a process of uid.
func (h *harness) as(uid uint32) context.Context {
	return apiserver.WithActor(context.Background(), h.e.Identify(enforcer.Peer{UID: uid, RealUID: uid, PID: 1, GIDs: []uint32{uid}}))
}

// call calls the local API as uid, as if it came over the socket.
func (h *harness) call(uid uint32, method, path string, body any, out any) int {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req := httptest.NewRequest(method, "/v1"+path, rd)
	req = req.WithContext(h.as(uid))
	w := httptest.NewRecorder()
	h.api.ServeHTTP(w, req)
	if out != nil && w.Code/100 == 2 {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			h.t.Fatalf("%s %s: decode %q: %v", method, path, w.Body.String(), err)
		}
	}
	if w.Code/100 != 2 {
		h.t.Logf("%s %s as uid %d: %d %s", method, path, uid, w.Code, strings.TrimSpace(w.Body.String()))
	}
	return w.Code
}

// waitRequest polls until uid has a request for path.
func (h *harness) waitRequest(uid uint32, path string) localapi.Request {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var rs []localapi.Request
		h.call(uid, "GET", "/requests", nil, &rs)
		for _, r := range rs {
			if r.Path == path {
				return r
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatalf("no request for %s (uid %d) within 10s", path, uid)
	return localapi.Request{}
}

func (h *harness) events(f store.Filter) []store.Event {
	h.t.Helper()
	if err := h.e.FlushAudit(context.Background()); err != nil {
		h.t.Fatal(err)
	}
	evs, err := h.st.Events(context.Background(), f)
	if err != nil {
		h.t.Fatal(err)
	}
	return evs
}

func TestAllowDenyAudit(t *testing.T) {
	h := newHarness(t, nil)
	ok := h.file("bin/ok", "#!/bin/sh\n")
	bad := h.file("deny/bad", "\x7fELF-not-really")
	aud := h.file("audit/tool", "tool")
	if !h.exec(ok, execOpt{uid: 1000}) {
		t.Error("program no rule covers was denied; the default is allow")
	}
	if h.exec(bad, execOpt{uid: 1000}) {
		t.Error("program in deny/ was allowed")
	}
	if !h.exec(aud, execOpt{uid: 1000}) {
		t.Error("audited program was denied")
	}
	evs := h.events(store.Filter{Kind: "exec"})
	var sawDeny, sawAudit bool
	for _, ev := range evs {
		switch ev.Path {
		case bad:
			sawDeny = ev.Action == "deny" && !ev.Allowed && ev.Rule == 1 && ev.PolicyID == "engine-test" && ev.PolicyRevision == 1 && ev.SHA256 != ""
		case aud:
			sawAudit = ev.Action == "audit" && ev.Allowed && ev.Rule == 7
		case ok:
			// Rules and the default log to the audit trail unless the
			// policy says audit: false.
			if ev.Rule != 0 || !ev.Allowed || ev.Action != "allow" {
				t.Errorf("default decision recorded as %+v", ev)
			}
		}
	}
	if !sawDeny || !sawAudit {
		t.Errorf("audit log lacks the deny (%v) or the audit event (%v): %+v", sawDeny, sawAudit, evs)
	}
}

func TestJustificationGrant(t *testing.T) {
	h := newHarness(t, nil)
	p := h.file("just/tool", "#!/bin/sh\necho hi\n")
	if h.exec(p, execOpt{uid: 1000}) {
		t.Fatal("justification program allowed before any answer")
	}
	r := h.waitRequest(1000, p)
	if r.Kind != request.Justification || r.State != request.Pending || r.MinJustification != 5 {
		t.Fatalf("request = %+v", r)
	}
	// Another user neither sees nor answers it.
	var others []localapi.Request
	h.call(1001, "GET", "/requests", nil, &others)
	if len(others) != 0 {
		t.Errorf("uid 1001 sees %d requests of uid 1000", len(others))
	}
	id := fmt.Sprint(r.ID)
	if code := h.call(1001, "POST", "/requests/"+id+"/answer", localapi.Answer{Reason: "not mine at all"}, nil); code != http.StatusNotFound {
		t.Errorf("another user answering: status %d, want 404", code)
	}
	// Too short a reason is refused with a clear 400.
	if code := h.call(1000, "POST", "/requests/"+id+"/answer", localapi.Answer{Reason: "abc"}, nil); code != http.StatusBadRequest {
		t.Errorf("short reason: status %d, want 400", code)
	}
	var res localapi.AnswerResult
	if code := h.call(1000, "POST", "/requests/"+id+"/answer", localapi.Answer{Reason: "quarterly report"}, &res); code != 200 {
		t.Fatalf("answer: status %d", code)
	}
	if res.Grant == nil || res.Request.State != request.Answered {
		t.Fatalf("answer result = %+v", res)
	}
	// Another user does not inherit the grant.
	if h.exec(p, execOpt{uid: 1001}) {
		t.Error("uid 1001 ran a program uid 1000 was granted")
	}
	if !h.exec(p, execOpt{uid: 1000}) {
		t.Fatal("granted program still denied")
	}
	// grant_uses defaults to 1: the second run is blocked again.
	if h.exec(p, execOpt{uid: 1000}) {
		t.Error("single-use grant allowed a second run")
	}
	var sawGrantUse bool
	for _, ev := range h.events(store.Filter{Kind: "exec"}) {
		if ev.Path == p && ev.Allowed && ev.GrantID == res.Grant.ID && ev.Reason == "quarterly report" {
			sawGrantUse = true
		}
	}
	if !sawGrantUse {
		t.Error("no audit event for the run allowed by the grant carrying the reason")
	}
}

func TestGrantNotInheritedByRenameOrReplace(t *testing.T) {
	h := newHarness(t, func(c *enforcer.Config) { c.GrantUses = 0 })
	p := h.file("warn/tool", "version 1")
	if h.exec(p, execOpt{uid: 1000}) {
		t.Fatal("warning program allowed before Continue")
	}
	r := h.waitRequest(1000, p)
	var res localapi.AnswerResult
	if code := h.call(1000, "POST", fmt.Sprintf("/requests/%d/answer", r.ID), localapi.Answer{}, &res); code != 200 || res.Grant == nil {
		t.Fatalf("Continue: %d %+v", code, res)
	}
	if !h.exec(p, execOpt{uid: 1000}) {
		t.Fatal("Continue did not let the program run")
	}
	// Renamed (same inode, same content, new path): not granted.
	moved := filepath.Join(h.dir, "warn", "moved")
	if err := os.Rename(p, moved); err != nil {
		t.Fatal(err)
	}
	if h.exec(moved, execOpt{uid: 1000}) {
		t.Error("renamed file inherited the grant")
	}
	// Moved back: the grant applies again (unlimited uses).
	if err := os.Rename(moved, p); err != nil {
		t.Fatal(err)
	}
	if !h.exec(p, execOpt{uid: 1000}) {
		t.Error("file moved back lost its grant")
	}
	// Replaced in place (same path, same inode, new content): not granted.
	if err := os.WriteFile(p, []byte("version 2, changed"), 0o755); err != nil {
		t.Fatal(err)
	}
	if h.exec(p, execOpt{uid: 1000}) {
		t.Error("file rewritten in place kept the grant")
	}
	// Replaced by a new file (new inode) with other content: not granted.
	// (A byte-identical copy that happens to reuse the inode number is the
	// same program at the same path, and is let through.)
	os.Remove(p)
	h.file("warn/tool", "version 3")
	if h.exec(p, execOpt{uid: 1000}) {
		t.Error("a new file at the granted path kept the grant")
	}
}

func TestApprovalWindow(t *testing.T) {
	h := newHarness(t, nil)
	p := h.file("appr/installer", "installer")
	if h.exec(p, execOpt{uid: 1000}) {
		t.Fatal("approval program allowed before approval")
	}
	r := h.waitRequest(1000, p)
	id := fmt.Sprint(r.ID)
	// The user cannot approve; root cannot approve before submission.
	if code := h.call(0, "POST", "/requests/"+id+"/approve", localapi.Decide{}, nil); code != http.StatusBadRequest {
		t.Errorf("approve before submission: %d, want 400", code)
	}
	start := time.Now().Add(time.Hour)
	if code := h.call(1000, "POST", "/requests/"+id+"/answer", localapi.Answer{Reason: "need to install it", WindowStart: start, WindowEnd: start.Add(time.Hour)}, nil); code != 200 {
		t.Fatalf("submit: %d", code)
	}
	if code := h.call(1000, "POST", "/requests/"+id+"/approve", localapi.Decide{}, nil); code != http.StatusForbidden {
		t.Errorf("user approving own request: %d, want 403", code)
	}
	var res localapi.AnswerResult
	if code := h.call(0, "POST", "/requests/"+id+"/approve", localapi.Decide{Note: "ok"}, &res); code != 200 || res.Grant == nil {
		t.Fatalf("approve: %d %+v", code, res)
	}
	// The window starts in an hour: still blocked now.
	if h.exec(p, execOpt{uid: 1000}) {
		t.Error("approved program ran before its window")
	}
	h.shift.Store(int64(time.Until(start.Add(time.Minute))))
	if !h.exec(p, execOpt{uid: 1000}) {
		t.Error("approved program blocked inside its window")
	}
	h.shift.Store(int64(time.Until(start.Add(2 * time.Hour))))
	if h.exec(p, execOpt{uid: 1000}) {
		t.Error("approved program ran after its window")
	}
}

func TestArgsAndParents(t *testing.T) {
	h := newHarness(t, nil)
	tool := h.file("args/tool", "#!/bin/sh\necho tool\n")
	if !h.exec(tool, execOpt{uid: 1000, args: []string{"tool", "--fine"}}) {
		t.Error("tool --fine denied")
	}
	if h.exec(tool, execOpt{uid: 1000, args: []string{"tool", "--evil"}}) {
		t.Error("tool --evil allowed")
	}
	sh := h.file("parent/sh", "#!/bin/sh\necho shell\n")
	other := h.file("parent/other", "#!/bin/sh\necho other\n")
	child := h.file("child/tool", "#!/bin/sh\necho child\n")
	if h.exec(child, execOpt{uid: 1000, ancestors: []enforcer.Ancestor{{PID: 7, Exe: other}, {PID: 8, Exe: sh}}}) {
		t.Error("child with the shell as grandparent allowed")
	}
	if !h.exec(child, execOpt{uid: 1000, ancestors: []enforcer.Ancestor{{PID: 9, Exe: other}}}) {
		t.Error("child without the shell among its parents denied")
	}
}

func TestWatchdogFailOpenAndClosed(t *testing.T) {
	for _, closed := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail_closed=%v", closed), func(t *testing.T) {
			h := newHarness(t, func(c *enforcer.Config) {
				c.FailClosed = closed
				c.DecisionBudget = enforcer.Duration(50 * time.Millisecond)
			})
			p := h.file("bin/slow", "slow")
			h.exec(p, execOpt{uid: 1000}) // cache the facts
			got := h.exec(p, execOpt{uid: 1000, slow: time.Second})
			if got != !closed {
				t.Errorf("decision over budget answered allow=%v, want %v", got, !closed)
			}
			// The counter is bumped just after the answer.
			waitFor(t, "budget_timeouts = 1", func() bool { return h.e.Counter("budget_timeouts") == 1 })
		})
	}
}

// The watchdog's timers are reused: one that fired for a slow decision
// never answers a later one, and the ones that did not fire watch the
// next decisions.
func TestWatchdogTimersReused(t *testing.T) {
	h := newHarness(t, func(c *enforcer.Config) {
		c.FailClosed = true // a watchdog's answer is a deny: any stray one shows
		c.DecisionBudget = enforcer.Duration(50 * time.Millisecond)
	})
	p := h.file("bin/tool", "tool")
	for i := range 40 {
		if !h.exec(p, execOpt{uid: 1000}) {
			t.Fatalf("fast exec %d denied: a watchdog answered it", i)
		}
		if i == 19 {
			if h.exec(p, execOpt{uid: 1000, slow: 200 * time.Millisecond}) {
				t.Fatal("the slow exec was allowed: its watchdog did not answer")
			}
		}
	}
	time.Sleep(100 * time.Millisecond) // past the budget of the last ones
	waitFor(t, "budget_timeouts = 1", func() bool { return h.e.Counter("budget_timeouts") == 1 })
	if n := h.e.Counter("budget_timeouts"); n != 1 {
		t.Errorf("budget_timeouts = %d, want 1", n)
	}
}

// An attempt on the daemon the source answered is recorded, refused or
// not, and counted.
func TestTamperAttemptsAreRecorded(t *testing.T) {
	h := newHarness(t, nil)
	h.src.Tampers <- enforcer.TamperAttempt{PID: 600, UID: 501, Program: "/bin/kill", What: "signal 9 (SIGKILL)", Refused: true}
	h.src.Tampers <- enforcer.TamperAttempt{PID: 1, UID: 0, Program: "/sbin/launchd", What: "signal 15 (SIGTERM)"}
	waitFor(t, "tamper_attempts = 2", func() bool { return h.e.Counter("tamper_attempts") == 2 })
	var refused, let bool
	waitFor(t, "both recorded", func() bool {
		for _, ev := range h.events(store.Filter{Kind: "tamper"}) {
			refused = refused || ev.PID == 600 && !ev.Allowed && ev.Action == "deny" && ev.Path == "/bin/kill" &&
				strings.Contains(ev.Detail, "signal 9 (SIGKILL) to gatehoused from process 600: refused")
			let = let || ev.PID == 1 && ev.Allowed && strings.Contains(ev.Detail, "let through")
		}
		return refused && let
	})
}

func TestInternalErrorFailsOpen(t *testing.T) {
	h := newHarness(t, nil)
	p := h.file("deny/x", "x")
	f, _ := os.Open(p)
	// A pid the fake /proc does not know: the task is gone.
	x := enforcertest.NewExec(f, 424242)
	h.src.Execs <- x
	if !<-x.Answer {
		t.Error("internal error answered deny with fail_closed off")
	}
	waitFor(t, "internal_errors = 1", func() bool { return h.e.Counter("internal_errors") == 1 })
}

func TestPolicyReload(t *testing.T) {
	h := newHarness(t, nil)
	bad := h.file("deny/bad", "bad")
	h.writePolicy(2)
	waitFor(t, "revision 2", func() bool { return h.e.PolicyRevision() == 2 })
	// A broken policy keeps revision 2 running and reports every error.
	if err := os.WriteFile(filepath.Join(h.dir, "policy.yaml"), []byte("id: x\nrevision: 3\nrules:\n  - {group: nope, action: deny}\n  - {group: alsonope, action: frobnicate}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "reload failure", func() bool { return h.e.PolicyError() != "" })
	msg := h.e.PolicyError()
	if !strings.Contains(msg, "nope") || !strings.Contains(msg, "frobnicate") {
		t.Errorf("policy error does not name both problems:\n%s", msg)
	}
	if rev := h.e.PolicyRevision(); rev != 2 {
		t.Errorf("revision %d after a broken reload, want 2 kept", rev)
	}
	if h.exec(bad, execOpt{uid: 1000}) {
		t.Error("old policy not enforced after a broken reload")
	}
	var st localapi.Status
	h.call(1000, "GET", "/status", nil, &st)
	if st.PolicyError == "" || st.PolicyRevision != 2 {
		t.Errorf("status = revision %d, error %q", st.PolicyRevision, st.PolicyError)
	}
	if code := h.call(1000, "POST", "/policy/reload", struct{}{}, nil); code != http.StatusForbidden {
		t.Errorf("reload by a user: %d, want 403", code)
	}
}

func TestAPIRejectsBadInput(t *testing.T) {
	h := newHarness(t, nil)
	cases := []struct {
		method, path, body string
		want               int
	}{
		{"POST", "/requests/1/answer", `{"reason": 5}`, 400},
		{"POST", "/requests/1/answer", `{"bogus": true}`, 400},
		{"POST", "/requests/1/answer", `{} {}`, 400},
		{"POST", "/requests/1/answer", ``, 400},
		{"POST", "/requests/abc/answer", `{}`, 400},
		{"POST", "/requests/-1/answer", `{}`, 400},
		{"POST", "/requests/99/answer", `{}`, 404},
		{"POST", "/requests/1/answer", `{"reason":"` + strings.Repeat("x", localapi.MaxRequestBody) + `"}`, 413},
		{"GET", "/events?limit=zero", ``, 400},
		{"GET", "/events?uid=0", ``, 403},
		{"GET", "/requests?state=nonsense", ``, 400},
		{"POST", "/check", `{"path":"relative/x"}`, 403},
		{"POST", "/check", `{"path":"/etc/shadow"}`, 403},
		{"POST", "/check", `{"files":1}`, 400},
		{"POST", "/check", `{"files":-1}`, 400},
		{"POST", "/check", `{"files":1000}`, 400},
		{"GET", "/nope", ``, 404},
	}
	for _, c := range cases {
		req := httptest.NewRequest(c.method, "/v1"+c.path, strings.NewReader(c.body))
		req = req.WithContext(h.as(1000))
		w := httptest.NewRecorder()
		h.api.ServeHTTP(w, req)
		var e localapi.Error
		if w.Code != c.want || json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error == "" {
			t.Errorf("%s %s %.40q: %d %s, want %d with an error message", c.method, c.path, c.body, w.Code, w.Body.String(), c.want)
		}
	}
	// Without peer credentials nothing is served.
	w := httptest.NewRecorder()
	h.api.ServeHTTP(w, httptest.NewRequest("GET", "/v1/status", nil))
	if w.Code != http.StatusForbidden {
		t.Errorf("request without a caller: %d, want 403", w.Code)
	}
}

func FuzzAPI(f *testing.F) {
	f.Add("POST", "/v1/requests/1/answer", []byte(`{"reason":"x"}`), uint32(1000))
	f.Add("GET", "/v1/events?after=1&since=2026-01-01T00:00:00Z&kind=exec&limit=5", []byte(nil), uint32(0))
	f.Add("POST", "/v1/check", []byte(`{"path":"/bin/true","args":["a"],"parents":["/bin/sh"]}`), uint32(0))
	f.Add("POST", "/v1/requests/1/approve", []byte(`{"note":"n"}`), uint32(0))
	f.Add("GET", "/v1/requests?state=pending&state=x", []byte(nil), uint32(5))
	f.Add("POST", "/v1/check", []byte(`{"path":"/bin/true","parents":["",".."]}`), uint32(1))
	h := newHarness(f, nil)
	handler := h.api
	f.Fuzz(func(t *testing.T, method, target string, body []byte, uid uint32) {
		if !strings.HasPrefix(target, "/") || strings.ContainsAny(target, " \r\n\t") {
			return
		}
		req, err := http.NewRequest(method, "http://gatehoused"+target, bytes.NewReader(body))
		if err != nil {
			return
		}
		req = req.WithContext(h.as(uid % 3 * 1000))
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, req)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: %d %s", method, target, body, w.Code, w.Body.String())
		}
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestLargeFileDoesNotHoldUpOthers: a file seen for the first time is hashed
// off the event loop, so an exec of a cached file is answered meanwhile.
func TestLargeFileDoesNotHoldUpOthers(t *testing.T) {
	h := newHarness(t, func(c *enforcer.Config) { c.HashWorkers = 1; c.DecisionBudget = enforcer.Duration(time.Minute) })
	small := h.file("bin/small", "#!/bin/sh\n")
	h.exec(small, execOpt{uid: 1000}) // cached from now on
	big := filepath.Join(h.dir, "bin", "big")
	bf, err := os.Create(big)
	if err != nil {
		t.Fatal(err)
	}
	// 1 GiB of holes: hashing reads 1 GiB of zeros, a second or more.
	if err := bf.Truncate(1 << 30); err != nil {
		t.Skipf("cannot make a sparse file here: %v", err)
	}
	bf.Close()
	f, _ := os.Open(big)
	pid := h.nextID.Add(1)
	h.tasks.Set(pid, enforcertest.Task{Task: enforcer.Task{UID: 1000}})
	bx := enforcertest.NewExec(f, pid)
	h.src.Execs <- bx
	if !h.exec(small, execOpt{uid: 1000}) {
		t.Fatal("cached program denied")
	}
	select {
	case <-bx.Answer:
		t.Fatal("the 1 GiB file was answered before the cached one; the test proves nothing on this machine")
	default:
	}
	select {
	case allow := <-bx.Answer:
		if !allow {
			t.Error("the large file was denied")
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("the large file was not answered within 2 minutes")
	}
}

// TestBlockedArgvRead: a task whose argv cannot be read (it points at
// memory whose reads never return) is decided without arguments, after
// argsWait, and nothing else waits: the deny rule on its arguments
// matches, as it does for the exec that finds every reader taken.
func TestBlockedArgvRead(t *testing.T) {
	h := newHarness(t, nil)
	tool := h.file("args/tool", "#!/bin/sh\necho tool\n")
	block := make(chan struct{})
	defer close(block)
	// Fill every argv reader, at once, and then one more.
	var wg sync.WaitGroup
	var allowed atomic.Int64
	for range enforcer.ArgsReaders {
		wg.Go(func() {
			if h.exec(tool, execOpt{uid: 1000, args: []string{"tool", "--fine"}, argsBlock: block}) {
				allowed.Add(1)
			}
		})
	}
	wg.Wait()
	if h.exec(tool, execOpt{uid: 1000, args: []string{"tool", "--fine"}}) {
		allowed.Add(1)
	}
	if n := allowed.Load(); n != 0 {
		t.Errorf("%d execs allowed without the arguments the deny rule needs", n)
	}
	if n := h.e.Counter("args_unavailable"); n != enforcer.ArgsReaders+1 {
		t.Errorf("args_unavailable = %d, want %d", n, enforcer.ArgsReaders+1)
	}
	h.waitCounter("decided_without_args", enforcer.ArgsReaders+1)
	// Programs without argument rules are unaffected.
	if !h.exec(h.file("bin/ok", "#!/bin/sh\n"), execOpt{uid: 1000}) {
		t.Error("unrelated program denied")
	}
}

// TestBlockedParentExecutable: a parent whose executable cannot be opened
// in time (a stuck FUSE mount) is matched on its path, and the decision is
// not held up.
func TestBlockedParentExecutable(t *testing.T) {
	h := newHarness(t, nil)
	block := make(chan struct{})
	defer close(block)
	h.tasks.ExeBlock = block
	sh := h.file("parent/sh", "#!/bin/sh\necho shell\n")
	child := h.file("child/tool", "#!/bin/sh\necho child\n")
	if h.exec(child, execOpt{uid: 1000, ancestors: []enforcer.Ancestor{{PID: 8, Exe: sh}}}) {
		t.Error("child of the shell allowed: the parent's path alone should have matched")
	}
	if n := h.e.Counter("parents_paths_only"); n != 1 {
		t.Errorf("parents_paths_only = %d, want 1", n)
	}
}

func TestNoticesForTheAgent(t *testing.T) {
	h := newHarness(t, nil)
	for _, c := range []struct {
		rel  string
		kind request.Kind
	}{{"denmsg/tool", request.DenyMessage}, {"notify/tool", request.DenyNotify}} {
		p := h.file(c.rel, "#!/bin/sh\n")
		if h.exec(p, execOpt{uid: 1000}) {
			t.Fatalf("%s allowed", c.rel)
		}
		r := h.waitRequest(1000, p)
		if r.Kind != c.kind || r.State != request.Pending || r.AppType != "script" || r.SHA256 == "" {
			t.Fatalf("%s: request = %+v", c.rel, r)
		}
		if c.kind == request.DenyMessage && (r.Title != "tool is not allowed" || r.Body != "Ask IT.") {
			t.Errorf("denied message = %q / %q", r.Title, r.Body)
		}
		// A notice takes no answer but Cancel.
		id := fmt.Sprint(r.ID)
		if code := h.call(1000, "POST", "/requests/"+id+"/answer", localapi.Answer{Reason: "let me"}, nil); code != http.StatusBadRequest {
			t.Errorf("%s: answering a notice: status %d, want 400", c.rel, code)
		}
		var res localapi.AnswerResult
		if code := h.call(1000, "POST", "/requests/"+id+"/answer", localapi.Answer{Cancel: true}, &res); code != 200 || res.Request.State != request.Cancelled {
			t.Fatalf("%s: cancel: status %d, %+v", c.rel, code, res.Request)
		}
		if res.Grant != nil || h.exec(p, execOpt{uid: 1000}) {
			t.Errorf("%s: closing a notice let the program run", c.rel)
		}
	}
}

func TestChangesWakeWaitingAgents(t *testing.T) {
	h := newHarness(t, nil)
	var first localapi.Changes
	if code := h.call(1000, "GET", "/changes?wait=0s", nil, &first); code != 200 || first.Boot == "" {
		t.Fatalf("changes: status %d, %+v", code, first)
	}
	got := make(chan localapi.Changes, 1)
	go func() {
		var c localapi.Changes
		h.call(1000, "GET", fmt.Sprintf("/changes?after=%d&wait=20s", first.Seq), nil, &c)
		got <- c
	}()
	time.Sleep(50 * time.Millisecond) // let the waiter block first
	p := h.file("warn/tool", "#!/bin/sh\n")
	h.exec(p, execOpt{uid: 1000})
	select {
	case c := <-got:
		if c.Seq == first.Seq || c.Boot != first.Boot {
			t.Errorf("after a new request: %+v, before %+v", c, first)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a waiting agent was not woken by a new request within 10s")
	}
	r := h.waitRequest(1000, p)

	// Seen: only the request's own user may mark it.
	id := fmt.Sprint(r.ID)
	if code := h.call(1001, "POST", "/requests/"+id+"/seen", struct{}{}, nil); code != http.StatusNotFound {
		t.Errorf("another user marking seen: status %d, want 404", code)
	}
	if code := h.call(0, "POST", "/requests/"+id+"/seen", struct{}{}, nil); code != http.StatusForbidden {
		t.Errorf("root marking a user's request seen: status %d, want 403", code)
	}
	var seen localapi.Request
	if code := h.call(1000, "POST", "/requests/"+id+"/seen", struct{}{}, &seen); code != 200 || !seen.Notified {
		t.Errorf("seen: status %d, %+v", code, seen)
	}
	if again := h.waitRequest(1000, p); !again.Notified {
		t.Error("the request does not read back as notified")
	}

	for _, q := range []string{"after=x", "after=-1", "wait=forever", "wait=-1s", "wait=2m"} {
		if code := h.call(1000, "GET", "/changes?"+q, nil, nil); code != http.StatusBadRequest {
			t.Errorf("changes?%s: status %d, want 400", q, code)
		}
	}
}

func TestOfflineResponseCode(t *testing.T) {
	h := newHarness(t, func(c *enforcer.Config) { c.OfflineAttempts = 3 })
	sec, err := offline.LoadSecret(filepath.Join(h.dir, "db", "offline.key"))
	if err != nil {
		t.Fatalf("the daemon made no offline secret next to its database: %v", err)
	}
	p := h.file("offline/tool", "#!/bin/sh\n")
	if h.exec(p, execOpt{uid: 1000}) {
		t.Fatal("approval_offline program allowed")
	}
	r := h.waitRequest(1000, p)
	if r.Kind != request.ApprovalOffline || len(r.RequestCode) != 6 || r.Machine == "" {
		t.Fatalf("request = %+v", r)
	}
	code, err := offline.Respond(sec, offline.Challenge{Machine: r.Machine, Revision: r.PolicyRevision,
		RequestCode: r.RequestCode, Day: offline.DayOf(time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/requests/%d/offline", r.ID)
	// Typing slips are not counted; another user cannot answer.
	if c := h.call(1000, "POST", path, localapi.OfflineResponse{Code: "12"}, nil); c != http.StatusBadRequest {
		t.Errorf("malformed code: status %d", c)
	}
	if c := h.call(1001, "POST", path, localapi.OfflineResponse{Code: code}, nil); c != http.StatusNotFound {
		t.Errorf("another user: status %d, want 404", c)
	}
	wrong := []byte(code) // one character off
	if wrong[0] == '0' {
		wrong[0] = '2'
	} else {
		wrong[0] = '0'
	}
	if c := h.call(1000, "POST", path, localapi.OfflineResponse{Code: string(wrong)}, nil); c != http.StatusBadRequest {
		t.Errorf("wrong code: status %d", c)
	}
	var res localapi.AnswerResult
	if c := h.call(1000, "POST", path, localapi.OfflineResponse{Code: strings.ToLower(offline.Format(code))}, &res); c != 200 {
		t.Fatalf("right code: status %d", c)
	}
	if res.Request.State != request.Approved || res.Grant == nil || res.Grant.Origin != "offline" {
		t.Fatalf("right code: %+v", res)
	}
	if !h.exec(p, execOpt{uid: 1000}) {
		t.Fatal("program still denied after a right response code")
	}
	if c := h.call(1000, "POST", path, localapi.OfflineResponse{Code: code}, nil); c != http.StatusBadRequest {
		t.Errorf("the code used twice: status %d", c)
	}

	// Too many wrong codes close the request; the next run makes a new code.
	q := h.file("offline/other", "#!/bin/sh\n")
	h.exec(q, execOpt{uid: 1000})
	r2 := h.waitRequest(1000, q)
	for range 3 {
		h.call(1000, "POST", fmt.Sprintf("/requests/%d/offline", r2.ID), localapi.OfflineResponse{Code: "0000-0000-0000"}, nil)
	}
	var got localapi.Request
	h.call(1000, "GET", fmt.Sprintf("/requests/%d", r2.ID), nil, &got)
	if got.State != request.Denied {
		t.Fatalf("after 3 wrong codes the request is %s, want denied", got.State)
	}
	h.exec(q, execOpt{uid: 1000})
	waitFor(t, "a new request", func() bool {
		var rs []localapi.Request
		h.call(1000, "GET", "/requests?state=pending", nil, &rs)
		return len(rs) == 1 && rs[0].Path == q && rs[0].ID != r2.ID && rs[0].RequestCode != ""
	})
}

// TestSHA1OnlyWhenThePolicyNeedsIt: without a SHA-1 criterion the daemon
// does not compute SHA-1; a policy that adds one denies by it at once.
func TestSHA1OnlyWhenThePolicyNeedsIt(t *testing.T) {
	h := newHarness(t, nil)
	p := h.file("tools/hashed", "#!/bin/sh\necho hashed\n")
	if !h.exec(p, execOpt{uid: 1000}) {
		t.Fatal("allowed program denied")
	}
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := h.e.CachedFacts(st.Sys().(*syscall.Stat_t)); !ok || got.SHA1 != "" || got.SHA256 == "" {
		t.Fatalf("cached facts = %+v, %v; want SHA-256 only", got, ok)
	}
	sum := sha1.Sum([]byte("#!/bin/sh\necho hashed\n"))
	pol := fmt.Sprintf("id: engine-test\nrevision: 2\ndefault: allow\ngroups:\n  - name: by-sha1\n    definitions: [{sha1: %x}]\nrules:\n  - {group: by-sha1, action: deny}\n", sum)
	if err := os.WriteFile(filepath.Join(h.dir, "policy.yaml"), []byte(pol), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "revision 2", func() bool { return h.e.PolicyRevision() == 2 })
	if h.exec(p, execOpt{uid: 1000}) {
		t.Error("a program denied by its SHA-1 ran")
	}
}

// TestCheckWithRelativeParents: an empty or relative parent path is a
// clear 400 at once (it used to loop forever looking for "/" above it, a
// full core per request).
func TestCheckWithRelativeParents(t *testing.T) {
	h := newHarness(t, nil)
	prog := h.file("bin/ok", "#!/bin/sh\n")
	// Readable by uid 1000, so its check gets as far as the parents.
	for _, d := range []string{filepath.Dir(h.dir), h.dir, filepath.Dir(prog)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, parents := range [][]string{{""}, {"sh"}, {"./bin/sh"}, {"/bin/sh", "../x"}} {
		body := localapi.Check{Path: prog, Parents: parents}
		// Only root may check by path; anyone else is refused first.
		for uid, want := range map[uint32]int{1000: http.StatusForbidden, 0: http.StatusBadRequest} {
			done := make(chan int, 1)
			go func() { done <- h.call(uid, "POST", "/check", body, nil) }()
			select {
			case code := <-done:
				if code != want {
					t.Errorf("check with parents %q as uid %d: status %d, want %d", parents, uid, code, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("check with parents %q as uid %d: no answer within 5s", parents, uid)
			}
		}
	}
}

// TestParallelOfflineGuessesAllCount: wrong response codes entered at the
// same moment are each counted before they are compared, so a request with
// a limit of 3 compares at most 3 of 40 parallel guesses (it compared about
// 9 of them when only the wrong ones were counted, after comparing).
func TestParallelOfflineGuessesAllCount(t *testing.T) {
	h := newHarness(t, func(c *enforcer.Config) { c.OfflineAttempts = 3 })
	sec, err := offline.LoadSecret(filepath.Join(h.dir, "db", "offline.key"))
	if err != nil {
		t.Fatal(err)
	}
	p := h.file("offline/tool", "#!/bin/sh\n")
	h.exec(p, execOpt{uid: 1000})
	r := h.waitRequest(1000, p)
	right, err := offline.Respond(sec, offline.Challenge{Machine: r.Machine, Revision: r.PolicyRevision,
		RequestCode: r.RequestCode, Day: offline.DayOf(time.Now())})
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/requests/%d/offline", r.ID)
	var (
		mu       sync.Mutex
		compared int
		wg       sync.WaitGroup
	)
	start := make(chan struct{})
	for i := range 40 {
		wg.Go(func() {
			<-start
			guess := fmt.Sprintf("%012d", i) // never the right one: it has letters or another value
			if guess == right {
				return
			}
			req := httptest.NewRequest("POST", "/v1"+path, strings.NewReader(fmt.Sprintf(`{"code":%q}`, guess)))
			req = req.WithContext(h.as(1000))
			w := httptest.NewRecorder()
			h.api.ServeHTTP(w, req)
			body := w.Body.String()
			mu.Lock()
			defer mu.Unlock()
			if strings.Contains(body, "not right") || strings.Contains(body, "at the same time") {
				compared++
			}
		})
	}
	close(start)
	wg.Wait()
	if compared != 3 {
		t.Errorf("%d of 40 parallel guesses were compared, want exactly the limit, 3", compared)
	}
	var got localapi.Request
	h.call(1000, "GET", fmt.Sprintf("/requests/%d", r.ID), nil, &got)
	if got.State != request.Denied {
		t.Errorf("after the limit the request is %s, want denied", got.State)
	}
	if c := h.call(1000, "POST", path, localapi.OfflineResponse{Code: right}, nil); c == http.StatusOK {
		t.Error("the right code was accepted after the limit")
	}
	if h.exec(p, execOpt{uid: 1000}) {
		t.Error("the program runs after the limit")
	}
}

// writeStricter loads revision rev of the test policy with deny rules for
// the justification, approval and offline programs put first.
func (h *harness) writeStricter(rev int) {
	h.t.Helper()
	p := strings.ReplaceAll(fmt.Sprintf(testPolicy, rev), "DIR", h.dir)
	p = strings.Replace(p, "rules:\n", "rules:\n  - {group: justify, action: deny}\n  - {group: approve, action: deny}\n  - {group: offline, action: deny}\n", 1)
	tmp := filepath.Join(h.dir, "policy.yaml.tmp")
	if err := os.WriteFile(tmp, []byte(p), 0o644); err != nil {
		h.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(h.dir, "policy.yaml")); err != nil {
		h.t.Fatal(err)
	}
	waitFor(h.t.(*testing.T), fmt.Sprintf("revision %d", rev), func() bool { return h.e.PolicyRevision() == int64(rev) })
}

// TestAnswersAreDecidedAgainUnderANewPolicy: a request made under revision
// 1 and answered after revision 2 denies its program makes no grant — not
// by a reason, an approver or a response code made for revision 1 — and is
// closed; a revision that changes nothing for the program lets it through.
func TestAnswersAreDecidedAgainUnderANewPolicy(t *testing.T) {
	h := newHarness(t, nil)
	sec, err := offline.LoadSecret(filepath.Join(h.dir, "db", "offline.key"))
	if err != nil {
		t.Fatal(err)
	}
	just := h.file("just/tool", "#!/bin/sh\necho just\n")
	appr := h.file("appr/tool", "#!/bin/sh\necho appr\n")
	off := h.file("offline/tool", "#!/bin/sh\necho off\n")
	warn := h.file("warn/tool", "#!/bin/sh\necho warn\n")
	for _, p := range []string{just, appr, off, warn} {
		if h.exec(p, execOpt{uid: 1000}) {
			t.Fatalf("%s allowed under revision 1", p)
		}
	}
	jr, ar, or, wr := h.waitRequest(1000, just), h.waitRequest(1000, appr), h.waitRequest(1000, off), h.waitRequest(1000, warn)
	if c := h.call(1000, "POST", fmt.Sprintf("/requests/%d/answer", ar.ID), localapi.Answer{Reason: "to install it"}, nil); c != 200 {
		t.Fatalf("submit: %d", c)
	}
	code, err := offline.Respond(sec, offline.Challenge{Machine: or.Machine, Revision: or.PolicyRevision,
		RequestCode: or.RequestCode, Day: offline.DayOf(time.Now())})
	if err != nil {
		t.Fatal(err)
	}

	h.writeStricter(2)
	answers := []struct {
		what string
		uid  uint32
		path string
		body any
		id   int64
		prog string
	}{
		{"a justification", 1000, fmt.Sprintf("/requests/%d/answer", jr.ID), localapi.Answer{Reason: "quarterly report"}, jr.ID, just},
		{"root's approval", 0, fmt.Sprintf("/requests/%d/approve", ar.ID), localapi.Decide{}, ar.ID, appr},
		{"a response code for revision 1", 1000, fmt.Sprintf("/requests/%d/offline", or.ID), localapi.OfflineResponse{Code: code}, or.ID, off},
	}
	for _, a := range answers {
		var res localapi.AnswerResult
		if c := h.call(a.uid, "POST", a.path, a.body, &res); c != http.StatusBadRequest {
			t.Errorf("%s after revision 2 denies the program: status %d, want 400", a.what, c)
		}
		var got localapi.Request
		h.call(0, "GET", fmt.Sprintf("/requests/%d", a.id), nil, &got)
		if got.State != request.Denied || !strings.Contains(got.DecidedBy, "revision 2") {
			t.Errorf("%s: the request is %s (%q), want denied naming revision 2", a.what, got.State, got.DecidedBy)
		}
		if h.exec(a.prog, execOpt{uid: 1000}) {
			t.Errorf("%s: the program runs under a policy that denies it", a.what)
		}
	}
	// The warning's program is still a warning under revision 2: Continue works.
	var res localapi.AnswerResult
	if c := h.call(1000, "POST", fmt.Sprintf("/requests/%d/answer", wr.ID), localapi.Answer{}, &res); c != 200 || res.Grant == nil {
		t.Errorf("Continue on a warning revision 2 still warns about: %d %+v", c, res)
	}
}

// TestEveryEventNamesAPolicy: decisions, timeouts, internal errors,
// requests, their answers and grants, and the daemon's own events each name
// the policy (id and revision) that decided them or was in force.
func TestEveryEventNamesAPolicy(t *testing.T) {
	h := newHarness(t, func(c *enforcer.Config) { c.DecisionBudget = enforcer.Duration(50 * time.Millisecond) })
	h.exec(h.file("deny/x", "x"), execOpt{uid: 1000})
	slow := h.file("bin/slow", "slow")
	h.exec(slow, execOpt{uid: 1000})
	h.exec(slow, execOpt{uid: 1000, slow: time.Second}) // a timeout
	f, _ := os.Open(slow)
	x := enforcertest.NewExec(f, 424242) // an internal error: no such task
	h.src.Execs <- x
	<-x.Answer
	warn := h.file("warn/tool", "#!/bin/sh\n")
	h.exec(warn, execOpt{uid: 1000})
	r := h.waitRequest(1000, warn)
	if c := h.call(1000, "POST", fmt.Sprintf("/requests/%d/answer", r.ID), localapi.Answer{}, nil); c != 200 {
		t.Fatalf("Continue: %d", c)
	}
	h.exec(warn, execOpt{uid: 1000}) // allowed by the grant
	waitFor(t, "timeout and internal error counted", func() bool {
		return h.e.Counter("budget_timeouts") == 1 && h.e.Counter("internal_errors") == 1
	})
	kinds := map[string]int{}
	for _, ev := range h.events(store.Filter{}) {
		kinds[ev.Kind]++
		if ev.PolicyID != "engine-test" || ev.PolicyRevision != 1 {
			t.Errorf("event %d (%s: %s) names policy %q revision %d", ev.ID, ev.Kind, ev.Detail, ev.PolicyID, ev.PolicyRevision)
		}
	}
	for _, k := range []string{"exec", "daemon", "request", "grant"} {
		if kinds[k] == 0 {
			t.Errorf("no %s event among %v: the test proves less than it says", k, kinds)
		}
	}
}
