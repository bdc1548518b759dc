package store

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/request"
)

var t0 = time.Date(2025, 3, 4, 5, 6, 7, 891011121, time.UTC)

// fullEvent has every field set to something other than its zero value.
func fullEvent() Event {
	return Event{
		Time: t0, Kind: "exec", Action: "block", Allowed: true, Rule: 7, RuleName: "no curl", Group: "devs",
		PolicyID: "corp", PolicyRevision: 42, UID: math32, User: "alice", PID: -3, Path: "/usr/bin/curl",
		SHA256: "ab12", Args: []string{"-s", "https://example.com/?a=1&b=2", "", `q"u'o\te`, "ünï €"},
		Groups: []string{"staff", "dev ops"}, Parent: "/bin/bash", Parents: []string{"/bin/bash", "/usr/sbin/sshd", "/sbin/init"}, AppType: "binary", Source: "apt", Reason: "because", GrantID: 9, RequestID: 11,
		Count: 13, Detail: "detail\nwith newline",
	}
}

const math32 = uint32(1<<32 - 1)

func TestEventRoundTrip(t *testing.T) {
	s := openTest(t)
	in := []Event{fullEvent(), {Kind: "daemon"}, {Kind: "exec", Args: []string{}}}
	if err := s.AddEvents(t.Context(), in); err != nil {
		t.Fatal(err)
	}
	got, err := s.Events(t.Context(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Event{fullEvent(), {Kind: "daemon"}, {Kind: "exec"}} // empty args read back as nil
	for i := range want {
		want[i].ID = int64(i + 1)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if !got[1].Time.IsZero() {
		t.Errorf("zero time read back as %v", got[1].Time)
	}
}

func TestProgramEventsMarkTheProgramSeen(t *testing.T) {
	s := openTest(t)
	evs := []Event{
		{Kind: "program", Path: "/usr/bin/a", SHA256: "aa", Time: t0},
		{Kind: "exec", Path: "/usr/bin/b", SHA256: "bb", Time: t0},      // an exec is not a record of the program's facts
		{Kind: "program", Path: "/opt/a-again", SHA256: "aa", Time: t0}, // seen again (a retried upload): one row
		{Kind: "program", Path: "/usr/bin/no-hash", Time: t0},           // nothing to key it by
		{Kind: "program", Path: "/usr/bin/c", SHA256: "cc", Time: t0.Add(1)},
	}
	if err := s.AddEvents(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prune(t.Context(), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	got, err := s.ProgramsSeen(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if want := []string{"aa", "cc"}; !slices.Equal(got, want) {
		t.Errorf("programs seen after the events were pruned = %q, want %q", got, want)
	}
}

func TestAddEventsIsOneTransaction(t *testing.T) {
	s := openTest(t)
	// A trigger refuses the third event: none of the batch may be stored.
	if _, err := s.w.Exec(`CREATE TEMP TRIGGER refuse BEFORE INSERT ON events WHEN NEW.detail = 'bad'
		BEGIN SELECT RAISE(ABORT, 'refused'); END`); err != nil {
		t.Fatal(err)
	}
	err := s.AddEvents(t.Context(), []Event{{Kind: "a"}, {Kind: "b"}, {Kind: "c", Detail: "bad"}})
	if err == nil {
		t.Fatal("AddEvents succeeded despite the trigger")
	}
	got, err := s.Events(t.Context(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("after a failed batch, %d events are stored, want 0", len(got))
	}
}

func TestEventsFilter(t *testing.T) {
	s := openTest(t)
	u1, u2 := uint32(1000), uint32(0)
	evs := []Event{
		{Time: t0, Kind: "exec", Action: "allow", UID: u1, Path: "/usr/bin/curl"},
		{Time: t0.Add(time.Minute), Kind: "exec", Action: "block", UID: u1, Path: "/home/a/100%/tool"},
		{Time: t0.Add(2 * time.Minute), Kind: "exec", Action: "block", UID: u2, Path: "/opt/b_c/run"},
		{Time: t0.Add(3 * time.Minute), Kind: "request", Action: "approval", UID: u1, Path: "/opt/bxc/run"},
		{Time: t0.Add(4 * time.Minute), Kind: "daemon", Path: `/weird\path`},
		{Time: t0.Add(5 * time.Minute), Kind: "exec", Action: "allow", UID: u2, Path: "/USR/BIN/env"},
	}
	if err := s.AddEvents(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		f    Filter
		want []int64
	}{
		{"all", Filter{}, []int64{1, 2, 3, 4, 5, 6}},
		{"after id", Filter{AfterID: 4}, []int64{5, 6}},
		{"since inclusive", Filter{Since: t0.Add(2 * time.Minute)}, []int64{3, 4, 5, 6}},
		{"until exclusive", Filter{Until: t0.Add(2 * time.Minute)}, []int64{1, 2}},
		{"since and until", Filter{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, []int64{2, 3}},
		{"uid", Filter{UID: &u1}, []int64{1, 2, 4}},
		{"uid 0 is a filter", Filter{UID: &u2}, []int64{3, 5, 6}},
		{"kind", Filter{Kind: "exec"}, []int64{1, 2, 3, 6}},
		{"action", Filter{Action: "block"}, []int64{2, 3}},
		{"kind and action", Filter{Kind: "exec", Action: "allow"}, []int64{1, 6}},
		{"path contains", Filter{PathContains: "curl"}, []int64{1}},
		{"percent is literal", Filter{PathContains: "100%"}, []int64{2}},
		{"underscore is literal", Filter{PathContains: "b_c"}, []int64{3}},
		{"backslash is literal", Filter{PathContains: `\path`}, []int64{5}},
		{"ASCII case is ignored", Filter{PathContains: "/usr/bin/"}, []int64{1, 6}},
		{"no match", Filter{PathContains: "%%"}, nil},
		{"limit", Filter{Limit: 2}, []int64{1, 2}},
		{"limit after id", Filter{AfterID: 2, Limit: 2}, []int64{3, 4}},
		{"everything", Filter{AfterID: 1, Since: t0, Until: t0.Add(time.Hour), UID: &u1, Kind: "exec", Action: "block", PathContains: "tool", Limit: 5}, []int64{2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Events(t.Context(), tc.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, e := range got {
				ids = append(ids, e.ID)
			}
			if diff := cmp.Diff(tc.want, ids); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEventsDefaultLimit(t *testing.T) {
	s := openTest(t)
	evs := make([]Event, 1001)
	for i := range evs {
		evs[i] = Event{Kind: "exec", Time: t0}
	}
	if err := s.AddEvents(t.Context(), evs); err != nil {
		t.Fatal(err)
	}
	got, err := s.Events(t.Context(), Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1000 || got[999].ID != 1000 {
		t.Errorf("got %d events, want the first 1000", len(got))
	}
}

func TestPrune(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	cut := t0.Add(time.Hour)
	old, recent := cut.Add(-time.Minute), cut.Add(time.Minute)

	var evs []Event
	for i := range 12000 { // more than one prune chunk
		evs = append(evs, Event{Kind: "exec", Time: old, Detail: fmt.Sprint(i)})
	}
	evs = append(evs, Event{Kind: "exec", Time: recent, Detail: "recent"}, Event{Kind: "exec", Time: cut, Detail: "at the cut"})
	if err := s.AddEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}

	addReq := func(state request.State, updated time.Time) int64 {
		t.Helper()
		id, err := s.AddRequest(ctx, Request{Created: old, Updated: updated, Kind: request.Approval, State: state, Path: string(state)})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	keep := map[int64]string{}
	gone := map[int64]string{}
	for _, st := range finalStates {
		gone[addReq(st, old)] = string(st) + ", updated before"
		keep[addReq(st, recent)] = string(st) + ", updated after"
	}
	keep[addReq(request.Pending, old)] = "pending"
	keep[addReq(request.Submitted, old)] = "submitted"
	withGrant := addReq(request.Approved, old)
	keep[withGrant] = "approved with a live grant"
	withOldGrant := addReq(request.Approved, old)
	gone[withOldGrant] = "approved, its grant expired too"

	addGrant := func(expires time.Time, req int64) int64 {
		t.Helper()
		id, err := s.AddGrant(ctx, Grant{UID: 1, Expires: expires, UsesLeft: -1, RequestID: req})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	liveGrant := addGrant(recent, withGrant)
	addGrant(old, withOldGrant)
	addGrant(old, 0)
	addGrant(time.Time{}, 0) // never active; pruned too

	if n, err := s.Prune(ctx, time.Time{}); n != 0 || err != nil {
		t.Errorf("Prune(zero time) = %d, %v; want it to delete nothing", n, err)
	}
	n, err := s.Prune(ctx, cut)
	if err != nil {
		t.Fatal(err)
	}
	if n != 12000 {
		t.Errorf("Prune deleted %d events, want 12000", n)
	}
	left, err := s.Events(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var details []string
	for _, e := range left {
		details = append(details, e.Detail)
	}
	if diff := cmp.Diff([]string{"recent", "at the cut"}, details); diff != "" {
		t.Errorf("events left (-want +got):\n%s", diff)
	}
	for id, what := range keep {
		if _, err := s.GetRequest(ctx, id); err != nil {
			t.Errorf("request %d (%s) was pruned: %v", id, what, err)
		}
	}
	for id, what := range gone {
		if _, err := s.GetRequest(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("request %d (%s) was kept: err = %v", id, what, err)
		}
	}
	grants, err := s.Grants(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(grants) != 1 || grants[0].ID != liveGrant {
		t.Errorf("grants left = %+v, want only %d", grants, liveGrant)
	}

	// Ids are never reused, even after the newest rows are deleted.
	if _, err := s.Prune(ctx, recent.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := s.AddEvents(ctx, []Event{{Kind: "exec", Time: recent}}); err != nil {
		t.Fatal(err)
	}
	left, err = s.Events(ctx, Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || left[0].ID != int64(len(evs)+1) {
		t.Errorf("after pruning everything, the next event has id %v, want %d", left, len(evs)+1)
	}
}
