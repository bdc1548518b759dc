package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/console/pgtest"
)

var t0 = time.Unix(1_764_000_000, 0)

// eachStore runs f on a new SQLite store and on a new PostgreSQL one.
func eachStore(t *testing.T, f func(t *testing.T, s *Store)) {
	t.Run("sqlite", func(t *testing.T) {
		s, err := Open(filepath.Join(t.TempDir(), "console.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		f(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		f(t, openPostgres(t, pgtest.DSN(t)))
	})
}

func openPostgres(t *testing.T, dsn string) *Store {
	t.Helper()
	s, err := OpenPostgres(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func enroll(t *testing.T, s *Store, id string) Machine {
	t.Helper()
	ctx := context.Background()
	if err := s.AddEnrollToken(ctx, "tok-"+id, t0.Add(time.Hour), 1, []string{"lab"}, "admin", t0); err != nil {
		t.Fatal(err)
	}
	m, err := s.Enroll(ctx, "tok-"+id, Machine{ID: id, Hostname: id + ".local", OfflineSecret: []byte("secret")}, t0)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAnEnrollmentTokenIsUsedAsOftenAsItSays(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		s.AddEnrollToken(ctx, "once", t0.Add(time.Hour), 1, []string{"finance"}, "admin", t0)
		s.AddEnrollToken(ctx, "many", t0.Add(time.Hour), -1, nil, "admin", t0)
		s.AddEnrollToken(ctx, "old", t0.Add(time.Minute), -1, nil, "admin", t0)
		m, err := s.Enroll(ctx, "once", Machine{ID: "m1", Hostname: "a"}, t0)
		if err != nil || len(m.Tags) != 1 || m.Tags[0] != "finance" {
			t.Fatalf("first use: %+v, %v", m, err)
		}
		if _, err := s.Enroll(ctx, "once", Machine{ID: "m2", Hostname: "b"}, t0); !errors.Is(err, ErrToken) {
			t.Errorf("second use of a single-use token: %v", err)
		}
		for _, id := range []string{"m3", "m4"} {
			if _, err := s.Enroll(ctx, "many", Machine{ID: id, Hostname: id}, t0); err != nil {
				t.Errorf("a multi-use token: %v", err)
			}
		}
		if _, err := s.Enroll(ctx, "old", Machine{ID: "m5", Hostname: "c"}, t0.Add(2*time.Minute)); !errors.Is(err, ErrToken) {
			t.Errorf("an expired token: %v", err)
		}
		if _, err := s.Enroll(ctx, "nope", Machine{ID: "m6", Hostname: "d"}, t0); !errors.Is(err, ErrToken) {
			t.Errorf("an unknown token: %v", err)
		}
		if _, err := s.Machine(ctx, "m2"); !errors.Is(err, ErrNotFound) {
			t.Errorf("a refused enrollment stored a machine: %v", err)
		}
		if ms, _ := s.Machines(ctx); len(ms) != 3 {
			t.Errorf("%d machines, want 3", len(ms))
		}
	})
}

func TestAnUploadRepeatedIsOneRequest(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		enroll(t, s, "m1")
		enroll(t, s, "m2")
		ctx := context.Background()
		r := Request{MachineID: "m1", EndpointID: 7, Created: t0, UID: 501, User: "alice", Kind: "approval", Path: "/opt/tool"}
		id, created, err := s.PutRequest(ctx, r)
		if err != nil || !created {
			t.Fatal(created, err)
		}
		id2, created, err := s.PutRequest(ctx, r)
		if err != nil || created || id2 != id {
			t.Errorf("again: id %d (want %d), created %v, %v", id2, id, created, err)
		}
		// The same endpoint id on another machine is another request.
		r.MachineID = "m2"
		if id3, created, _ := s.PutRequest(ctx, r); !created || id3 == id {
			t.Errorf("another machine's request 7: id %d created %v", id3, created)
		}
	})
}

func TestTwoOfThreeApproversDecide(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		enroll(t, s, "m1")
		ctx := context.Background()
		id, _, _ := s.PutRequest(ctx, Request{MachineID: "m1", EndpointID: 1, Created: t0, Kind: "approval", Path: "/opt/tool",
			ApprovalsNeeded: 2, PolicyRevision: 9, WindowEnd: t0.Add(24 * time.Hour)})
		signed := 0
		sign := func(d *Decision) []byte { signed++; return []byte("sig") }
		r, d, err := s.CastVote(ctx, id, Vote{Voter: "ann", Approve: true}, t0, sign)
		if err != nil || d != nil || r.State != Pending {
			t.Fatalf("first approval: %s, %+v, %v", r.State, d, err)
		}
		if _, _, err := s.CastVote(ctx, id, Vote{Voter: "ann", Approve: true}, t0, sign); !errors.Is(err, ErrVoted) {
			t.Errorf("the same person twice: %v", err)
		}
		r, d, err = s.CastVote(ctx, id, Vote{Voter: "bob", Approve: true, Note: "ok", WindowEnd: t0.Add(time.Hour)}, t0.Add(time.Minute), sign)
		if err != nil || d == nil || r.State != Approved || !d.Approve || signed != 1 {
			t.Fatalf("second approval: %s, %+v, %v", r.State, d, err)
		}
		if !d.WindowEnd.Equal(t0.Add(time.Hour)) || d.PolicyRevision != 9 || d.DecidedBy != "bob" {
			t.Errorf("decision %+v: the approver narrowed the window to an hour", d)
		}
		if _, _, err := s.CastVote(ctx, id, Vote{Voter: "cat", Approve: false}, t0, sign); !errors.Is(err, ErrDecided) {
			t.Errorf("a vote after the decision: %v", err)
		}
		ds, err := s.Decisions(ctx, "m1", 0, 10)
		if err != nil || len(ds) != 1 || ds[0].Seq != d.Seq || string(ds[0].Signature) != "sig" {
			t.Errorf("decisions %+v, %v", ds, err)
		}
		if ds, _ := s.Decisions(ctx, "m1", d.Seq, 10); len(ds) != 0 {
			t.Errorf("decisions after the last: %+v", ds)
		}
		if vs, _ := s.Votes(ctx, id); len(vs) != 2 {
			t.Errorf("votes %+v", vs)
		}
		// Every vote is audited.
		a, _ := s.Audit(ctx)
		votes := 0
		for _, e := range a {
			if e.Action == "vote" {
				votes++
			}
		}
		if votes != 2 {
			t.Errorf("%d votes audited, want 2", votes)
		}
	})
}

