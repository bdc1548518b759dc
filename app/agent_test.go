package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/notifications"
	"github.com/gatehouse/gatehouse/notifications/fake"
	"github.com/gatehouse/gatehouse/request"
)

// fakeAPI is an enforcer in memory: requests with states, a change
// sequence that wakes Changes, and a record of the calls.
type fakeAPI struct {
	mu      sync.Mutex
	reqs    map[int64]*localapi.Request
	seq     uint64
	boot    string
	wake    chan struct{}
	down    error // every call fails with it while set
	answers []string
	codes   map[int64]string // right offline response codes
	admin   *localapi.AdminStatus
}

func newFakeAPI() *fakeAPI {
	return &fakeAPI{reqs: map[int64]*localapi.Request{}, boot: "boot-1", wake: make(chan struct{}), codes: map[int64]string{}}
}

func (f *fakeAPI) bumpLocked() {
	f.seq++
	close(f.wake)
	f.wake = make(chan struct{})
}

func (f *fakeAPI) add(r localapi.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Created.IsZero() {
		r.Created = time.Now()
	}
	if r.State == "" {
		r.State = request.Pending
	}
	f.reqs[r.ID] = &r
	f.bumpLocked()
}

func (f *fakeAPI) set(id int64, mut func(*localapi.Request)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	mut(f.reqs[id])
	f.bumpLocked()
}

func (f *fakeAPI) get(id int64) localapi.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.reqs[id]
}

func (f *fakeAPI) setDown(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = err
	if err == nil {
		f.boot = "boot-2"
		f.bumpLocked()
	}
}

func (f *fakeAPI) calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.answers)
}

func (f *fakeAPI) Status(context.Context) (localapi.Status, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down != nil {
		return localapi.Status{}, f.down
	}
	var admin *localapi.AdminStatus
	if f.admin != nil {
		a := *f.admin
		admin = &a
	}
	return localapi.Status{PolicyID: "corp", PolicyRevision: 7, Admin: admin}, nil
}

// setAdmin changes what status says of the user's admin session.
func (f *fakeAPI) setAdmin(mut func(*localapi.AdminStatus)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.admin == nil {
		f.admin = &localapi.AdminStatus{}
	}
	mut(f.admin)
	f.bumpLocked()
}

func (f *fakeAPI) AdminSession(_ context.Context, q localapi.AdminSession) (localapi.AdminSessionResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers = append(f.answers, fmt.Sprintf("admin for=%s reason=%q", q.For, q.Reason))
	if f.admin.Offer.Require != "" && len(q.Reason) < f.admin.Offer.MinJustification {
		return localapi.AdminSessionResult{}, &localapi.APIError{Status: 400, Message: "the reason is too short"}
	}
	d, _ := time.ParseDuration(q.For)
	f.admin.GrantID, f.admin.Until = 5, time.Now().Add(d)
	f.bumpLocked()
	return localapi.AdminSessionResult{Outcome: "granted", GrantID: 5, Until: f.admin.Until}, nil
}

func (f *fakeAPI) EndAdminSession(context.Context) (localapi.AdminSessionResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers = append(f.answers, "end admin")
	f.admin.Ended = &localapi.EndedAdmin{GrantID: f.admin.GrantID, At: time.Now(), Why: "ended by the user"}
	f.admin.GrantID, f.admin.Until = 0, time.Time{}
	f.bumpLocked()
	return localapi.AdminSessionResult{Outcome: "ended"}, nil
}

func (f *fakeAPI) Requests(_ context.Context, _ ...request.State) ([]localapi.Request, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.down != nil {
		return nil, f.down
	}
	var out []localapi.Request
	for _, r := range f.reqs {
		out = append(out, *r)
	}
	// Newest first, as the daemon lists them.
	slices.SortFunc(out, func(a, b localapi.Request) int { return int(b.ID - a.ID) })
	return out, nil
}

func (f *fakeAPI) Changes(ctx context.Context, after uint64, wait time.Duration) (localapi.Changes, error) {
	t := time.NewTimer(wait)
	defer t.Stop()
	for {
		f.mu.Lock()
		seq, boot, ch, down := f.seq, f.boot, f.wake, f.down
		f.mu.Unlock()
		if down != nil {
			return localapi.Changes{}, down
		}
		if seq != after {
			return localapi.Changes{Seq: seq, Boot: boot}, nil
		}
		select {
		case <-ch:
		case <-t.C:
			return localapi.Changes{Seq: seq, Boot: boot}, nil
		case <-ctx.Done():
			return localapi.Changes{}, ctx.Err()
		}
	}
}

