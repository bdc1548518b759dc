package store

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/console/pgtest"
)

func TestNodesStartingTogetherMigrateOnce(t *testing.T) {
	dsn := pgtest.DSN(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			s, err := OpenPostgres(context.Background(), dsn, nil)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: %v", i, err)
		}
	}
	s := openPostgres(t, dsn)
	var v int
	if err := s.r.row(context.Background(), `SELECT version FROM schema_version`).Scan(&v); err != nil || v != 10 {
		t.Errorf("schema version %d, %v; want 8", v, err)
	}
}

// Two approvers voting at the same moment on two nodes: both votes count,
// and exactly one decision is made (without the row lock each vote could
// count only itself and the request would stay pending with two
// approvals).
func TestApproversOnTwoNodesAtOnceDecideOnce(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, b := openPostgres(t, dsn), openPostgres(t, dsn)
	enroll(t, a, "m1")
	ctx := context.Background()
	sign := func(*Decision) []byte { return []byte("sig") }
	const n = 20
	for i := range n {
		id, _, err := a.PutRequest(ctx, Request{MachineID: "m1", EndpointID: int64(i + 1), Created: t0, Kind: "approval", Path: "/opt/x", ApprovalsNeeded: 2})
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		var ds [2]*Decision
		var errs [2]error
		for j, node := range []*Store{a, b} {
			wg.Go(func() {
				_, ds[j], errs[j] = node.CastVote(ctx, id, Vote{Voter: fmt.Sprint("approver", j), Approve: true}, t0, sign)
			})
		}
		wg.Wait()
		if errs[0] != nil || errs[1] != nil || (ds[0] == nil) == (ds[1] == nil) {
			t.Fatalf("request %d: decisions %v %v, errors %v %v; want exactly one decision", id, ds[0], ds[1], errs[0], errs[1])
		}
	}
	got, err := b.Decisions(ctx, "m1", 0, 100)
	if err != nil || len(got) != n {
		t.Fatalf("%d decisions, %v; want %d", len(got), err, n)
	}
}

// A decision made on one node wakes the long polls waiting on another
// (LISTEN/NOTIFY), for that machine only; a policy change wakes all.
func TestAChangeOnOneNodeWakesTheOther(t *testing.T) {
	dsn := pgtest.DSN(t)
	a, b := openPostgres(t, dsn), openPostgres(t, dsn)
	heard := make(chan string, 16)
	var queue atomic.Int32 // the pages' queue moves too (RequestsChanged)
	b.Watch(func(m string) {
		if m == RequestsChanged {
			queue.Add(1)
			return
		}
		heard <- m
	})
	// b's listener says "" once it listens.
	select {
	case m := <-heard:
		if m != "" {
			t.Fatalf("first wake %q, want the listener's \"\"", m)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("node b never started listening")
	}
	enroll(t, a, "m1")
	ctx := context.Background()
	id, _, _ := a.PutRequest(ctx, Request{MachineID: "m1", EndpointID: 1, Created: t0, Kind: "approval", Path: "/opt/x"})
	start := time.Now()
	if _, _, err := a.CastVote(ctx, id, Vote{Voter: "ann", Approve: true}, t0, func(*Decision) []byte { return []byte("s") }); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-heard:
		if m != "m1" {
			t.Errorf("woke %q, want m1", m)
		}
		t.Logf("node b heard node a's decision after %v", time.Since(start))
	case <-time.After(time.Second):
		t.Fatal("node b did not hear node a's decision within 1 s")
	}
	if err := a.AddPolicy(ctx, Policy{Name: "base", Revision: 1, Body: []byte("x"), UploadedBy: "admin"}, t0); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-heard:
		if m != "" {
			t.Errorf("a policy woke %q, want every machine (\"\")", m)
		}
	case <-time.After(time.Second):
		t.Fatal("node b did not hear node a's policy within 1 s")
	}
	// Heard before the policy: NOTIFYs arrive in commit order.
	if queue.Load() < 2 {
		t.Errorf("node b heard the queue move %d times, want 2 (the upload, the vote)", queue.Load())
	}
}

// The two dialects' schemas have the same tables and columns.
func TestTheSchemasMatch(t *testing.T) {
	ctx := context.Background()
	lite, err := Open(filepath.Join(t.TempDir(), "console.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	pg := openPostgres(t, pgtest.DSN(t))
	columns := func(s *Store, q string) []string {
		rows, err := s.r.query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var table, col string
			if err := rows.Scan(&table, &col); err != nil {
				t.Fatal(err)
			}
			out = append(out, table+"."+col)
		}
		slices.Sort(out)
		return out
	}
	l := columns(lite, `SELECT m.name, p.name FROM sqlite_master m, pragma_table_info(m.name) p WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%'`)
	p := columns(pg, `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name <> 'schema_version'`)
	if !slices.Equal(l, p) {
		t.Errorf("SQLite and PostgreSQL schemas differ:\nsqlite:   %s\npostgres: %s", strings.Join(l, " "), strings.Join(p, " "))
	}
}
