package store

import (
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gatehouse/gatehouse/request"
)

// fullRequest has every field set to something other than its zero value.
func fullRequest() Request {
	return Request{
		Created: t0, Updated: t0.Add(time.Second), UID: math32, User: "alice", PID: 4242,
		Kind: request.Approval, State: request.Pending, Path: "/opt/tool", SHA256: "cafe", Approvers: 2, CDHash: "0123456789abcdef0123456789abcdef01234567",
		Dev: math.MaxUint64, Ino: 1<<63 + 5, Args: []string{"--flag", "ünï"}, Cwd: "/home/alice", TTY: "/dev/pts/3",
		Rule: 3, RuleName: "tools", Group: "devs", PolicyID: "corp", PolicyRevision: 17, Title: "Blocked",
		Body: "Ask for approval", URL: "https://help.example/", MinJustification: 20, Reason: "need it",
		WindowStart: t0.Add(time.Hour), WindowEnd: t0.Add(2 * time.Hour), DecidedBy: "root (uid 0)", Notified: true,
		AppType: "binary", Publisher: "Example Corp", TeamID: "ABCDE12345", SigningID: "com.example.tool",
		Machine: "host-1", RequestCode: "012345", OfflineAttempts: 2,
	}
}

func addRequest(t *testing.T, s *Store, r Request) int64 {
	t.Helper()
	id, err := s.AddRequest(t.Context(), r)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestRequestRoundTrip(t *testing.T) {
	s := openTest(t)
	for _, in := range []Request{fullRequest(), {Kind: request.Warning, State: request.Pending}} {
		id := addRequest(t, s, in)
		got, err := s.GetRequest(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		in.ID = id
		if diff := cmp.Diff(in, got); diff != "" {
			t.Errorf("request (-want +got):\n%s", diff)
		}
	}
}

func TestAddRequestState(t *testing.T) {
	s := openTest(t)
	id := addRequest(t, s, Request{Kind: request.Warning})
	r, err := s.GetRequest(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != request.Pending {
		t.Errorf("empty state stored as %q, want pending", r.State)
	}
	if _, err := s.AddRequest(t.Context(), Request{Kind: request.Warning, State: "maybe"}); err == nil {
		t.Error("AddRequest accepted an unknown state")
	}
}

func TestGetRequestNotFound(t *testing.T) {
	s := openTest(t)
	_, err := s.GetRequest(t.Context(), 99)
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

func TestListRequests(t *testing.T) {
	s := openTest(t)
	u1, u2 := uint32(1000), uint32(1001)
	for _, r := range []Request{
		{UID: u1, Kind: request.Warning, State: request.Pending},       // 1
		{UID: u2, Kind: request.Approval, State: request.Submitted},    // 2
		{UID: u1, Kind: request.Approval, State: request.Approved},     // 3
		{UID: u1, Kind: request.Approval, State: request.Submitted},    // 4
		{UID: u2, Kind: request.Justification, State: request.Pending}, // 5
	} {
		addRequest(t, s, r)
	}
	open := []request.State{request.Pending, request.Submitted}
	for _, tc := range []struct {
		name string
		f    RequestFilter
		want []int64
	}{
		{"all, newest first", RequestFilter{}, []int64{5, 4, 3, 2, 1}},
		{"uid", RequestFilter{UID: &u1}, []int64{4, 3, 1}},
		{"states", RequestFilter{States: open}, []int64{5, 4, 2, 1}},
		{"one state", RequestFilter{States: []request.State{request.Approved}}, []int64{3}},
		{"uid and states", RequestFilter{UID: &u2, States: open}, []int64{5, 2}},
		{"limit", RequestFilter{Limit: 2}, []int64{5, 4}},
		{"none", RequestFilter{States: []request.State{request.Expired}}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.ListRequests(t.Context(), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, r := range got {
				ids = append(ids, r.ID)
			}
			if diff := cmp.Diff(tc.want, ids); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTransition(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	in := fullRequest()
	in.Reason, in.DecidedBy, in.Notified = "", "", false
	id := addRequest(t, s, in)

	before := time.Now()
	got, err := s.Transition(ctx, id, []request.State{request.Pending}, request.Submitted, func(r *Request) {
		r.Reason = "for the build"
		r.WindowEnd = time.Time{}
		r.ID, r.State = 777, request.Approved // ignored
	})
	if err != nil {
		t.Fatal(err)
	}
	if got.Updated.Before(before) {
		t.Errorf("Updated = %v, want it set to now (after %v)", got.Updated, before)
	}
	want := in
	want.ID, want.State, want.Reason, want.WindowEnd, want.Updated = id, request.Submitted, "for the build", time.Time{}, got.Updated
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("returned request (-want +got):\n%s", diff)
	}
	stored, err := s.GetRequest(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(got, stored); diff != "" {
		t.Errorf("stored request differs from the returned one (-returned +stored):\n%s", diff)
	}

	// Nil mutate.
	if _, err := s.Transition(ctx, id, []request.State{request.Submitted}, request.Approved, nil); err != nil {
		t.Fatal(err)
	}

	// Wrong state: a StateError, and nothing changes.
	_, err = s.Transition(ctx, id, []request.State{request.Pending, request.Submitted}, request.Cancelled,
		func(r *Request) { r.Reason = "changed" })
	var se *StateError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v, want a *StateError", err)
	}
	if diff := cmp.Diff(&StateError{ID: id, State: request.Approved, To: request.Cancelled}, se); diff != "" {
		t.Errorf("StateError (-want +got):\n%s", diff)
	}
	stored, err = s.GetRequest(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if stored.State != request.Approved || stored.Reason != "for the build" {
		t.Errorf("a refused transition changed the request: %+v", stored)
	}

	// Unknown id, unknown state.
	if _, err := s.Transition(ctx, 999, []request.State{request.Pending}, request.Answered, nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id: err = %v, want ErrNotFound", err)
	}
	if _, err := s.Transition(ctx, id, []request.State{request.Approved}, "approvedish", nil); err == nil || errors.As(err, &se) {
		t.Errorf("unknown target state: err = %v, want a plain error", err)
	}
}

func TestStateErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		err  StateError
		want string
	}{
		{StateError{ID: 5, State: request.Approved, To: request.Cancelled},
			"request 5 is approved; it cannot become cancelled (it is already closed)"},
		{StateError{ID: 7, State: request.Expired, To: request.Submitted},
			"request 7 is expired; it cannot become submitted (it is closed: run the program again to make a new request)"},
		{StateError{ID: 6, State: request.Pending, To: request.Approved},
			"request 6 is pending; it cannot become approved"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestTransitionConcurrent(t *testing.T) {
	s := openTest(t)
	id := addRequest(t, s, Request{Kind: request.Approval, State: request.Submitted})
	const n = 16
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		winners []request.State
		other   []error
	)
	for i := range n {
		to := request.Approved
		if i%2 == 1 {
			to = request.Denied
		}
		wg.Go(func() {
			r, err := s.Transition(t.Context(), id, []request.State{request.Submitted}, to, nil)
			mu.Lock()
			defer mu.Unlock()
			var se *StateError
			switch {
			case err == nil:
				winners = append(winners, r.State)
			case errors.As(err, &se):
			default:
				other = append(other, err)
			}
		})
	}
	wg.Wait()
	if len(other) > 0 {
		t.Fatalf("errors other than StateError: %v", other)
	}
	if len(winners) != 1 {
		t.Fatalf("%d transitions won, want exactly 1", len(winners))
	}
	r, err := s.GetRequest(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if r.State != winners[0] {
		t.Errorf("stored state %q, want the winner's %q", r.State, winners[0])
	}
}

func TestExpireRequests(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	cut := t0.Add(time.Hour)
	old, recent := cut.Add(-time.Minute), cut.Add(time.Minute)
	add := func(state request.State, created time.Time) int64 {
		return addRequest(t, s, Request{Created: created, Updated: created, Kind: request.Approval, State: state})
	}
	pendingOld := add(request.Pending, old)
	submittedOld := add(request.Submitted, old)
	pendingNew := add(request.Pending, recent)
	answeredOld := add(request.Answered, old)

	before := time.Now()
	got, err := s.ExpireRequests(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, r := range got {
		ids = append(ids, r.ID)
		if r.State != request.Expired || r.Updated.Before(before) {
			t.Errorf("returned request %d: state %q updated %v, want expired and updated now", r.ID, r.State, r.Updated)
		}
		stored, err := s.GetRequest(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(r, stored); diff != "" {
			t.Errorf("stored request %d differs from the returned one (-returned +stored):\n%s", r.ID, diff)
		}
	}
	if diff := cmp.Diff([]int64{pendingOld, submittedOld}, ids); diff != "" {
		t.Errorf("expired ids (-want +got):\n%s", diff)
	}
	for id, want := range map[int64]request.State{pendingNew: request.Pending, answeredOld: request.Answered} {
		r, err := s.GetRequest(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if r.State != want {
			t.Errorf("request %d is %q, want %q", id, r.State, want)
		}
	}
	again, err := s.ExpireRequests(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Request(nil), again, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("second ExpireRequests (-want +got):\n%s", diff)
	}
}

func TestMarkNotified(t *testing.T) {
	s := openTest(t)
	id := addRequest(t, s, Request{Kind: request.Warning, Updated: t0})
	if err := s.MarkNotified(t.Context(), id); err != nil {
		t.Fatal(err)
	}
	r, err := s.GetRequest(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Notified || !r.Updated.Equal(t0) {
		t.Errorf("after MarkNotified: notified %v, updated %v; want true and unchanged", r.Notified, r.Updated)
	}
	if err := s.MarkNotified(t.Context(), 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown id: err = %v, want ErrNotFound", err)
	}
	// A new state is news again.
	r, err = s.Transition(t.Context(), id, []request.State{request.Pending}, request.Answered, nil)
	if err != nil {
		t.Fatal(err)
	}
	if back, _ := s.GetRequest(t.Context(), id); r.Notified || back.Notified {
		t.Errorf("after a transition: notified %v (stored %v), want false", r.Notified, back.Notified)
	}
}

func TestRequestCodeUsed(t *testing.T) {
	s := openTest(t)
	addRequest(t, s, Request{Kind: request.ApprovalOffline, Created: t0, RequestCode: "012345"})
	for _, c := range []struct {
		code  string
		since time.Time
		want  bool
	}{
		{"012345", t0.Add(-time.Hour), true},
		{"012345", t0, true},
		{"012345", t0.Add(time.Second), false},
		{"543210", t0.Add(-time.Hour), false},
	} {
		got, err := s.RequestCodeUsed(t.Context(), c.code, c.since)
		if err != nil || got != c.want {
			t.Errorf("RequestCodeUsed(%s, %v) = %v, %v; want %v", c.code, c.since, got, err, c.want)
		}
	}
}

// TestReserveOfflineAttempt: of many concurrent reservations exactly max
// succeed, each told a different count before it.
func TestReserveOfflineAttempt(t *testing.T) {
	s := openTest(t)
	id := addRequest(t, s, Request{Kind: request.ApprovalOffline})
	const max = 5
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		before []int
	)
	for range 30 {
		wg.Go(func() {
			n, ok, err := s.ReserveOfflineAttempt(t.Context(), id, max)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				before = append(before, n)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	slices.Sort(before)
	if diff := cmp.Diff([]int{0, 1, 2, 3, 4}, before); diff != "" {
		t.Errorf("reservations granted (-want +got):\n%s", diff)
	}
	if r, err := s.GetRequest(t.Context(), id); err != nil || r.OfflineAttempts != max {
		t.Errorf("stored attempts %d, %v; want %d", r.OfflineAttempts, err, max)
	}
	if _, ok, err := s.ReserveOfflineAttempt(t.Context(), 999, max); ok || err != nil {
		t.Errorf("unknown request: ok %v, err %v", ok, err)
	}
}