func (f *fakeAPI) Answer(_ context.Context, id int64, a localapi.Answer) (localapi.AnswerResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers = append(f.answers, fmt.Sprintf("answer %d cancel=%v reason=%q start=%s end=%s", id, a.Cancel, a.Reason,
		a.WindowStart.UTC().Format(time.RFC3339), a.WindowEnd.UTC().Format(time.RFC3339)))
	r, ok := f.reqs[id]
	if !ok {
		return localapi.AnswerResult{}, &localapi.APIError{Status: 404, Message: fmt.Sprintf("request %d: not found", id)}
	}
	if r.State != request.Pending {
		return localapi.AnswerResult{}, &localapi.APIError{Status: 400, Message: fmt.Sprintf("request %d is %s", id, r.State)}
	}
	switch {
	case a.Cancel:
		r.State = request.Cancelled
	case r.Kind == request.Approval || r.Kind == request.ApprovalOffline:
		r.State, r.Reason, r.WindowStart, r.WindowEnd = request.Submitted, a.Reason, a.WindowStart, a.WindowEnd
	default:
		if len(a.Reason) < r.MinJustification {
			return localapi.AnswerResult{}, &localapi.APIError{Status: 400, Message: "the reason is too short"}
		}
		r.State, r.Reason = request.Answered, a.Reason
	}
	r.Notified = false
	f.bumpLocked()
	return localapi.AnswerResult{Request: *r}, nil
}

func (f *fakeAPI) Seen(_ context.Context, id int64) (localapi.Request, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers = append(f.answers, fmt.Sprintf("seen %d %s", id, f.reqs[id].State))
	f.reqs[id].Notified = true
	f.bumpLocked()
	return *f.reqs[id], nil
}

func (f *fakeAPI) OfflineRespond(_ context.Context, id int64, code string) (localapi.AnswerResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers = append(f.answers, fmt.Sprintf("offline %d %s", id, code))
	if f.codes[id] != code {
		return localapi.AnswerResult{}, &localapi.APIError{Status: 400, Message: "that response code is not right for this request; 4 tries left"}
	}
	f.reqs[id].State = request.Approved
	f.bumpLocked()
	return localapi.AnswerResult{Request: *f.reqs[id]}, nil
}

// fakeUI records what the window showed.
type fakeUI struct {
	mu    sync.Mutex
	shown []*Dialog
	ch    chan *Dialog
}

func newFakeUI() *fakeUI { return &fakeUI{ch: make(chan *Dialog, 100)} }

func (u *fakeUI) Show(d *Dialog) {
	u.mu.Lock()
	u.shown = append(u.shown, d)
	u.mu.Unlock()
	u.ch <- d
}

// next waits for the next Show.
func (u *fakeUI) next(t *testing.T) *Dialog {
	t.Helper()
	select {
	case d := <-u.ch:
		return d
	case <-time.After(5 * time.Second):
		t.Fatal("no dialog shown within 5s")
		return nil
	}
}

func (u *fakeUI) none(t *testing.T, within time.Duration) {
	t.Helper()
	select {
	case d := <-u.ch:
		t.Fatalf("unexpected Show(%+v)", d)
	case <-time.After(within):
	}
}

type launch struct {
	Path string
	Args []string
	Cwd  string
}

type fakeLauncher struct {
	mu   sync.Mutex
	runs []launch
	err  error
}

func (l *fakeLauncher) Launch(path string, args []string, cwd string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return l.err
	}
	l.runs = append(l.runs, launch{path, args, cwd})
	return nil
}

func (l *fakeLauncher) got() []launch {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.runs)
}

type fakeTray struct {
	mu   sync.Mutex
	last Snapshot
	n    int
}

func (t *fakeTray) Update(s Snapshot) {
	t.mu.Lock()
	t.last, t.n = s, t.n+1
	t.mu.Unlock()
}

func (t *fakeTray) snapshot() Snapshot {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.last
}

type rig struct {
	api    *fakeAPI
	ui     *fakeUI
	launch *fakeLauncher
	tray   *fakeTray
	notes  *fake.Notifier
	agent  *Agent
	bridge *Bridge
}

