package apiserver_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/apiserver"
	"github.com/gatehouse/gatehouse/enforcer/enforcertest"
	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/facts"
	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/request"
)

// The local API end to end in one process: localapi.Client ↔ a real Unix
// socket (the kernel's peer credentials) ↔ Server ↔ a real engine with a
// fake event source.

const testPolicy = `id: api-test
revision: 1
default: allow
groups:
  - {name: denied, definitions: [{path: {starts_with: DIR/deny/}}]}
  - {name: warn, definitions: [{path: {starts_with: DIR/warn/}}]}
  - {name: approve, definitions: [{path: {starts_with: DIR/appr/}}]}
rules:
  - {group: denied, action: deny}
  - {group: warn, action: warning, message: {title: "{name} needs a second look"}}
  - {group: approve, action: approval}
`

type env struct {
	t      testing.TB
	dir    string
	sock   string
	eng    *enforcer.Engine
	src    *enforcertest.Source
	tasks  *enforcertest.Tasks
	client *localapi.Client
	pid    int32
}

func newEnv(t testing.TB, mod func(*enforcer.Config)) *env {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "policy.yaml"), []byte(strings.ReplaceAll(testPolicy, "DIR", dir)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := enforcer.DefaultConfig()
	cfg.Policy = filepath.Join(dir, "policy.yaml")
	cfg.Database = filepath.Join(dir, "db", "gatehouse.db")
	cfg.SudoersDir = filepath.Join(dir, "sudoers.d") // never the machine's
	os.MkdirAll(cfg.SudoersDir, 0o755)
	cfg.Socket = filepath.Join(dir, "api.sock")
	if mod != nil {
		mod(&cfg)
	}
	st, err := store.Open(cfg.Database)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, sock: cfg.Socket, src: enforcertest.NewSource(), tasks: &enforcertest.Tasks{}, pid: 5000}
	e.eng, err = enforcer.New(cfg, enforcer.Options{Store: st, Tasks: e.tasks})
	if err != nil {
		t.Fatal(err)
	}
	l, err := apiserver.Listen(cfg.Socket)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	runDone, apiDone := make(chan error, 1), make(chan error, 1)
	go func() { runDone <- e.eng.Run(ctx, e.src) }()
	go func() { apiDone <- apiserver.New(e.eng, nil).Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		for _, ch := range []chan error{runDone, apiDone} {
			select {
			case err := <-ch:
				if err != nil && !errors.Is(err, context.Canceled) {
					t.Errorf("stop: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("engine or API server did not stop within 10s")
			}
		}
		st.Close()
		if _, err := os.Stat(cfg.Socket); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the socket is left behind after Serve returned: %v", err)
		}
	})
	e.client = localapi.NewClient(cfg.Socket)
	return e
}

func (e *env) file(rel, content string) string { return enforcertest.Program(e.t, e.dir, rel, content) }

// exec runs a fake exec of path by uid and returns the answer.
func (e *env) exec(path string, uid uint32) bool {
	e.t.Helper()
	f, err := os.Open(path)
	if err != nil {
		e.t.Fatal(err)
	}
	e.pid++
	e.tasks.Set(e.pid, enforcertest.Task{Task: enforcer.Task{UID: uid, GIDs: []uint32{uid}}, Args: []string{filepath.Base(path), "--flag"}})
	return e.src.Send(e.t, enforcertest.NewExec(f, e.pid))
}