func TestOneDenyDenies(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		enroll(t, s, "m1")
		ctx := context.Background()
		id, _, _ := s.PutRequest(ctx, Request{MachineID: "m1", EndpointID: 1, Created: t0, Kind: "approval", Path: "/x", ApprovalsNeeded: 3})
		s.CastVote(ctx, id, Vote{Voter: "ann", Approve: true}, t0, func(*Decision) []byte { return nil })
		r, d, err := s.CastVote(ctx, id, Vote{Voter: "bob", Approve: false, Note: "no"}, t0, func(*Decision) []byte { return []byte("s") })
		if err != nil || r.State != Denied || d == nil || d.Approve {
			t.Errorf("a deny after an approval: %s, %+v, %v", r.State, d, err)
		}
	})
}

func TestEventsUploadedTwiceAreStoredOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		enroll(t, s, "m1")
		enroll(t, s, "m2")
		ctx := context.Background()
		evs := []Event{
			{MachineID: "m1", EndpointID: 1, Time: t0, Kind: "exec", Action: "deny", UID: 501, User: "alice", Path: "/opt/a", Detail: "{}"},
			{MachineID: "m1", EndpointID: 2, Time: t0, Kind: "exec", Action: "allow", Allowed: true, Path: "/opt/b", Detail: "{}"},
		}
		if n, err := s.PutEvents(ctx, evs); n != 2 || err != nil {
			t.Fatalf("first upload: %d new, %v", n, err)
		}
		if n, err := s.PutEvents(ctx, append(evs, Event{MachineID: "m1", EndpointID: 3, Time: t0, Kind: "exec", Detail: "{}"})); n != 1 || err != nil {
			t.Errorf("the upload repeated with one more: %d new, %v; want 1", n, err)
		}
		s.PutEvents(ctx, []Event{{MachineID: "m2", EndpointID: 1, Time: t0, Kind: "exec", Detail: "{}"}})
		got, err := s.Events(ctx, EventFilter{MachineID: "m1"})
		if err != nil || len(got) != 3 || got[0].User != "alice" || got[0].UID != 501 || !got[1].Allowed || got[0].Allowed {
			t.Fatalf("m1's events %+v, %v", got, err)
		}
		if rest, _ := s.Events(ctx, EventFilter{AfterID: got[0].ID}); len(rest) != 3 {
			t.Errorf("%d events after the first, want 3", len(rest))
		}
		// A batch longer than one INSERT's rows, with an event twice in it.
		var big []Event
		for i := range 600 {
			big = append(big, Event{MachineID: "m2", EndpointID: int64(100 + i), Time: t0, Kind: "exec", Detail: "{}"})
		}
		big = append(big, big[7])
		if n, err := s.PutEvents(ctx, big); n != 600 || err != nil {
			t.Errorf("600 events with one repeated: %d new, %v", n, err)
		}
		if all, _ := s.Events(ctx, EventFilter{MachineID: "m2", Limit: 10000}); len(all) != 601 {
			t.Errorf("m2 has %d events, want 601", len(all))
		}
	})
}

func TestAMachineGetsItsOwnPolicyElseItsTagsElseEveryones(t *testing.T) {
	eachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		m := enroll(t, s, "m1") // tagged lab
		for _, p := range []Policy{{Name: "all", Revision: 1}, {Name: "lab", Revision: 3}, {Name: "lab", Revision: 4}, {Name: "own", Revision: 2}} {
			p.Body, p.UploadedBy = []byte(p.Name), "admin"
			if err := s.AddPolicy(ctx, p, t0); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.AddPolicy(ctx, Policy{Name: "lab", Revision: 4, Body: []byte("x"), UploadedBy: "admin"}, t0); !errors.Is(err, ErrStale) {
			t.Errorf("the same revision again: %v", err)
		}
		if _, ok, _ := s.PolicyFor(ctx, m); ok {
			t.Error("a policy before any is assigned")
		}
		want := func(name string, rev int64) {
			t.Helper()
			p, ok, err := s.PolicyFor(ctx, m)
			if !ok || err != nil || p.Name != name || p.Revision != rev {
				t.Errorf("policy %s r%d (ok %v, %v), want %s r%d", p.Name, p.Revision, ok, err, name, rev)
			}
		}
		s.Assign(ctx, "*", "all", "admin", t0)
		want("all", 1)
		s.Assign(ctx, "tag:lab", "lab", "admin", t0)
		want("lab", 4)
		s.Assign(ctx, "machine:m1", "own", "admin", t0)
		want("own", 2)
		if err := s.Assign(ctx, "*", "nope", "admin", t0); !errors.Is(err, ErrNotFound) {
			t.Errorf("assigning a policy never uploaded: %v", err)
		}
	})
}
