package server_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/console/client"
	"github.com/gatehouse/gatehouse/console/consoletest"
	"github.com/gatehouse/gatehouse/console/pki"
	"github.com/gatehouse/gatehouse/console/server"
	"github.com/gatehouse/gatehouse/console/store"
	"github.com/gatehouse/gatehouse/offline"
)

// console is a real console (consoletest) with an API token per role.
type console struct {
	*consoletest.Console
	t      *testing.T
	st     *store.Store
	ca     *pki.Authority
	tokens map[string]string // name -> API token
}

// eachConsole runs f on a console over SQLite and on one over PostgreSQL.
func eachConsole(t *testing.T, f func(t *testing.T, c *console)) {
	for _, b := range consoletest.Backends {
		t.Run(b, func(t *testing.T) { f(t, newConsole(t, b)) })
	}
}

func newConsole(t *testing.T, backend string) *console {
	t.Helper()
	cc := consoletest.On(t, backend, t.TempDir(), server.Options{MaxWait: 10 * time.Second})
	c := &console{Console: cc, t: t, st: cc.Store, ca: cc.CA, tokens: map[string]string{}}
	for name, role := range map[string]string{"root": "admin", "ann": "approver", "bob": "approver", "cat": "approver", "aud": "auditor", "desk": "helpdesk"} {
		c.tokens[name] = cc.APIToken(t, name, role)
	}
	return c
}

// admin calls the admin API as name; out may be nil.
func (c *console) admin(name, method, path string, body any, out any) int {
	c.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, c.URL+path, bytes.NewReader(b))
	if name != "" {
		req.Header.Set("Authorization", "Bearer "+c.tokens[name])
	}
	resp, err := c.HTTP().Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func (c *console) enrollToken(uses int) string {
	c.t.Helper()
	var out struct{ Token string }
	if code := c.admin("root", "POST", "/v1/admin/enroll-tokens", server.EnrollTokenRequest{TTL: "1h", Uses: uses, Tags: []string{"lab"}}, &out); code != 200 {
		c.t.Fatalf("make enrollment token: %d", code)
	}
	return out.Token
}

func (c *console) machine(name string) (*client.Client, client.Identity) {
	c.t.Helper()
	id, err := client.Enroll(context.Background(), c.URL, c.enrollToken(1), client.Machine{Hostname: name, OfflineSecret: []byte("offline secret of " + name)})
	if err != nil {
		c.t.Fatal(err)
	}
	cl, err := client.New(id)
	if err != nil {
		c.t.Fatal(err)
	}
	return cl, id
}