func newRig(t *testing.T, before func(*rig)) *rig {
	t.Helper()
	r := &rig{api: newFakeAPI(), ui: newFakeUI(), launch: &fakeLauncher{}, tray: &fakeTray{}, notes: fake.New()}
	if before != nil {
		before(r)
	}
	r.agent = New(Options{API: r.api, UI: r.ui, Tray: r.tray, Notifier: r.notes, Launcher: r.launch,
		Wait: 2 * time.Second, Backoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	r.bridge = r.agent.Bridge()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.agent.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("Run did not return within 5s of cancel")
		}
	})
	return r
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestJustificationDialogContinueRelaunches(t *testing.T) {
	r := newRig(t, nil)
	r.api.add(localapi.Request{ID: 1, Kind: request.Justification, Path: "/opt/tools/report", SHA256: "ab12",
		Args: []string{"--quarter", "3"}, Cwd: "/home/alice", Title: "Tell us why", Body: "Policy says so.", MinJustification: 5,
		AppType: "binary"})
	d := r.ui.next(t)
	want := &Dialog{RequestID: 1, Kind: DialogJustification, Title: "Tell us why", Body: "Policy says so.", Company: "Gatehouse",
		MinJustification: 5, State: request.Pending,
		Program: Program{Name: "report", Path: "/opt/tools/report", SHA256: "ab12", AppType: "binary", Args: []string{"--quarter", "3"}}}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Fatalf("dialog (-want +got):\n%s", diff)
	}
	if cur, _ := r.bridge.Current(); cur != d {
		t.Errorf("Current() = %+v, want the dialog shown", cur)
	}
	// Too short: the daemon's message reaches the dialog, nothing launches.
	if _, err := r.bridge.Continue(1, "ab"); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Errorf("short reason: err = %v", err)
	}
	out, err := r.bridge.Continue(1, "  quarterly report  ")
	if err != nil {
		t.Fatal(err)
	}
	if !out.Relaunched || !out.Close {
		t.Errorf("outcome = %+v, want relaunched and closed", out)
	}
	if diff := cmp.Diff([]launch{{"/opt/tools/report", []string{"--quarter", "3"}, "/home/alice"}}, r.launch.got()); diff != "" {
		t.Errorf("launches (-want +got):\n%s", diff)
	}
	if got := r.api.get(1); got.State != request.Answered || got.Reason != "quarterly report" {
		t.Errorf("request after Continue = %+v", got)
	}
	if d := r.ui.next(t); d != nil {
		t.Errorf("after Continue the window shows %+v, want it hidden", d)
	}
	// A button of a dialog that is gone does nothing.
	if _, err := r.bridge.Continue(1, "again please"); err == nil {
		t.Error("Continue on a closed dialog succeeded")
	}
}

func TestTerminalProgramIsNotRelaunched(t *testing.T) {
	r := newRig(t, nil)
	r.api.add(localapi.Request{ID: 4, Kind: request.Warning, Path: "/usr/local/bin/tool", Terminal: true})
	r.ui.next(t)
	out, err := r.bridge.Continue(4, "")
	if err != nil {
		t.Fatal(err)
	}
	if out.Relaunched || out.Close || !strings.Contains(out.Message, "terminal") {
		t.Errorf("outcome = %+v, want a message to run it again from the terminal", out)
	}
	if len(r.launch.got()) != 0 {
		t.Error("a terminal program was relaunched")
	}
	r.bridge.Close()
	if d := r.ui.next(t); d != nil {
		t.Errorf("after Close: %+v", d)
	}
}

func TestDialogsQueueInOrderAndStaleOnesAreSkipped(t *testing.T) {
	r := newRig(t, func(r *rig) {
		r.api.add(localapi.Request{ID: 1, Kind: request.Warning, Path: "/old", Created: time.Now().Add(-time.Hour)})
		r.api.add(localapi.Request{ID: 2, Kind: request.Warning, Path: "/a"})
		r.api.add(localapi.Request{ID: 3, Kind: request.DenyMessage, Path: "/b", Title: "Not allowed", Publisher: "Evil Inc"})
	})
	if d := r.ui.next(t); d.RequestID != 2 {
		t.Fatalf("first dialog is for request %d, want 2 (1 is an hour old)", d.RequestID)
	}
	if err := r.bridge.Cancel(2); err != nil {
		t.Fatal(err)
	}
	d := r.ui.next(t)
	if d.RequestID != 3 || d.Kind != DialogDenied || d.Program.Publisher != "Evil Inc" {
		t.Fatalf("second dialog = %+v", d)
	}
	// Denied has no Continue.
	if _, err := r.bridge.Continue(3, ""); err == nil {
		t.Error("Continue on a denied dialog succeeded")
	}
	r.bridge.Cancel(3)
	if d := r.ui.next(t); d != nil {
		t.Errorf("after the last dialog: %+v", d)
	}
	waitUntil(t, "both cancelled", func() bool {
		return r.api.get(2).State == request.Cancelled && r.api.get(3).State == request.Cancelled
	})
	if r.api.get(1).State != request.Pending {
		t.Error("the stale request was touched")
	}
	// The tray still lists the stale one as waiting.
	waitUntil(t, "tray", func() bool {
		s := r.tray.snapshot()
		return s.Connected && len(s.Pending) == 1 && s.Pending[0].ID == 1 && s.PolicyRevision == 7
	})
}

