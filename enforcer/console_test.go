package enforcer_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/console/signed"
	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/request"
)

// The console's decisions reach the engine through the untrusted sync
// service: applied only when signed by the key pinned at enrollment, for
// this machine and the request's policy revision, once.
func TestConsoleDecisionsMustBeSignedByThePinnedKey(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	h := newHarness(t, func(c *enforcer.Config) { c.SyncUser = "nobody" })
	id := enforcer.ConsoleIdentity{URL: "https://console.example", MachineID: "m-1", SigningKeys: [][]byte{pub}}
	b, _ := json.Marshal(id)
	if err := os.WriteFile(filepath.Join(h.dir, "db", "console.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	appr := h.file("appr/tool", "#!/bin/sh\n")
	h.exec(appr, execOpt{uid: 1000})
	r := h.waitRequest(1000, appr)
	owner := h.e.Identify(enforcer.Peer{UID: 1000, RealUID: 1000, GIDs: []uint32{1000}})
	ctx := context.Background()
	if _, err := h.e.Answer(ctx, owner, r.ID, enforcer.Answer{Reason: "month end"}); err != nil {
		t.Fatal(err)
	}
	sync := h.e.Identify(enforcer.Peer{UID: 65534, RealUID: 65534})
	sign := func(d enforcer.ConsoleDecision, machine string, key ed25519.PrivateKey) enforcer.ConsoleDecision {
		msg, _ := signed.Message(signed.KindDecision, signed.DecisionFields(machine, d.RequestID, d.Approve, d.WindowStart, d.WindowEnd, d.PolicyRevision)...)
		d.Signature = ed25519.Sign(key, msg)
		return d
	}
	end := time.Now().Add(time.Hour).Truncate(time.Second)
	good := enforcer.ConsoleDecision{RequestID: r.ID, Approve: true, WindowEnd: end, PolicyRevision: r.PolicyRevision, DecidedBy: "ann"}
	_, other, _ := ed25519.GenerateKey(nil)
	for _, tt := range []struct {
		name string
		d    enforcer.ConsoleDecision
		want string
	}{
		{"another key", sign(good, "m-1", other), "does not verify"},
		{"another machine", sign(good, "m-2", priv), "does not verify"},
		{"changed after signing", func() enforcer.ConsoleDecision {
			d := sign(good, "m-1", priv)
			d.WindowEnd = end.Add(24 * time.Hour)
			return d
		}(), "does not verify"},
		{"another revision", sign(func() enforcer.ConsoleDecision { d := good; d.PolicyRevision++; return d }(), "m-1", priv), "signed for policy revision"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := h.e.ConsoleDecide(ctx, sync, tt.d); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
	res, err := h.e.ConsoleDecide(ctx, sync, sign(good, "m-1", priv))
	if err != nil {
		t.Fatal(err)
	}
	if res.Request.State != request.Approved || res.Grant == nil || !res.Grant.Expires.Equal(end) || !strings.Contains(res.Request.DecidedBy, "console: ann") {
		t.Errorf("applied: %+v, grant %+v", res.Request, res.Grant)
	}
	if !h.exec(appr, execOpt{uid: 1000}) {
		t.Error("the approved program is still denied")
	}
	if _, err := h.e.ConsoleDecide(ctx, sync, sign(good, "m-1", priv)); err == nil {
		t.Error("a decision applied twice")
	}
	// Without the signature the sync may not decide at all.
	if _, err := h.e.Decide(ctx, sync, r.ID, true, ""); !errors.Is(err, enforcer.ErrForbidden) {
		t.Errorf("an unsigned decision by the sync: %v", err)
	}
	var tampers int
	for _, ev := range h.events(store.Filter{Kind: "tamper"}) {
		if ev.RequestID == r.ID && !ev.Allowed {
			tampers++
		}
	}
	if tampers != 3 {
		t.Errorf("%d refused forgeries recorded, want 3", tampers)
	}
}

func TestConsolePoliciesMustBeSignedAndNewer(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	h := newHarness(t, func(c *enforcer.Config) { c.SyncUser = "nobody" })
	b, _ := json.Marshal(enforcer.ConsoleIdentity{MachineID: "m-1", SigningKeys: [][]byte{pub}})
	os.WriteFile(filepath.Join(h.dir, "db", "console.json"), b, 0o644)
	sync := h.e.Identify(enforcer.Peer{UID: 65534, RealUID: 65534})
	ctx := context.Background()
	policyRev := func(rev int) []byte {
		return []byte(strings.ReplaceAll(fmt.Sprintf(testPolicy, rev), "DIR", h.dir))
	}
	sign := func(machine string, rev int64, body []byte, key ed25519.PrivateKey) enforcer.ConsolePolicy {
		msg, _ := signed.Message(signed.KindPolicy, signed.PolicyFields(machine, rev, sha256.Sum256(body))...)
		return enforcer.ConsolePolicy{Revision: rev, Body: body, Signature: ed25519.Sign(key, msg)}
	}
	_, other, _ := ed25519.GenerateKey(nil)
	for _, tt := range []struct {
		name string
		p    enforcer.ConsolePolicy
		want string
	}{
		{"another key", sign("m-1", 5, policyRev(5), other), "does not verify"},
		{"another machine's", sign("m-2", 5, policyRev(5), priv), "does not verify"},
		{"a revision the document does not carry", sign("m-1", 6, policyRev(5), priv), "the policy says revision 5"},
		{"a policy that does not compile", sign("m-1", 7, []byte("id: x\nrevision: 7\nrules: [{group: nope, action: deny}]\n"), priv), "does not compile"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := h.e.ApplyConsolePolicy(ctx, sync, tt.p); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
			if r := h.e.PolicyRevision(); r != 1 {
				t.Errorf("the running revision became %d", r)
			}
		})
	}
	st, err := h.e.ApplyConsolePolicy(ctx, sync, sign("m-1", 5, policyRev(5), priv))
	if err != nil || st.PolicyRevision != 5 {
		t.Fatalf("apply revision 5: %+v, %v", st.PolicyRevision, err)
	}
	if got, _ := os.ReadFile(filepath.Join(h.dir, "policy.yaml")); string(got) != string(policyRev(5)) {
		t.Error("the policy file is not the console's")
	}
	if _, err := h.e.ApplyConsolePolicy(ctx, sync, sign("m-1", 5, policyRev(5), priv)); err != nil {
		t.Errorf("the same revision again: %v", err)
	}
	if _, err := h.e.ApplyConsolePolicy(ctx, sync, sign("m-1", 3, policyRev(3), priv)); err == nil || !strings.Contains(err.Error(), "older than the running revision 5") {
		t.Errorf("an older revision, validly signed: %v", err)
	}
	// A user may not push a policy at all.
	user := h.e.Identify(enforcer.Peer{UID: 1000, RealUID: 1000})
	if _, err := h.e.ApplyConsolePolicy(ctx, user, sign("m-1", 9, policyRev(9), priv)); !errors.Is(err, enforcer.ErrForbidden) {
		t.Errorf("a user pushing a policy: %v", err)
	}
}

// approval_offline on an enrolled machine goes to the console while the
// sync says it reaches it, and falls back to the offline codes when it has
// not for console_fallback: before submitting, and after, while the request
// is not on the console. Only the sync (or root) may say it.
func TestApprovalOfflineGoesToTheConsoleWhileItIsReached(t *testing.T) {
	h := newHarness(t, func(c *enforcer.Config) {
		c.SyncUser = "nobody"
		c.ConsoleFallback = enforcer.Duration(time.Minute)
	})
	p := h.file("offline/tool", "#!/bin/sh\n")
	h.exec(p, execOpt{uid: 1000})
	r := h.waitRequest(1000, p)
	route := func() string {
		var got localapi.Request
		if code := h.call(1000, "GET", fmt.Sprintf("/requests/%d", r.ID), nil, &got); code != 200 {
			t.Fatalf("read the request: %d", code)
		}
		return got.Route
	}
	if got := route(); got != "" {
		t.Errorf("not enrolled: route %q, want none (the codes, as always)", got)
	}
	b, _ := json.Marshal(enforcer.ConsoleIdentity{URL: "https://console.example", MachineID: "m-1"})
	os.WriteFile(filepath.Join(h.dir, "db", "console.json"), b, 0o644)
	if got := route(); got != request.RouteOffline {
		t.Errorf("enrolled, the console never reached: route %q, want offline", got)
	}
	if code := h.call(1000, "POST", "/console/reached", localapi.ConsoleReached{}, nil); code != 403 {
		t.Errorf("a user says the console is reached: %d, want 403", code)
	}
	if code := h.call(65534, "POST", "/console/reached", localapi.ConsoleReached{}, nil); code != 200 {
		t.Fatalf("the sync says the console is reached: %d", code)
	}
	if got := route(); got != request.RouteConsole {
		t.Errorf("the console reached: route %q, want console", got)
	}
	h.shift.Store(int64(2 * time.Minute))
	if got := route(); got != request.RouteOffline {
		t.Errorf("two minutes without the console: route %q, want offline", got)
	}
	h.shift.Store(0)
	owner := h.e.Identify(enforcer.Peer{UID: 1000, RealUID: 1000, GIDs: []uint32{1000}})
	if _, err := h.e.Answer(context.Background(), owner, r.ID, enforcer.Answer{Reason: "month end"}); err != nil {
		t.Fatal(err)
	}
	if got := route(); got != request.RouteConsole {
		t.Errorf("just submitted: route %q, want console (the sync is still trying)", got)
	}
	h.shift.Store(int64(2 * time.Minute))
	if got := route(); got != request.RouteOffline {
		t.Errorf("submitted two minutes ago and not on the console: route %q, want offline", got)
	}
	if code := h.call(65534, "POST", "/console/reached", localapi.ConsoleReached{Uploaded: []int64{r.ID}}, nil); code != 200 {
		t.Fatal(code)
	}
	h.shift.Store(int64(4 * time.Minute))
	if got := route(); got != request.RouteConsole {
		t.Errorf("on the console: route %q, want console (its decision will come)", got)
	}
}

// New console signing keys (a rotation) are taken only when a pinned key
// signed them, only from the sync or root; the same again is a no-op; a
// decision the new key signed is then applied.
func TestRotatedConsoleKeysMustBeSignedByAPinnedKey(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	newPub, newPriv, _ := ed25519.GenerateKey(nil)
	h := newHarness(t, func(c *enforcer.Config) { c.SyncUser = "nobody" })
	path := filepath.Join(h.dir, "db", "console.json")
	if err := enforcer.WriteConsoleIdentity(path, enforcer.ConsoleIdentity{URL: "https://console.example", MachineID: "m-1", SigningKeys: [][]byte{pub}}); err != nil {
		t.Fatal(err)
	}
	keys := [][]byte{newPub, pub}
	statement := func(key ed25519.PrivateKey) []byte {
		msg, _ := signed.Message(signed.KindSigningKeys, signed.SigningKeysFields(keys)...)
		return ed25519.Sign(key, msg)
	}
	ctx := context.Background()
	sync := h.e.Identify(enforcer.Peer{UID: 65534, RealUID: 65534})
	user := h.e.Identify(enforcer.Peer{UID: 1000, RealUID: 1000, GIDs: []uint32{1000}})
	if err := h.e.ConsoleKeys(ctx, user, keys, statement(priv)); !errors.Is(err, enforcer.ErrForbidden) {
		t.Errorf("a user hands over keys: %v", err)
	}
	if err := h.e.ConsoleKeys(ctx, sync, keys, statement(newPriv)); err == nil || !strings.Contains(err.Error(), "not signed by a key pinned") {
		t.Errorf("keys signed by the new key only: %v", err)
	}
	if err := h.e.ConsoleKeys(ctx, sync, keys, statement(priv)); err != nil {
		t.Fatal(err)
	}
	id, err := enforcer.ReadConsoleIdentity(path)
	if err != nil || len(id.SigningKeys) != 2 || !bytes.Equal(id.SigningKeys[0], newPub) || id.MachineID != "m-1" {
		t.Fatalf("pinned after the rotation: %+v, %v", id, err)
	}
	if err := h.e.ConsoleKeys(ctx, sync, keys, statement(priv)); err != nil {
		t.Errorf("the same keys again: %v", err)
	}
	// A decision signed by the new key now applies.
	appr := h.file("appr/tool", "#!/bin/sh\n")
	h.exec(appr, execOpt{uid: 1000})
	r := h.waitRequest(1000, appr)
	if _, err := h.e.Answer(ctx, user, r.ID, enforcer.Answer{Reason: "month end"}); err != nil {
		t.Fatal(err)
	}
	d := enforcer.ConsoleDecision{RequestID: r.ID, Approve: true, PolicyRevision: r.PolicyRevision, DecidedBy: "ann"}
	msg, _ := signed.Message(signed.KindDecision, signed.DecisionFields("m-1", d.RequestID, d.Approve, d.WindowStart, d.WindowEnd, d.PolicyRevision)...)
	d.Signature = ed25519.Sign(newPriv, msg)
	if _, err := h.e.ConsoleDecide(ctx, sync, d); err != nil {
		t.Errorf("a decision signed by the rotated key: %v", err)
	}
	var tampers int
	for _, ev := range h.events(store.Filter{Kind: "tamper"}) {
		if strings.Contains(ev.Detail, "signing keys") {
			tampers++
		}
	}
	if tampers != 1 {
		t.Errorf("%d refused key hand-overs recorded, want 1", tampers)
	}
}
