package consolesync

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/console/consoletest"
	"github.com/gatehouse/gatehouse/console/server"
	"github.com/gatehouse/gatehouse/console/signed"
	"github.com/gatehouse/gatehouse/console/store"
	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/request"
)

// fakeLocal is gatehoused's side: submitted requests, a change sequence,
// and ConsoleDecide checking the signature as gatehoused does, with the
// keys and machine id pinned at enrollment.
type fakeLocal struct {
	mu      sync.Mutex
	reqs    []localapi.Request
	seq     uint64
	machine string
	keys    []ed25519.PublicKey
	applied []string
	wake    chan struct{}
	events  []localapi.Event
	reached []int64 // what the sync last said is on the console
	reports int
}

// ConsoleKeys takes new keys signed by one it has, as gatehoused does.
func (f *fakeLocal) ConsoleKeys(_ context.Context, k localapi.ConsoleKeys) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !signed.Verify(f.keys, k.Signature, signed.KindSigningKeys, signed.SigningKeysFields(k.Keys)...) {
		return &localapi.APIError{Status: 400, Message: "keys not signed by a pinned key"}
	}
	f.keys = nil
	for _, b := range k.Keys {
		f.keys = append(f.keys, ed25519.PublicKey(b))
	}
	return nil
}

func (f *fakeLocal) ConsoleReached(_ context.Context, uploaded []int64) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reached, f.reports = uploaded, f.reports+1
	return nil
}

func (f *fakeLocal) Requests(context.Context, ...request.State) ([]localapi.Request, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs), nil
}

func (f *fakeLocal) Changes(ctx context.Context, after uint64, wait time.Duration) (localapi.Changes, error) {
	f.mu.Lock()
	seq, wake := f.seq, f.wake
	f.mu.Unlock()
	if seq != after || wait == 0 {
		return localapi.Changes{Seq: seq}, nil
	}
	select {
	case <-wake:
	case <-time.After(wait):
	case <-ctx.Done():
		return localapi.Changes{}, ctx.Err()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return localapi.Changes{Seq: f.seq}, nil
}

func (f *fakeLocal) add(r localapi.Request) {
	f.mu.Lock()
	f.reqs = append(f.reqs, r)
	f.seq++
	close(f.wake)
	f.wake = make(chan struct{})
	f.mu.Unlock()
}

func (f *fakeLocal) ConsoleDecide(_ context.Context, id int64, d localapi.ConsoleDecision) (localapi.AnswerResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !signed.Verify(f.keys, d.Signature, signed.KindDecision, signed.DecisionFields(f.machine, id, d.Approve, d.WindowStart, d.WindowEnd, d.PolicyRevision)...) {
		return localapi.AnswerResult{}, &localapi.APIError{Status: 400, Message: "signature"}
	}
	f.applied = append(f.applied, fmt.Sprintf("%d approve=%v by=%s", id, d.Approve, d.DecidedBy))
	return localapi.AnswerResult{}, nil
}

func (f *fakeLocal) Events(_ context.Context, flt localapi.EventFilter) ([]localapi.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []localapi.Event
	for _, e := range f.events {
		if e.ID > flt.AfterID && len(out) < flt.Limit {
			out = append(out, e)
		}
	}
	return out, nil
}

func (f *fakeLocal) Status(context.Context) (localapi.Status, error) {
	return localapi.Status{PolicyRevision: 1, DaemonVersion: "9.9.9",
		Agents: []localapi.AgentSeen{{UID: 501, User: "alice", Version: "9.9.8", LastSeen: time.Now()}}}, nil
}
func (f *fakeLocal) ApplyConsolePolicy(context.Context, localapi.ConsolePolicy) (localapi.Status, error) {
	return localapi.Status{}, nil
}

func (f *fakeLocal) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.applied)
}