func TestApprovalFlowWithNotifications(t *testing.T) {
	r := newRig(t, nil)
	r.api.add(localapi.Request{ID: 9, Kind: request.Approval, Path: "/opt/Editor", Args: []string{"x.txt"}, Cwd: "/tmp"})
	r.ui.next(t)
	start := time.Date(2030, 1, 2, 9, 0, 0, 0, time.FixedZone("", 3600))
	if _, err := r.bridge.RequestApproval(9, "edit", "not a time", ""); err == nil {
		t.Error("a window start that is not a time was accepted")
	}
	out, err := r.bridge.RequestApproval(9, "need to edit", start.Format(time.RFC3339), start.Add(2*time.Hour).Format(time.RFC3339))
	if err != nil {
		t.Fatal(err)
	}
	if out.Close || !strings.Contains(out.Message, "sent for approval") {
		t.Errorf("outcome = %+v", out)
	}
	r.bridge.Close()
	if d := r.ui.next(t); d != nil {
		t.Errorf("after Close: %+v", d)
	}
	// Submitted: one "pending" notification, marked seen.
	n := waitNote(t, r.notes, "request-9")
	if !strings.Contains(n.Title, "Approval requested") {
		t.Errorf("submitted notification = %+v", n)
	}
	waitUntil(t, "seen", func() bool { return r.api.get(9).Notified })

	// Approved by the administrator: replaced by "approved", with Open.
	// (The administrator moved the window to now.)
	r.api.set(9, func(x *localapi.Request) {
		x.State, x.Notified = request.Approved, false
		x.WindowStart, x.WindowEnd = time.Now().Add(-time.Minute), time.Now().Add(time.Hour)
	})
	waitUntil(t, "approved notification", func() bool {
		n, ok := r.notes.Get("request-9")
		return ok && strings.Contains(n.Title, "was approved")
	})
	n, _ = r.notes.Get("request-9")
	if len(n.Actions) != 1 || n.Actions[0].Key != notifications.DefaultAction || !strings.Contains(n.Body, "You may run it from") {
		t.Errorf("approved notification = %+v", n)
	}
	waitUntil(t, "seen approved", func() bool { return r.api.get(9).Notified })
	// A click opens the app and removes the notification.
	if err := r.notes.Respond("request-9", notifications.Clicked, ""); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "launch", func() bool { return len(r.launch.got()) == 1 })
	if diff := cmp.Diff(launch{"/opt/Editor", []string{"x.txt"}, "/tmp"}, r.launch.got()[0]); diff != "" {
		t.Errorf("launch (-want +got):\n%s", diff)
	}
	waitUntil(t, "removed", func() bool { _, ok := r.notes.Get("request-9"); return !ok })
	want := []string{
		"answer 9 cancel=false reason=\"need to edit\" start=2030-01-02T08:00:00Z end=2030-01-02T10:00:00Z",
		"seen 9 submitted", "seen 9 approved",
	}
	if diff := cmp.Diff(want, r.api.calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

// A sudo command's approval says to run it again through gatehouse sudo,
// and a click opens nothing (it would run without sudo).
func TestASudoCommandsApprovalOpensNothing(t *testing.T) {
	r := newRig(t, nil)
	r.api.add(localapi.Request{ID: 4, Kind: request.Approval, State: request.Approved, Path: "/usr/bin/apt", AppType: "sudo", Args: []string{"install", "x"}})
	n := waitNote(t, r.notes, "request-4")
	if !strings.Contains(n.Title, "approved to run as root") || !strings.Contains(n.Body, "gatehouse sudo") || len(n.Actions) != 0 {
		t.Errorf("notification = %+v", n)
	}
	if err := r.notes.Respond("request-4", notifications.Clicked, ""); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "removed", func() bool { _, ok := r.notes.Get("request-4"); return !ok })
	if got := r.launch.got(); len(got) != 0 {
		t.Errorf("a click on a sudo command's approval launched %+v", got)
	}
}