func (e *env) waitRequest(path string) localapi.Request {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		rs, err := e.client.Requests(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		for _, r := range rs {
			if r.Path == path {
				return r
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.t.Fatalf("no request for %s", path)
	return localapi.Request{}
}

// TestClientServerRoundTrip calls every endpoint through the Go client and
// checks that what the engine did arrives, field by field, on the wire.
func TestClientServerRoundTrip(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	me := uint32(os.Geteuid())

	st, err := e.client.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantKind := "user"
	if me == 0 {
		wantKind = "root"
	}
	if st.Version != localapi.Version || st.PolicyID != "api-test" || st.PolicyRevision != 1 || st.Source != "fake" ||
		st.You.UID != me || st.You.PID != int32(os.Getpid()) || st.You.Kind != wantKind || st.You.Root != (me == 0) {
		t.Errorf("status = %+v", st)
	}

	// Check: the decision and the trace of the rules before it.
	bad := e.file("deny/tool", "#!/bin/sh\n")
	badFiles, err := facts.Open(bad)
	if err != nil {
		t.Fatal(err)
	}
	defer badFiles.Close()
	cr, err := e.client.Check(ctx, localapi.Check{Args: []string{"a"}}, badFiles.List)
	if err != nil {
		t.Fatal(err)
	}
	if cr.Action != "deny" || cr.Allowed || cr.Rule != 1 || cr.Group != "denied" || cr.SHA256 == "" || cr.AppType != "script" || len(cr.Trace) != 1 || !strings.Contains(cr.Trace[0], "matched") {
		t.Errorf("check = %+v", cr)
	}
	if me == 0 {
		if _, err := e.client.Check(ctx, localapi.Check{Path: "relative"}, nil); !isStatus(err, 400) || !strings.Contains(err.Error(), "not absolute") {
			t.Errorf("check of a relative path: %v", err)
		}
	} else if _, err := e.client.Check(ctx, localapi.Check{Path: bad}, nil); !isStatus(err, 403) || !strings.Contains(err.Error(), "only root") {
		t.Errorf("check by path as uid %d: %v, want 403", me, err)
	}

	// A warning: the change feed wakes, the request arrives with its facts.
	first, err := e.client.Changes(ctx, 0, 0)
	if err != nil || first.Boot == "" {
		t.Fatalf("changes: %+v %v", first, err)
	}
	woke := make(chan localapi.Changes, 1)
	go func() {
		c, _ := e.client.Changes(ctx, first.Seq, 20*time.Second)
		woke <- c
	}()
	time.Sleep(50 * time.Millisecond)
	warn := e.file("warn/tool", "#!/bin/sh\necho warn\n")
	if e.exec(warn, me) {
		t.Fatal("warning program allowed before Continue")
	}
	select {
	case c := <-woke:
		if c.Seq == first.Seq || c.Boot != first.Boot {
			t.Errorf("changes after a request: %+v (before %+v)", c, first)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the change feed did not wake")
	}
	r := e.waitRequest(warn)
	if r.Kind != request.Warning || r.State != request.Pending || r.UID != me || r.Title != "tool needs a second look" ||
		r.SHA256 == "" || r.AppType != "script" || len(r.Args) != 1 || r.Args[0] != "--flag" || r.Cwd != "/" || r.PolicyRevision != 1 {
		t.Errorf("request = %+v", r)
	}
	one, err := e.client.Request(ctx, r.ID)
	if err != nil || one.ID != r.ID || one.Path != warn {
		t.Errorf("request %d = %+v, %v", r.ID, one, err)
	}
	if _, err := e.client.Request(ctx, 9999); !isStatus(err, 404) {
		t.Errorf("unknown request: %v, want a 404", err)
	}
	seen, err := e.client.Seen(ctx, r.ID)
	if err != nil || !seen.Notified {
		t.Errorf("seen = %+v, %v", seen, err)
	}
	if _, err := e.client.OfflineRespond(ctx, r.ID, "1234-5678-9ABC"); !isStatus(err, 400) || !strings.Contains(err.Error(), "no offline request code") {
		t.Errorf("offline code for a warning: %v", err)
	}
	res, err := e.client.Answer(ctx, r.ID, localapi.Answer{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Request.State != request.Answered || res.Grant == nil || res.Grant.Origin != request.FromWarning ||
		res.Grant.UID != me || res.Grant.Path != warn || res.Grant.SHA256 != r.SHA256 || res.Grant.UsesLeft != 1 || res.Grant.RequestID != r.ID {
		t.Errorf("answer = %+v grant %+v", res.Request, res.Grant)
	}
	gs, err := e.client.Grants(ctx)
	if err != nil || len(gs) != 1 || gs[0].ID != res.Grant.ID {
		t.Errorf("grants = %+v, %v", gs, err)
	}
	if _, err := e.client.Answer(ctx, r.ID, localapi.Answer{}); !isStatus(err, 400) || !strings.Contains(err.Error(), "already closed") {
		t.Errorf("answering twice: %v", err)
	}
	if !e.exec(warn, me) {
		t.Error("the grant did not let the program run")
	}
	if err := e.eng.FlushAudit(ctx); err != nil {
		t.Fatal(err)
	}
	evs, err := e.client.Events(ctx, localapi.EventFilter{Kind: "exec", PathContains: "warn/"})
	if err != nil {
		t.Fatal(err)
	}
	var byGrant bool
	for _, ev := range evs {
		byGrant = byGrant || ev.Allowed && ev.GrantID == res.Grant.ID && ev.RequestID == r.ID && ev.UID == me
	}
	if len(evs) != 2 || !byGrant {
		t.Errorf("events = %+v", evs)
	}
	if _, err := e.client.Events(ctx, localapi.EventFilter{Limit: 20000}); !isStatus(err, 400) {
		t.Errorf("events with limit 20000: %v, want a 400", err)
	}

	// Approval: only root decides.
	appr := e.file("appr/installer", "installer")
	e.exec(appr, me)
	ar := e.waitRequest(appr)
	if _, err := e.client.Answer(ctx, ar.ID, localapi.Answer{Reason: "to install it"}); err != nil {
		t.Fatal(err)
	}
	dec, err := e.client.Approve(ctx, ar.ID, "fine")
	if me != 0 {
		if !localapi.IsAccessDenied(err) {
			t.Errorf("a user approving: %v, want access denied", err)
		}
		return
	}
	if err != nil || dec.Request.State != request.Approved || dec.Grant == nil || dec.Grant.Origin != request.FromApproval ||
		!strings.HasSuffix(dec.Request.DecidedBy, ": fine") {
		t.Fatalf("approve = %+v, %v", dec, err)
	}
	if _, err := e.client.Deny(ctx, ar.ID, ""); !isStatus(err, 400) {
		t.Errorf("deny after approve: %v, want a 400", err)
	}
	// Another user's request: root reads it, but marking it seen is the
	// user's alone (403, a typed error).
	other := e.file("warn/other", "#!/bin/sh\necho other\n")
	e.exec(other, 1000)
	or := e.waitRequest(other)
	if or.UID != 1000 {
		t.Fatalf("request of uid 1000 = %+v", or)
	}
	if _, err := e.client.Seen(ctx, or.ID); !localapi.IsAccessDenied(err) {
		t.Errorf("root marking uid 1000's request seen: %v, want access denied", err)
	}
	if st, err := e.client.Reload(ctx); err != nil || st.PolicyRevision != 1 {
		t.Errorf("reload = %+v, %v", st, err)
	}
}

func isStatus(err error, code int) bool {
	var ae *localapi.APIError
	return errors.As(err, &ae) && ae.Status == code && ae.Message != ""
}

func TestClientWhenTheDaemonIsNotRunning(t *testing.T) {
	c := localapi.NewClient(filepath.Join(t.TempDir(), "nothing.sock"))
	_, err := c.Status(context.Background())
	var nr *localapi.NotRunningError
	if !errors.As(err, &nr) || !strings.Contains(err.Error(), "start it") {
		t.Errorf("status without a daemon: %v", err)
	}
}

func TestListenRefusesASecondDaemon(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := apiserver.Listen(e.sock); err == nil || !strings.Contains(err.Error(), "already listening") {
		t.Errorf("a second Listen on a live socket: %v", err)
	}
}

func TestDefaultSocketIsTheClients(t *testing.T) {
	if enforcer.DefaultSocket != localapi.DefaultSocket || enforcer.DefaultConfig().Socket != localapi.DefaultSocket {
		t.Errorf("the daemon listens on %s by default, clients dial %s", enforcer.DefaultSocket, localapi.DefaultSocket)
	}
	if enforcer.MaxChangesWait != localapi.MaxChangesWait {
		t.Errorf("the daemon waits up to %v for changes, the wire says %v", enforcer.MaxChangesWait, localapi.MaxChangesWait)
	}
}

// The agents that call are remembered with the version they say; root and
// the console sync see them in the status (for the console's Computers
// page), other users do not. Every status names the daemon's build.
func TestStatusNamesTheAgentsAndTheDaemonsVersion(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	agent := localapi.NewClient(e.sock)
	agent.Program = localapi.AgentProgram + "/1.2.3 (linux)" // spaces and what is not printable are dropped
	if _, err := agent.Requests(ctx); err != nil {
		t.Fatal(err)
	}
	other := localapi.NewClient(e.sock)
	other.Program = "gatehouse/9.9" // the CLI is not an agent
	if _, err := other.Status(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := e.client.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.DaemonVersion == "" {
		t.Error("status names no daemon version")
	}
	me := uint32(os.Geteuid())
	if me != 0 {
		if len(st.Agents) != 0 {
			t.Errorf("a user's status lists agents: %+v", st.Agents)
		}
		return
	}
	if len(st.Agents) != 1 || st.Agents[0].UID != me || st.Agents[0].Version != "1.2.3(linux)" || st.Agents[0].User != "root" || st.Agents[0].LastSeen.IsZero() {
		t.Errorf("agents = %+v, want root's agent 1.2.3(linux)", st.Agents)
	}
}
