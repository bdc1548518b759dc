package store

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/request"
)

func addGrant(t *testing.T, s *Store, g Grant) int64 {
	t.Helper()
	id, err := s.AddGrant(t.Context(), g)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func grantIDs(gs []Grant) []int64 {
	var ids []int64
	for _, g := range gs {
		ids = append(ids, g.ID)
	}
	return ids
}

func TestGrantRoundTrip(t *testing.T) {
	s := openTest(t)
	req := addRequest(t, s, Request{Kind: request.Justification, State: request.Answered})
	for _, in := range []Grant{
		{UID: math32, Dev: math.MaxUint64, Ino: 1<<63 + 1, SHA256: "beef", CDHash: "deadbeef00112233445566778899aabbccddeeff", Path: "/opt/tool", Created: t0,
			NotBefore: t0.Add(time.Minute), Expires: t0.Add(time.Hour), UsesLeft: 3, Reason: "build",
			Origin: request.FromJustification, RequestID: req, Revoked: true, Kind: GrantExec},
		{UsesLeft: -1, Kind: GrantSudo, Path: "/usr/bin/apt", Args: []string{"install", "curl", ""}},
		{}, // reads back as an exec grant
	} {
		id := addGrant(t, s, in)
		in.ID = id
		if in.Kind == "" {
			in.Kind = GrantExec
		}
		got, err := s.Grants(t.Context(), nil)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(in, got[0]); diff != "" {
			t.Errorf("grant (-want +got):\n%s", diff)
		}
	}
}

func TestAddGrantUnknownRequest(t *testing.T) {
	s := openTest(t)
	_, err := s.AddGrant(t.Context(), Grant{UID: 1, RequestID: 12})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
}

func TestActiveGrants(t *testing.T) {
	s := openTest(t)
	now := t0
	active := addGrant(t, s, Grant{UID: 1, Expires: now.Add(time.Hour), UsesLeft: -1})
	addGrant(t, s, Grant{UID: 1, Expires: now.Add(time.Hour), UsesLeft: -1, Revoked: true})
	addGrant(t, s, Grant{UID: 1, Expires: now, UsesLeft: -1}) // expires at now: over
	addGrant(t, s, Grant{UID: 1, Expires: now.Add(-time.Second), UsesLeft: 5})
	addGrant(t, s, Grant{UID: 1, Expires: now.Add(time.Hour), UsesLeft: 0})
	usesLeft := addGrant(t, s, Grant{UID: 2, Expires: now.Add(time.Hour), UsesLeft: 1})
	notYet := addGrant(t, s, Grant{UID: 2, NotBefore: now.Add(time.Minute), Expires: now.Add(time.Hour), UsesLeft: -1})
	addGrant(t, s, Grant{UID: 1, UsesLeft: -1}) // no expiry set: never active

	got, err := s.ActiveGrants(t.Context(), now)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{active, usesLeft, notYet}, grantIDs(got)); diff != "" {
		t.Errorf("active grants (-want +got):\n%s", diff)
	}
}

func TestGrantsList(t *testing.T) {
	s := openTest(t)
	a := addGrant(t, s, Grant{UID: 1})
	b := addGrant(t, s, Grant{UID: 2})
	c := addGrant(t, s, Grant{UID: 1})
	uid := uint32(1)
	for _, tc := range []struct {
		name string
		uid  *uint32
		want []int64
	}{
		{"all, newest first", nil, []int64{c, b, a}},
		{"one user", &uid, []int64{c, a}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Grants(t.Context(), tc.uid)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, grantIDs(got)); diff != "" {
				t.Errorf("grants (-want +got):\n%s", diff)
			}
		})
	}
}

func TestUseGrant(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	counted := addGrant(t, s, Grant{UID: 1, Expires: t0, UsesLeft: 2})
	unlimited := addGrant(t, s, Grant{UID: 1, Expires: t0, UsesLeft: -1})
	usesLeft := func(id int64) int {
		t.Helper()
		gs, err := s.Grants(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range gs {
			if g.ID == id {
				return g.UsesLeft
			}
		}
		t.Fatalf("grant %d not found", id)
		return 0
	}
	for _, want := range []int{1, 0, 0} {
		if err := s.UseGrant(ctx, counted); err != nil {
			t.Fatal(err)
		}
		if got := usesLeft(counted); got != want {
			t.Errorf("uses left = %d, want %d", got, want)
		}
	}
	for range 3 {
		if err := s.UseGrant(ctx, unlimited); err != nil {
			t.Fatal(err)
		}
	}
	if got := usesLeft(unlimited); got != -1 {
		t.Errorf("unlimited grant: uses left = %d, want -1", got)
	}
	if err := s.UseGrant(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown grant: err = %v, want ErrNotFound", err)
	}
}

func TestRevokeGrant(t *testing.T) {
	s := openTest(t)
	ctx := t.Context()
	id := addGrant(t, s, Grant{UID: 1, Expires: t0.Add(time.Hour), UsesLeft: -1})
	for range 2 { // revoking twice is fine
		if err := s.RevokeGrant(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	gs, err := s.Grants(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !gs[0].Revoked {
		t.Error("grant not revoked")
	}
	active, err := s.ActiveGrants(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(active) != 0 {
		t.Errorf("revoked grant still active: %+v", active)
	}
	if err := s.RevokeGrant(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown grant: err = %v, want ErrNotFound", err)
	}
}

// TestCorruptGrantsNameTheFileAndTheFix: damaged grant pages are reported
// with the file and the fix (move it aside, or restore it), not as a bare SQLite
// error.
func TestCorruptGrantsNameTheFileAndTheFix(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gatehouse.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	req := addRequest(t, s, Request{Kind: request.Justification, State: request.Answered})
	for range 300 {
		if _, err := s.AddGrant(t.Context(), Grant{Path: strings.Repeat("/opt/tool", 20), SHA256: "beef", RequestID: req,
			Expires: t0.Add(time.Hour), UsesLeft: -1}); err != nil {
			t.Fatal(err)
		}
	}
	s = damageTable(t, s, path, "grants")
	defer s.Close()
	_, err = s.ActiveGrants(t.Context(), t0)
	if err == nil || !strings.Contains(err.Error(), "move it aside") || !strings.Contains(err.Error(), path) {
		t.Errorf("damaged grants: %v; want the file and the fix", err)
	}
}

// damageTable closes s, overwrites the root page of table in the database
// file at path, and opens the file again: the header is intact, the
// table's pages are not.
func damageTable(t *testing.T, s *Store, path, table string) *Store {
	t.Helper()
	var root, pageSize int64
	if err := s.r.QueryRow(`SELECT rootpage FROM sqlite_master WHERE name = ?`, table).Scan(&root); err != nil {
		t.Fatal(err)
	}
	if err := s.r.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(bytes.Repeat([]byte{0xA5}, int(pageSize)), (root-1)*pageSize); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s, err = Open(path)
	if err != nil {
		t.Fatalf("open: %v (the damage is in the %s table, not the header)", err, table)
	}
	return s
}