func TestDeniedDecisionAndDismiss(t *testing.T) {
	r := newRig(t, nil)
	r.api.add(localapi.Request{ID: 5, Kind: request.Approval, State: request.Denied, Path: "/opt/x", Terminal: true})
	n := waitNote(t, r.notes, "request-5")
	if !strings.Contains(n.Title, "was denied") || len(n.Actions) != 0 {
		t.Errorf("denied notification = %+v", n)
	}
	if err := r.notes.Respond("request-5", notifications.Dismissed, ""); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "removed", func() bool { _, ok := r.notes.Get("request-5"); return !ok })
	if len(r.launch.got()) != 0 {
		t.Error("dismissing launched something")
	}
}

func TestDecisionsWhileAwayAreShownOnceAtStart(t *testing.T) {
	api := newFakeAPI()
	api.add(localapi.Request{ID: 1, Kind: request.Approval, State: request.Approved, Path: "/opt/a", Created: time.Now().Add(-3 * time.Hour)})
	api.add(localapi.Request{ID: 2, Kind: request.Approval, State: request.Approved, Path: "/opt/b", Notified: true})
	r := newRig(t, func(r *rig) { r.api = api })
	waitNote(t, r.notes, "request-1")
	waitUntil(t, "seen", func() bool { return api.get(1).Notified })
	// A second agent (the next login) shows nothing again.
	r2 := newRig(t, func(r *rig) { r.api = api })
	time.Sleep(200 * time.Millisecond)
	if got := r2.notes.Shown(); len(got) != 0 {
		t.Errorf("second agent posted %+v", got)
	}
	if _, ok := r.notes.Get("request-2"); ok {
		t.Error("a decision already seen was shown again")
	}
}

func TestDenyNotifyPostsAndCloses(t *testing.T) {
	r := newRig(t, nil)
	r.api.add(localapi.Request{ID: 7, Kind: request.DenyNotify, Path: "/usr/bin/nc", Title: "nc is blocked", Body: "<b>Ask IT</b>"})
	n := waitNote(t, r.notes, "request-7")
	if n.Title != "nc was blocked" || n.Body != "nc is blocked\n<b>Ask IT</b>" {
		t.Errorf("notification = %+v", n)
	}
	waitUntil(t, "closed", func() bool { return r.api.get(7).State == request.Cancelled })
	r.ui.none(t, 100*time.Millisecond)
}

func TestOfflineCode(t *testing.T) {
	r := newRig(t, nil)
	r.api.codes[3] = "ABCD2345WXYZ"
	r.api.add(localapi.Request{ID: 3, Kind: request.ApprovalOffline, Path: "/opt/app", RequestCode: "012345",
		Machine: "host-1", PolicyRevision: 12})
	d := r.ui.next(t)
	if d.Kind != DialogApprovalOffline || d.RequestCode != "012345" || d.Computer != "host-1" || d.PolicyRevision != 12 {
		t.Fatalf("dialog = %+v", d)
	}
	if _, err := r.bridge.SubmitResponseCode(3, "WRONG"); err == nil || !strings.Contains(err.Error(), "tries left") {
		t.Errorf("wrong code: err = %v", err)
	}
	out, err := r.bridge.SubmitResponseCode(3, "ABCD2345WXYZ")
	if err != nil || !out.Relaunched {
		t.Fatalf("right code: %+v, %v", out, err)
	}
}

func TestDisconnectedThenReconnected(t *testing.T) {
	r := newRig(t, func(r *rig) {
		r.api.setDown(&localapi.NotRunningError{Socket: "/run/x.sock", Err: errors.New("connection refused")})
	})
	waitUntil(t, "tray says not connected", func() bool {
		s := r.tray.snapshot()
		return !s.Connected && strings.Contains(TrayStatus(s), "gatehoused is not running")
	})
	r.api.setDown(nil)
	r.api.add(localapi.Request{ID: 1, Kind: request.Warning, Path: "/a"})
	if d := r.ui.next(t); d.RequestID != 1 {
		t.Fatalf("after reconnecting: %+v", d)
	}
	waitUntil(t, "tray connected", func() bool { return r.tray.snapshot().Connected })
	if !strings.HasPrefix(TrayStatus(r.tray.snapshot()), "Connected · policy corp revision 7") {
		t.Errorf("tray status = %q", TrayStatus(r.tray.snapshot()))
	}
}