func TestRequestsGoUpAndSignedDecisionsComeDown(t *testing.T) {
	c := consoletest.Start(t, t.TempDir(), server.Options{})
	st, ca := c.Store, c.CA
	cl, id := c.Enroll(t, "mac-01", nil)

	local := &fakeLocal{machine: id.MachineID, keys: id.SigningKeys, wake: make(chan struct{})}
	local.add(localapi.Request{ID: 41, Kind: request.Approval, State: request.Submitted, Path: "/opt/tool", User: "alice", UID: 501, Reason: "report", PolicyRevision: 3, Approvers: 1})
	local.add(localapi.Request{ID: 42, Kind: request.Justification, State: request.Answered, Path: "/opt/other", User: "alice"})
	statePath := filepath.Join(t.TempDir(), "sync", "state.json")
	run := func() (stop func()) {
		s, err := New(Options{Local: local, Console: cl, State: statePath, Wait: time.Second, Backoff: 20 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { s.Run(ctx); close(done) }()
		return func() { cancel(); <-done }
	}
	stop := run()
	waitFor(t, "the approval request on the console", func() bool { rs, _ := st.Requests(context.Background(), store.Pending); return len(rs) == 1 })
	rs, _ := st.Requests(context.Background(), "")
	if len(rs) != 1 || rs[0].EndpointID != 41 || rs[0].PolicyRevision != 3 || rs[0].Reason != "report" || rs[0].ApprovalsNeeded != 1 {
		t.Fatalf("console requests %+v: only the submitted approval goes up", rs)
	}
	// Decided on the console: handed to gatehoused, signed.
	if _, _, err := st.CastVote(context.Background(), rs[0].ID, store.Vote{Voter: "ann", Approve: true}, time.Now(), func(d *store.Decision) []byte {
		return ca.Sign(signed.KindDecision, signed.DecisionFields(d.MachineID, d.EndpointID, d.Approve, d.WindowStart, d.WindowEnd, d.PolicyRevision)...)
	}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the decision applied", func() bool { return len(local.got()) == 1 })
	// The console knows what the machine runs.
	waitFor(t, "the versions on the console", func() bool {
		m, _ := st.Machine(context.Background(), id.MachineID)
		return m.DaemonVersion == "9.9.9" && m.SyncVersion != "" && len(m.Agents) == 1 && m.Agents[0].User == "alice" && m.Agents[0].Version == "9.9.8"
	})
	// gatehoused heard that the console is reached, with request 41 on it
	// (approval_offline requests go to the console while it does).
	local.mu.Lock()
	if local.reports == 0 || !slices.Contains(local.reached, 41) {
		t.Errorf("the sync told gatehoused %d times that the console is reached, last with %v; want request 41 on it", local.reports, local.reached)
	}
	local.mu.Unlock()
	stop()

	// A restart neither uploads request 41 again nor applies the decision
	// again; a new request goes up.
	local.add(localapi.Request{ID: 43, Kind: request.ApprovalOffline, State: request.Submitted, Path: "/opt/third", User: "bob", UID: 502})
	stop = run()
	defer stop()
	waitFor(t, "request 43 on the console", func() bool { rs, _ := st.Requests(context.Background(), ""); return len(rs) == 2 })
	time.Sleep(300 * time.Millisecond)
	if got := local.got(); !slices.Equal(got, []string{"41 approve=true by=ann"}) {
		t.Errorf("applied %q, want the one decision once", got)
	}
	if rs, _ := st.Requests(context.Background(), ""); len(rs) != 2 {
		t.Errorf("console has %d requests after a restart, want 2", len(rs))
	}
}

func TestARefusedDecisionIsNotRetriedForever(t *testing.T) {
	local := &fakeLocal{machine: "m", wake: make(chan struct{})} // no keys: every signature fails
	c := &fakeConsole{ds: []server.DecisionWire{{Seq: 5, EndpointID: 1, Approve: true, Signature: []byte("bad")}}}
	s, _ := New(Options{Local: local, Console: c, State: filepath.Join(t.TempDir(), "s.json")})
	if err := s.decisionsOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s.state.DecisionSeq != 5 {
		t.Errorf("seq %d: a decision gatehoused refused for good must not be handed over again", s.state.DecisionSeq)
	}
	c.err = errors.New("console away")
	if err := s.decisionsOnce(context.Background()); err == nil {
		t.Error("a console that is away is not an error to back off on")
	}
}

type fakeConsole struct {
	ds  []server.DecisionWire
	err error
}

func (f *fakeConsole) UploadRequest(context.Context, server.RequestUpload) (int64, error) {
	return 1, f.err
}
func (f *fakeConsole) Decisions(context.Context, int64, time.Duration) ([]server.DecisionWire, *server.KeysWire, error) {
	return f.ds, nil, f.err
}
func (f *fakeConsole) UploadEvents(context.Context, []server.EventWire) (int, error) { return 0, f.err }
func (f *fakeConsole) ReportVersions(context.Context, server.VersionsReport) error   { return f.err }
func (f *fakeConsole) Policy(context.Context, int64, time.Duration) (*server.PolicyWire, *server.KeysWire, error) {
	return nil, nil, f.err
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Audit events go up in batches, each once, across restarts and a console
// that was away.
func TestAuditEventsComeHomeOnceEach(t *testing.T) {
	c := consoletest.Start(t, t.TempDir(), server.Options{})
	st := c.Store
	cl, id := c.Enroll(t, "mac-02", nil)
	local := &fakeLocal{machine: id.MachineID, keys: id.SigningKeys, wake: make(chan struct{})}
	for i := int64(1); i <= 1200; i++ {
		local.events = append(local.events, localapi.Event{ID: i, Time: time.Now(), Kind: "exec", Action: "deny", Path: fmt.Sprintf("/opt/%d", i), UID: 501})
	}
	statePath := filepath.Join(t.TempDir(), "state.json")
	s, _ := New(Options{Local: local, Console: cl, State: statePath, EventsEvery: 20 * time.Millisecond})
	for range 3 { // three batches: 500, 500, 200
		if err := s.eventsOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int {
		evs, _ := st.Events(context.Background(), store.EventFilter{Limit: 10000})
		return len(evs)
	}
	if n := count(); n != 1200 {
		t.Fatalf("%d events on the console, want 1200", n)
	}
	// A restart that lost its place (the state file gone) uploads again:
	// nothing is stored twice.
	s2, _ := New(Options{Local: local, Console: cl, State: filepath.Join(t.TempDir(), "fresh.json"), EventsEvery: 20 * time.Millisecond})
	for range 3 {
		s2.eventsOnce(context.Background())
	}
	if n := count(); n != 1200 {
		t.Errorf("%d events after a re-upload, want still 1200", n)
	}
	// The console away: the batch waits, and goes once it is back.
	local.events = append(local.events, localapi.Event{ID: 1201, Time: time.Now(), Kind: "exec", Path: "/opt/late"})
	down := &fakeConsole{err: errors.New("console away")}
	s3, _ := New(Options{Local: local, Console: down, State: statePath})
	if err := s3.eventsOnce(context.Background()); err == nil {
		t.Fatal("an upload to a console that is away succeeded")
	}
	s4, _ := New(Options{Local: local, Console: cl, State: statePath, EventsEvery: 20 * time.Millisecond})
	s4.eventsOnce(context.Background())
	if n := count(); n != 1201 {
		t.Errorf("%d events once the console is back, want 1201", n)
	}
}

// A signing-key rotation on the console: the next reply announces the new
// key, signed by the one the machine pinned; the sync hands it to
// gatehoused before the decision the new key signed, and keeps it with its
// identity. After the rotation is finished decisions still verify.
func TestARotatedSigningKeyReachesGatehousedBeforeWhatItSigns(t *testing.T) {
	c := consoletest.Start(t, t.TempDir(), server.Options{})
	cl, id := c.Enroll(t, "mac-03", nil)
	admin := c.APIToken(t, "root", "admin")
	local := &fakeLocal{machine: id.MachineID, keys: id.SigningKeys, wake: make(chan struct{})}
	var kept [][]byte
	s, _ := New(Options{Local: local, Console: cl, State: filepath.Join(t.TempDir(), "s.json"), Wait: time.Second,
		SaveKeys: func(k [][]byte) error { kept = k; return nil }})
	post := func(path string, body string) int {
		req, _ := http.NewRequest("POST", c.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := c.HTTP().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	ctx := context.Background()
	decideOne := func(endpointID int64) {
		t.Helper()
		rid, err := cl.UploadRequest(ctx, server.RequestUpload{EndpointID: endpointID, User: "a", Kind: "approval", Path: "/x"})
		if err != nil {
			t.Fatal(err)
		}
		if code := post(fmt.Sprintf("/v1/admin/requests/%d/decide", rid), `{"approve":true}`); code != 200 {
			t.Fatalf("decide: %d", code)
		}
		if err := s.decisionsOnce(ctx); err != nil {
			t.Fatalf("the sync after the rotation: %v", err)
		}
	}
	if code := post("/v1/admin/signing-key/finish", ""); code != http.StatusConflict {
		t.Errorf("finishing a rotation never started: %d, want 409", code)
	}
	if code := post("/v1/admin/signing-key/rotate", ""); code != 200 {
		t.Fatalf("rotate: %d", code)
	}
	if code := post("/v1/admin/signing-key/rotate", ""); code != http.StatusConflict {
		t.Errorf("rotating again during the overlap: %d, want 409", code)
	}
	decideOne(1)
	if got := local.got(); len(got) != 1 {
		t.Fatalf("decisions applied %q: the one signed by the new key", got)
	}
	if len(kept) != 2 || !c.CA.SigningPublic().Equal(ed25519.PublicKey(kept[0])) {
		t.Errorf("the sync kept %d keys, want the new one first and the pinned one", len(kept))
	}
	if code := post("/v1/admin/signing-key/finish", ""); code != 200 {
		t.Fatalf("finish: %d", code)
	}
	decideOne(2)
	if got := local.got(); len(got) != 2 {
		t.Errorf("after the rotation finished, decisions applied %q", got)
	}
	// The console's audit has both steps with who did them.
	var steps int
	log, _ := c.Store.Audit(ctx)
	for _, e := range log {
		if e.Action == "signing-key" && e.Actor == "root" {
			steps++
		}
	}
	if steps != 2 {
		t.Errorf("%d rotation steps audited, want 2", steps)
	}
}