func upload(t *testing.T, cl *client.Client, endpointID int64, approvals int) int64 {
	t.Helper()
	id, err := cl.UploadRequest(context.Background(), server.RequestUpload{EndpointID: endpointID, Created: time.Now(), UID: 501, User: "alice",
		Kind: "approval", Path: "/opt/tool", SHA256: "ab12", Reason: "quarterly report", PolicyRevision: 4, ApprovalsNeeded: approvals,
		WindowEnd: time.Now().Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// Enroll, upload, approve: the decision reaches the machine's open poll
// at once, signed; the latency is logged (figures in docs/benchmarks.md).
func TestAnApprovalReachesTheMachinesPoll(t *testing.T) {
	eachConsole(t, func(t *testing.T, c *console) {
		cl, _ := c.machine("mac-01")
		id := upload(t, cl, 17, 1)
		if again := upload(t, cl, 17, 1); again != id {
			t.Errorf("the same upload made request %d, then %d", id, again)
		}
		got := make(chan []server.DecisionWire, 1)
		errs := make(chan error, 1)
		go func() {
			ds, _, err := cl.Decisions(context.Background(), 0, 9*time.Second)
			got <- ds
			errs <- err
		}()
		time.Sleep(100 * time.Millisecond) // the poll is open
		start := time.Now()
		if code := c.admin("ann", "POST", fmt.Sprintf("/v1/admin/requests/%d/decide", id), server.DecideRequest{Approve: true, Note: "fine"}, nil); code != 200 {
			t.Fatalf("decide: %d", code)
		}
		ds := <-got
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		lat := time.Since(start)
		t.Logf("decision → machine: %v", lat)
		if len(ds) != 1 || !ds[0].Approve || ds[0].EndpointID != 17 || ds[0].DecidedBy != "ann" || ds[0].PolicyRevision != 4 {
			t.Fatalf("decisions %+v", ds)
		}
		// Asked again after it: nothing new (a short wait).
		if ds, _, err := cl.Decisions(context.Background(), ds[0].Seq, 200*time.Millisecond); err != nil || len(ds) != 0 {
			t.Errorf("after the last: %+v, %v", ds, err)
		}
	})
}

func TestTwoOfThreeApprovalsAndOneDeny(t *testing.T) {
	eachConsole(t, func(t *testing.T, c *console) {
		cl, _ := c.machine("mac-01")
		id := upload(t, cl, 1, 2)
		decide := func(who string, approve bool) int {
			return c.admin(who, "POST", fmt.Sprintf("/v1/admin/requests/%d/decide", id), server.DecideRequest{Approve: approve}, nil)
		}
		if code := decide("ann", true); code != 200 {
			t.Fatal(code)
		}
		if code := decide("ann", true); code != http.StatusConflict {
			t.Errorf("the same approver again: %d, want 409", code)
		}
		if ds, _, _ := cl.Decisions(context.Background(), 0, 200*time.Millisecond); len(ds) != 0 {
			t.Errorf("one approval of two decided: %+v", ds)
		}
		if code := decide("bob", true); code != 200 {
			t.Fatal(code)
		}
		if ds, _, _ := cl.Decisions(context.Background(), 0, time.Second); len(ds) != 1 || !ds[0].Approve {
			t.Errorf("two approvals: %+v", ds)
		}
		if code := decide("cat", false); code != http.StatusConflict {
			t.Errorf("a vote after the decision: %d", code)
		}
		// One deny denies at once.
		id2 := upload(t, cl, 2, 3)
		c.admin("ann", "POST", fmt.Sprintf("/v1/admin/requests/%d/decide", id2), server.DecideRequest{Approve: true}, nil)
		c.admin("bob", "POST", fmt.Sprintf("/v1/admin/requests/%d/decide", id2), server.DecideRequest{Approve: false, Note: "no"}, nil)
		if ds, _, _ := cl.Decisions(context.Background(), 1, time.Second); len(ds) != 1 || ds[0].Approve || ds[0].EndpointID != 2 {
			t.Errorf("a deny after an approval: %+v", ds)
		}
	})
}

// A machine knows only its own: its decisions, by its certificate, never
// by a body; and a decision not signed by the pinned key is refused.
func TestAMachineSeesOnlyItsOwnAndChecksSignatures(t *testing.T) {
	eachConsole(t, func(t *testing.T, c *console) {
		a, _ := c.machine("a")
		b, _ := c.machine("b")
		id := upload(t, a, 5, 1)
		c.admin("ann", "POST", fmt.Sprintf("/v1/admin/requests/%d/decide", id), server.DecideRequest{Approve: true}, nil)
		if ds, _, err := b.Decisions(context.Background(), 0, 300*time.Millisecond); err != nil || len(ds) != 0 {
			t.Errorf("machine b sees %+v (%v)", ds, err)
		}
		// b's upload with a's endpoint id is b's own request, not a's.
		if id2 := upload(t, b, 5, 1); id2 == id {
			t.Error("machine b's upload landed on machine a's request")
		}
		// A client that pinned another key refuses the console's decisions.
		_, forgedID := c.machine("c")
		pub, _, _ := ed25519.GenerateKey(nil)
		forgedID.SigningKeys = []ed25519.PublicKey{pub}
		fc, _ := client.New(forgedID)
		idc := upload(t, fc, 9, 1)
		c.admin("ann", "POST", fmt.Sprintf("/v1/admin/requests/%d/decide", idc), server.DecideRequest{Approve: true}, nil)
		if _, _, err := fc.Decisions(context.Background(), 0, time.Second); !errors.Is(err, client.ErrBadSignature) {
			t.Errorf("a decision under an unpinned key: %v", err)
		}
	})
}

func TestBadInputIsRefusedClearly(t *testing.T) {
	eachConsole(t, func(t *testing.T, c *console) {
		tok := c.enrollToken(1)
		if _, err := client.Enroll(context.Background(), c.URL, tok, client.Machine{Hostname: "first"}); err != nil {
			t.Fatal(err)
		}
		var ae *client.APIError
		if _, err := client.Enroll(context.Background(), c.URL, tok, client.Machine{Hostname: "second"}); !errors.As(err, &ae) || ae.Status != 409 || !strings.Contains(ae.Message, "unknown, expired or used up") {
			t.Errorf("a used token: %v", err)
		}
		// A token from another console: the TLS pin refuses this one first.
		other, _ := pki.Create(time.Now())
		foreign := strings.Replace(tok, c.ca.CAHash(), other.CAHash(), 1)
		if _, err := client.Enroll(context.Background(), c.URL, foreign, client.Machine{Hostname: "x"}); err == nil || !strings.Contains(err.Error(), "does not chain to the CA the enrollment token names") {
			t.Errorf("a token naming another CA: %v", err)
		}
		if _, err := client.Enroll(context.Background(), c.URL, "gh1.nonsense", client.Machine{Hostname: "x"}); err == nil {
			t.Error("a malformed token enrolled")
		}
		for _, tt := range []struct {
			name, who, method, path string
			body                    any
			want                    int
		}{
			{"no API token", "", "GET", "/v1/admin/requests", nil, 401},
			{"an approver makes tokens", "ann", "POST", "/v1/admin/enroll-tokens", server.EnrollTokenRequest{TTL: "1h"}, 403},
			{"an auditor decides", "aud", "POST", "/v1/admin/requests/1/decide", server.DecideRequest{Approve: true}, 403},
			{"an auditor lists", "aud", "GET", "/v1/admin/requests", nil, 200},
			{"an unknown field", "root", "POST", "/v1/admin/enroll-tokens", map[string]any{"ttl": "1h", "owner": "me"}, 400},
			{"a ttl past 30 days", "root", "POST", "/v1/admin/enroll-tokens", server.EnrollTokenRequest{TTL: "9000h"}, 400},
			{"an oversized body", "root", "POST", "/v1/admin/enroll-tokens", map[string]any{"ttl": strings.Repeat("x", 70<<10)}, 413},
			{"the endpoint API without a certificate", "", "GET", "/v1/endpoint/decisions", nil, 401},
			{"a request that is not there", "ann", "POST", "/v1/admin/requests/999/decide", server.DecideRequest{}, 404},
		} {
			t.Run(tt.name, func(t *testing.T) {
				if code := c.admin(tt.who, tt.method, tt.path, tt.body, nil); code != tt.want {
					t.Errorf("status %d, want %d", code, tt.want)
				}
			})
		}
		// A revoked machine is refused from then on.
		cl, id := c.machine("leaver")
		if code := c.admin("root", "POST", "/v1/admin/machines/"+id.MachineID+"/revoke", nil, nil); code != 200 {
			t.Fatalf("revoke: %d", code)
		}
		if _, err := cl.UploadRequest(context.Background(), server.RequestUpload{EndpointID: 1, User: "a", Kind: "approval", Path: "/x"}); !errors.As(err, &ae) || ae.Status != 403 {
			t.Errorf("a revoked machine uploads: %v", err)
		}
		// A certificate from another console's CA does not get in.
		oid, err := client.Enroll(context.Background(), c.URL, c.enrollToken(1), client.Machine{Hostname: "real"})
		if err != nil {
			t.Fatal(err)
		}
		key, _ := pki.NewClientKey()
		csr, _ := pki.CSR(key, "x")
		der, _ := other.IssueClient(csr, oid.MachineID, time.Hour, time.Now())
		oid.CertPEM = pki.CertPEM(der)
		oid.KeyPEM, _ = pki.KeyPEM(key)
		forged, err := client.New(oid)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := forged.UploadRequest(context.Background(), server.RequestUpload{EndpointID: 1, User: "a", Kind: "approval", Path: "/x"}); err == nil {
			t.Error("a certificate another CA issued for an enrolled machine's id was accepted")
		}
		// Enrollment is audited.
		log, _ := c.st.Audit(context.Background())
		enrolls := 0
		for _, e := range log {
			if e.Action == "enroll" {
				enrolls++
			}
		}
		if enrolls != 3 {
			t.Errorf("%d enrollments audited, want 3", enrolls)
		}
	})
}

// The help desk's response code, from the secret the machine escrowed at
// enrollment, is the one the machine accepts — bound to the name in the
// machine's challenges, whatever name the console shows; who issued it and
// why is audited; only the help desk and admins may.
func TestTheHelpDeskGetsTheMachinesResponseCode(t *testing.T) {
	eachConsole(t, func(t *testing.T, c *console) {
		secret := offline.NewSecret()
		id, err := client.Enroll(context.Background(), c.URL, c.enrollToken(1),
			client.Machine{Hostname: "Finance laptop 7", OfflineName: "laptop-7", OfflineSecret: []byte(secret.Export())})
		if err != nil {
			t.Fatal(err)
		}
		rc := offline.NewRequestCode()
		req := server.OfflineCodeRequest{MachineID: id.MachineID, RequestCode: rc, Revision: 12, Reason: "user on a plane, ticket 4711"}
		var out struct{ Code, Machine string }
		if code := c.admin("desk", "POST", "/v1/admin/offline-code", req, &out); code != 200 {
			t.Fatalf("offline code: %d", code)
		}
		if err := offline.Verify(secret, offline.Challenge{Machine: "LAPTOP-7", Revision: 12, RequestCode: rc, Day: offline.DayOf(time.Now())}, out.Code); err != nil {
			t.Errorf("the machine refuses the console's code %s: %v", out.Code, err)
		}
		if code := c.admin("aud", "POST", "/v1/admin/offline-code", req, nil); code != 403 {
			t.Errorf("an auditor made a code: %d", code)
		}
		req.Reason = ""
		if code := c.admin("desk", "POST", "/v1/admin/offline-code", req, nil); code != 400 {
			t.Errorf("a code without a reason: %d", code)
		}
		log, _ := c.st.Audit(context.Background())
		found := false
		for _, e := range log {
			found = found || e.Action == "offline-code" && e.Actor == "desk" && strings.Contains(e.Detail, "ticket 4711")
		}
		if !found {
			t.Error("the code issued is not audited with who and why")
		}
	})
}

func TestEventUploadsAreBoundedAndIdempotent(t *testing.T) {
	eachConsole(t, func(t *testing.T, c *console) {
		a, _ := c.machine("a")
		b, _ := c.machine("b")
		ev := func(id int64) server.EventWire {
			return server.EventWire{ID: id, Time: time.Now(), Kind: "exec", Path: "/x"}
		}
		if n, err := a.UploadEvents(context.Background(), []server.EventWire{ev(1), ev(2)}); err != nil || n != 2 {
			t.Fatalf("upload: %d, %v", n, err)
		}
		if n, _ := a.UploadEvents(context.Background(), []server.EventWire{ev(2), ev(3)}); n != 1 {
			t.Errorf("a batch sent again stored %d, want only the new one", n)
		}
		// b's event 1 is b's, not a duplicate of a's.
		if n, _ := b.UploadEvents(context.Background(), []server.EventWire{ev(1)}); n != 1 {
			t.Errorf("another machine's event 1 stored %d", n)
		}
		var ae *client.APIError
		if _, err := a.UploadEvents(context.Background(), []server.EventWire{{Kind: "exec"}}); !errors.As(err, &ae) || ae.Status != 400 {
			t.Errorf("an event without its id: %v", err)
		}
		many := make([]server.EventWire, 1001)
		for i := range many {
			many[i] = ev(int64(100 + i))
		}
		if _, err := a.UploadEvents(context.Background(), many); !errors.As(err, &ae) || ae.Status != 413 {
			t.Errorf("1,001 events: %v", err)
		}
		var evs []server.EventOut
		if code := c.admin("aud", "GET", "/v1/admin/events", nil, &evs); code != 200 || len(evs) != 4 || evs[0].MachineID == "" {
			t.Errorf("the auditor lists %d events (%d), want 4", len(evs), code)
		}
	})
}

// A machine renews its certificate with the one it has: the new one works;
// a revoked machine cannot renew.
func TestAMachineRenewsItsCertificate(t *testing.T) {
	eachConsole(t, func(t *testing.T, c *console) {
		cl, id := c.machine("renewer")
		renewed, err := cl.Renew(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if string(renewed.CertPEM) == string(id.CertPEM) || string(renewed.KeyPEM) == string(id.KeyPEM) || renewed.MachineID != id.MachineID {
			t.Error("the renewal did not give a new certificate and key for the same machine")
		}
		exp, err := renewed.Expires()
		if err != nil || time.Until(exp) < 89*24*time.Hour {
			t.Errorf("the renewed certificate expires %v (%v)", exp, err)
		}
		nc, _ := client.New(renewed)
		if _, err := nc.UploadRequest(context.Background(), server.RequestUpload{EndpointID: 1, User: "a", Kind: "approval", Path: "/x"}); err != nil {
			t.Errorf("the renewed certificate: %v", err)
		}
		// A running client switches to the renewed certificate (the sync
		// renews while it runs), and only to its own machine's.
		if err := cl.Use(renewed); err != nil {
			t.Fatal(err)
		}
		if _, err := cl.UploadRequest(context.Background(), server.RequestUpload{EndpointID: 2, User: "a", Kind: "approval", Path: "/x"}); err != nil {
			t.Errorf("after Use(renewed): %v", err)
		}
		_, other := c.machine("other")
		if err := cl.Use(other); err == nil {
			t.Error("a client took another machine's identity")
		}
		swapped := renewed
		swapped.CertPEM, swapped.KeyPEM = other.CertPEM, other.KeyPEM
		if err := cl.Use(swapped); err == nil {
			t.Error("a client took another machine's certificate under its own id")
		}
		c.admin("root", "POST", "/v1/admin/machines/"+id.MachineID+"/revoke", nil, nil)
		var ae *client.APIError
		if _, err := nc.Renew(context.Background()); !errors.As(err, &ae) || ae.Status != 403 {
			t.Errorf("a revoked machine renews: %v", err)
		}
	})
}

// The audit is searched by computer, user, part of the path, hash,
// action, rule and time, newest first if asked, and exported as CSV (a
// field a spreadsheet would run as a formula stays text); a bad filter is
// a clear 400.
func TestTheAuditIsSearchedAndExported(t *testing.T) {
	eachConsole(t, func(t *testing.T, c *console) {
		a, aid := c.machine("a")
		b, _ := c.machine("b")
		t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
		a.UploadEvents(context.Background(), []server.EventWire{
			{ID: 1, Time: t0, Kind: "exec", Action: "deny", UID: 501, User: "alice", Path: "/opt/100%_real/tool", SHA256: "aa11", Rule: 3},
			{ID: 2, Time: t0.Add(time.Hour), Kind: "exec", Action: "allow", Allowed: true, UID: 502, User: "bob", Path: "/usr/bin/true", Rule: 1},
			{ID: 3, Time: t0.Add(2 * time.Hour), Kind: "exec", Action: "deny", UID: 501, User: "=cmd|' /C calc'!A0", Path: "/opt/x", Rule: 3},
		})
		b.UploadEvents(context.Background(), []server.EventWire{{ID: 1, Time: t0, Kind: "exec", Action: "deny", User: "alice", Path: "/opt/100%_real/tool"}})
		find := func(query string) []server.EventOut {
			t.Helper()
			var evs []server.EventOut
			if code := c.admin("aud", "GET", "/v1/admin/events?"+query, nil, &evs); code != 200 {
				t.Fatalf("%s: %d", query, code)
			}
			return evs
		}
		for _, tt := range []struct {
			query string
			want  int
		}{
			{"", 4}, {"machine=" + aid.MachineID, 3}, {"user=alice", 2}, {"path=100%25_", 2}, {"path=%25", 2}, {"sha256=AA11", 1},
			{"action=allow", 1}, {"rule=3", 2}, {"since=2026-12-01T09:30:00Z", 2}, {"until=2026-12-01T09:30:00Z", 2},
			{"machine=" + aid.MachineID + "&action=deny&until=2026-12-01T10:30:00Z", 1},
		} {
			if got := find(tt.query); len(got) != tt.want {
				t.Errorf("%q: %d events, want %d", tt.query, len(got), tt.want)
			}
		}
		if got := find("order=newest&limit=1"); len(got) != 1 || got[0].Path != "/opt/100%_real/tool" || got[0].MachineID == aid.MachineID {
			t.Errorf("the newest: %+v", got)
		}
		for _, bad := range []string{"since=yesterday", "rule=x", "limit=0", "after=-"} {
			var e map[string]string
			if code := c.admin("aud", "GET", "/v1/admin/events?"+bad, nil, &e); code != 400 || e["error"] == "" {
				t.Errorf("%s: %d %v", bad, code, e)
			}
		}
		req, _ := http.NewRequest("GET", c.URL+"/v1/admin/events?format=csv&machine="+aid.MachineID, nil)
		req.Header.Set("Authorization", "Bearer "+c.tokens["aud"])
		resp, err := c.HTTP().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		rows, err := csv.NewReader(resp.Body).ReadAll()
		if err != nil || len(rows) != 4 || rows[0][0] != "time" || resp.Header.Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Fatalf("CSV %v, %v", rows, err)
		}
		if rows[3][9] != "'=cmd|' /C calc'!A0" {
			t.Errorf("a formula-looking user name in the CSV: %q", rows[3][9])
		}
	})
}