func TestNotRunningErrorText(t *testing.T) {
	err := errText(&localapi.NotRunningError{Socket: "/x", Err: errors.New("no")})
	if !strings.Contains(err.Error(), "not running") {
		t.Errorf("errText = %v", err)
	}
	// The daemon's own message reaches the dialog as it is (the page
	// capitalises it).
	if got := errText(&localapi.APIError{Status: 400, Message: "the window ends before it starts"}).Error(); got != "the window ends before it starts" {
		t.Errorf("errText = %q", got)
	}
}

// waitNote waits until a notification with id is on screen.
func waitNote(t *testing.T, f *fake.Notifier, id string) notifications.Notification {
	t.Helper()
	var n notifications.Notification
	waitUntil(t, "notification "+id, func() bool {
		var ok bool
		n, ok = f.Get(id)
		return ok
	})
	return n
}

func TestApprovedClickOutsideItsWindow(t *testing.T) {
	r := newRig(t, nil)
	start := time.Now().Add(time.Hour)
	r.api.add(localapi.Request{ID: 8, Kind: request.Approval, State: request.Approved, Path: "/opt/app",
		WindowStart: start, WindowEnd: start.Add(time.Hour)})
	waitNote(t, r.notes, "request-8")
	if err := r.notes.Respond("request-8", notifications.Clicked, ""); err != nil {
		t.Fatal(err)
	}
	n := waitNote(t, r.notes, "request-8")
	if !strings.Contains(n.Title, "cannot be opened now") || !strings.Contains(n.Body, "You may run it from") {
		t.Errorf("notification after an early click = %+v", n)
	}
	if len(r.launch.got()) != 0 {
		t.Error("launched before its window")
	}
}

func TestTrayRecentIsTheNewestClosed(t *testing.T) {
	r := newRig(t, func(r *rig) {
		for id := int64(1); id <= 12; id++ {
			r.api.add(localapi.Request{ID: id, Kind: request.Warning, State: request.Cancelled,
				Path: fmt.Sprintf("/opt/p%d", id), Created: time.Now().Add(-time.Hour)})
		}
	})
	waitUntil(t, "tray", func() bool { return r.tray.snapshot().Connected })
	var ids []int64
	for _, x := range r.tray.snapshot().Recent {
		ids = append(ids, x.ID)
	}
	if diff := cmp.Diff([]int64{12, 11, 10, 9, 8, 7, 6, 5, 4, 3}, ids); diff != "" {
		t.Errorf("recent (-want +got):\n%s", diff)
	}
}

// On a machine whose console answers, approval_offline is an approval the
// console decides (no codes); once the console is not reached for a while
// after submitting (the daemon's route turns offline), the codes come up,
// once, for the help desk to answer instead.
func TestApprovalOfflineGoesToTheConsoleThenFallsBackToCodes(t *testing.T) {
	r := newRig(t, nil)
	r.api.codes[4] = "ABCD2345WXYZ"
	r.api.add(localapi.Request{ID: 4, Kind: request.ApprovalOffline, Path: "/opt/app", RequestCode: "012345",
		Machine: "host-1", PolicyRevision: 12, Route: request.RouteConsole})
	d := r.ui.next(t)
	if d.Kind != DialogApproval || d.RequestCode != "" {
		t.Fatalf("with the console reached: dialog %+v, want an approval without codes", d)
	}
	if _, err := r.bridge.RequestApproval(4, "month end", "", ""); err != nil {
		t.Fatal(err)
	}
	r.bridge.Close()
	if d := r.ui.next(t); d != nil {
		t.Fatalf("after Close: %+v, want the dialog hidden", d)
	}
	r.api.set(4, func(x *localapi.Request) { x.Route = request.RouteOffline })
	d = r.ui.next(t)
	if d.Kind != DialogApprovalOffline || d.RequestCode != "012345" || d.RequestID != 4 {
		t.Fatalf("the console not reached: dialog %+v, want the offline codes", d)
	}
	out, err := r.bridge.SubmitResponseCode(4, "ABCD2345WXYZ")
	if err != nil || !out.Relaunched {
		t.Fatalf("the help desk's code: %+v, %v", out, err)
	}
	r.bridge.Close()
	r.ui.next(t)                               // hidden
	r.api.set(4, func(x *localapi.Request) {}) // another change: the codes are not offered again
	r.ui.none(t, 200*time.Millisecond)
}
