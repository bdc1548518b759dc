//go:build linux

package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/console/consoletest"
	"github.com/gatehouse/gatehouse/console/server"
	"github.com/gatehouse/gatehouse/console/store"
	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/internal/testbus"
	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/offline"
	"github.com/gatehouse/gatehouse/policy"
)

// testBinary is this test's executable, as the kernel names it.
func testBinary(t *testing.T) string {
	t.Helper()
	p, err := os.Readlink("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func fileSHA1(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}

// callJSON sends v (nil: no body) to url with token and decodes the
// answer into out (nil: not read); it returns the status, 0 when the
// console cannot be reached.
func callJSON(hc *http.Client, method, url, token string, v, out any) int {
	var body io.Reader
	if v != nil {
		b, _ := json.Marshal(v)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, body)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := hc.Do(req)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// TestE2EConsoleApproval: the real gatehoused enrolls with a real console
// (`gatehoused enroll`), the real sync service runs as the unprivileged
// sync user (`gatehouse sync` as nobody), a user's approval request goes up,
// an approver approves it through the console's API, and the program runs
// on the machine with the grant — decided nowhere but on the console.
func TestE2EConsoleApproval(t *testing.T) {
	for _, backend := range consoletest.Backends {
		t.Run(backend, func(t *testing.T) { e2eConsoleApproval(t, backend) })
	}
}

func e2eConsoleApproval(t *testing.T, backend string) {
	e := newEnv(t)
	// The console, in this process, on loopback HTTPS over SQLite or
	// PostgreSQL.
	c := consoletest.On(t, backend, filepath.Join(e.dir, "console"), server.Options{})
	st := c.Store
	approver, bob, admin := c.APIToken(t, "ann", "approver"), c.APIToken(t, "bob", "approver"), c.APIToken(t, "root", "admin")
	// post calls the console's admin API with token and returns the status.
	hc := c.HTTP()
	post := func(token, path string, v any) int { return callJSON(hc, "POST", c.URL+path, token, v, nil) }

	e.config = "sync_user: nobody\n"
	e.start()
	e.enrollAndSync(c.URL, c.EnrollToken(t, 1))
	// The offline secret is escrowed: the console holds the daemon's own.
	ms, _ := st.Machines(context.Background())
	own, err := offline.LoadSecret(filepath.Join(e.dir, "db", "offline.key"))
	if err != nil || len(ms) != 1 {
		t.Fatalf("machines %d, secret %v", len(ms), err)
	}
	if escrowed, err := offline.ParseSecret(string(ms[0].OfflineSecret)); err != nil || escrowed != own {
		t.Errorf("the escrowed secret is not the machine's: %v", err)
	}

	p := e.install("/bin/true", "appr/tool")
	if err := e.run(p, runOpt{uid: 1000}); !isEPERM(err) {
		t.Fatalf("the approval program before any approval: %v, want EPERM", err)
	}
	var req localapi.Request
	e.waitFor("the approval request", func() bool {
		rs, _ := e.client().Requests(context.Background())
		for _, r := range rs {
			if r.Path == p {
				req = r
			}
		}
		return req.ID != 0
	})
	if out, err := e.cli(1000, "request", strconv.FormatInt(req.ID, 10), "--reason", "month-end close"); err != nil {
		t.Fatalf("submit: %v %s", err, out)
	}
	var consoleReq store.Request
	e.waitFor("the request on the console", func() bool {
		rs, _ := st.Requests(context.Background(), store.Pending)
		if len(rs) == 1 {
			consoleReq = rs[0]
		}
		return len(rs) == 1
	})
	if consoleReq.EndpointID != req.ID || consoleReq.User != req.User || consoleReq.Reason != "month-end close" {
		t.Errorf("the console's request %+v, the machine's %+v", consoleReq, req)
	}
	// The approver decides in the console.
	decided := time.Now()
	if code := post(approver, fmt.Sprintf("/v1/admin/requests/%d/decide", consoleReq.ID), server.DecideRequest{Approve: true, Note: "ok for today"}); code != 200 {
		t.Fatalf("decide: %d", code)
	}
	e.waitFor("the approval's grant on the machine", func() bool { return e.granted(req.ID) })
	t.Logf("console decision → grant on the machine: %v", time.Since(decided))
	if err := e.run(p, runOpt{uid: 1000}); err != nil {
		t.Fatalf("the approved program: %v", err)
	}
	e.waitEvent("the run allowed by the console's approval", func(ev localapi.Event) bool {
		return ev.Path == p && ev.Allowed && ev.GrantID != 0
	})
	// The audit comes home: the run the console's approval allowed is in
	// the console's events.
	e.waitFor("the allowed run in the console's audit", func() bool {
		evs, _ := st.Events(context.Background(), store.EventFilter{Limit: 10000})
		for _, ev := range evs {
			if ev.Path == p && ev.Allowed && ev.Kind == "exec" {
				return true
			}
		}
		return false
	})
	// The program's first record came too, with the facts no exec event
	// carries (SHA-1, folder protection, the parent chain), and what-if
	// decides on them: a draft denying /bin/true's SHA-1 would deny the
	// run the grant allowed.
	var rec store.Program
	e.waitFor("the program's record on the console", func() bool {
		ps, _ := st.ProgramsAt(context.Background(), []string{p})
		if len(ps) == 1 {
			rec = ps[0]
		}
		return len(ps) == 1
	})
	var facts policy.SubjectRecord
	json.Unmarshal([]byte(rec.Facts), &facts)
	trueSHA1 := fileSHA1(t, "/bin/true")
	if facts.SHA1 != trueSHA1 || facts.Protection == "" || rec.First.Action != "approval" || rec.First.UID != 1000 {
		t.Errorf("the console's record of %s: facts %+v, first exec %+v; want SHA-1 %s, a protection, the approval asked of uid 1000", p, facts, rec.First, trueSHA1)
	}
	var first struct {
		Parents []string `json:"parents"`
	}
	json.Unmarshal([]byte(rec.First.Detail), &first)
	if len(first.Parents) == 0 || first.Parents[0] != testBinary(t) {
		t.Errorf("first exec's parent chain %q, want this test binary first", first.Parents)
	}
	e.waitFor("the parent's record on the console", func() bool {
		ps, _ := st.ProgramsAt(context.Background(), first.Parents[:1])
		return len(ps) == 1
	})
	draft := fmt.Sprintf("id: e2e-whatif\nrevision: 1\ndefault: allow\ngroups:\n  - name: true-by-sha1\n    definitions: [{type: binary, sha1: %s}]\nrules:\n  - {group: true-by-sha1, action: deny}\n", trueSHA1)
	var wi server.WhatIfResult
	if code := callJSON(hc, "POST", c.URL+"/v1/admin/whatif", admin, server.WhatIfRequest{YAML: draft, Days: 1}, &wi); code != 200 {
		t.Fatalf("what-if: %d", code)
	}
	var found bool
	for _, ch := range wi.Changed {
		found = found || ch.Path == p && ch.Was == "allow" && ch.Would == "deny"
	}
	if !found {
		t.Errorf("what-if on the SHA-1 of %s: %+v, want its allowed run denied", p, wi.Changed)
	}

	r, _ := e.client().Request(context.Background(), req.ID)
	if r.DecidedBy == "" || !bytes.Contains([]byte(r.DecidedBy), []byte("console: ann")) {
		t.Errorf("decided by %q, want the console's approver", r.DecidedBy)
	}

	// A rule with approvers: 2 — one approval is not enough, the same
	// person twice is refused, a second person's approves.
	p2 := e.install("/bin/true", "appr2/tool")
	if err := e.run(p2, runOpt{uid: 1000}); !isEPERM(err) {
		t.Fatalf("the two-approver program before any approval: %v", err)
	}
	var req2 localapi.Request
	e.waitFor("the second request", func() bool {
		rs, _ := e.client().Requests(context.Background())
		for _, r := range rs {
			if r.Path == p2 {
				req2 = r
			}
		}
		return req2.ID != 0
	})
	if req2.Approvers != 2 {
		t.Errorf("the request asks %d approvers, want the rule's 2", req2.Approvers)
	}
	if out, err := e.cli(1000, "request", strconv.FormatInt(req2.ID, 10), "--reason", "needs two"); err != nil {
		t.Fatalf("submit: %v %s", err, out)
	}
	var creq store.Request
	e.waitFor("the second request on the console", func() bool {
		rs, _ := st.Requests(context.Background(), store.Pending)
		if len(rs) == 1 {
			creq = rs[0]
		}
		return len(rs) == 1
	})
	if creq.ApprovalsNeeded != 2 {
		t.Errorf("the console needs %d approvals, want 2", creq.ApprovalsNeeded)
	}
	vote := func(token string) int {
		return post(token, fmt.Sprintf("/v1/admin/requests/%d/decide", creq.ID), server.DecideRequest{Approve: true})
	}
	if code := vote(approver); code != 200 {
		t.Fatalf("ann's vote: %d", code)
	}
	if code := vote(approver); code != http.StatusConflict {
		t.Errorf("ann's second vote: %d, want 409", code)
	}
	time.Sleep(500 * time.Millisecond)
	if r, _ := e.client().Request(context.Background(), req2.ID); r.State != "submitted" {
		t.Errorf("after one approval of two the request is %s", r.State)
	}
	if code := vote(bob); code != 200 {
		t.Fatalf("bob's vote: %d", code)
	}
	e.waitFor("the second approval's grant on the machine", func() bool { return e.granted(req2.ID) })
	if err := e.run(p2, runOpt{uid: 1000}); err != nil {
		t.Errorf("the program approved by two: %v", err)
	}

	// Policy from the centre: revision 2, uploaded and assigned to every
	// machine, reaches gatehoused through the sync, signed for this
	// machine, and takes effect; the console learns the revision it runs.
	os.MkdirAll(filepath.Join(e.mnt, "pushed"), 0o755)
	pushed := e.install("/bin/true", "pushed/tool")
	if err := e.run(pushed, runOpt{uid: 1000}); err != nil {
		t.Fatalf("pushed/tool before the new policy: %v", err)
	}
	rev2 := strings.ReplaceAll(fmt.Sprintf(e2ePolicy, 2), "MNT", e.mnt)
	rev2 = strings.Replace(rev2, "rules:\n", "  - name: pushed\n    definitions: [{path: {starts_with: "+e.mnt+"/pushed/}}]\nrules:\n  - {group: pushed, action: deny}\n", 1)
	if code := post(admin, "/v1/admin/policies", server.PolicyUpload{Name: "fleet", YAML: "id: broken\nrevision: 3\nrules: [{group: none, action: deny}]\n"}); code != http.StatusBadRequest {
		t.Errorf("a policy with lint errors: %d, want 400", code)
	}
	if code := post(admin, "/v1/admin/policies", server.PolicyUpload{Name: "fleet", YAML: rev2}); code != 200 {
		t.Fatalf("upload: %d", code)
	}
	if code := post(admin, "/v1/admin/assignments", server.AssignRequest{Target: "*", Policy: "fleet"}); code != 200 {
		t.Fatalf("assign: %d", code)
	}
	pushedAt := time.Now()
	e.waitFor("revision 2 on the machine", func() bool {
		st, err := e.client().Status(context.Background())
		return err == nil && st.PolicyRevision == 2
	})
	t.Logf("console assignment → policy running on the machine: %v", time.Since(pushedAt))
	if err := e.run(pushed, runOpt{uid: 1000}); !isEPERM(err) {
		t.Errorf("pushed/tool under the pushed policy: %v, want EPERM", err)
	}
	e.waitFor("the console to know revision 2 runs", func() bool {
		ms, _ := st.Machines(context.Background())
		return len(ms) == 1 && ms[0].PolicyRevision == 2
	})
	// A tampered policy — revision 3, its signature not the console's — is
	// refused however it arrives (here as root); revision 2 stays.
	tampered := strings.Replace(rev2, "revision: 2", "revision: 3", 1)
	if _, err := e.client().ApplyConsolePolicy(context.Background(), localapi.ConsolePolicy{Revision: 3, Body: []byte(tampered), Signature: bytes.Repeat([]byte{7}, 64)}); err == nil {
		t.Error("a policy with a forged signature was applied")
	}
	if st, _ := e.client().Status(context.Background()); st.PolicyRevision != 2 {
		t.Errorf("after the forged policy the machine runs revision %d, want 2", st.PolicyRevision)
	}

	// The console rotates its signing key: the next approval, signed by
	// the new key, reaches the machine (gatehoused took the key, announced
	// with the one it pinned), and both gatehoused and the sync keep it.
	if code := post(admin, "/v1/admin/signing-key/rotate", nil); code != 200 {
		t.Fatalf("rotate: %d", code)
	}
	p3 := e.install("/bin/true", "appr/tool3")
	if err := e.run(p3, runOpt{uid: 1000}); !isEPERM(err) {
		t.Fatalf("a third approval program: %v", err)
	}
	req3 := e.onlyRequest(p3)
	if out, err := e.cli(1000, "request", strconv.FormatInt(req3.ID, 10), "--reason", "after the rotation"); err != nil {
		t.Fatalf("submit: %v %s", err, out)
	}
	var creq3 store.Request
	e.waitFor("the third request on the console", func() bool {
		rs, _ := st.Requests(context.Background(), store.Pending)
		if len(rs) == 1 {
			creq3 = rs[0]
		}
		return len(rs) == 1
	})
	if code := post(approver, fmt.Sprintf("/v1/admin/requests/%d/decide", creq3.ID), server.DecideRequest{Approve: true}); code != 200 {
		t.Fatalf("decide: %d", code)
	}
	e.waitFor("the grant signed by the rotated key", func() bool { return e.granted(req3.ID) })
	if pinned, err := enforcer.ReadConsoleIdentity(filepath.Join(e.dir, "db", "console.json")); err != nil || len(pinned.SigningKeys) != 2 || !c.CA.SigningPublic().Equal(ed25519.PublicKey(pinned.SigningKeys[0])) {
		t.Errorf("gatehoused pins %d keys after the rotation (%v), want the new one first", len(pinned.SigningKeys), err)
	}
	e.waitFor("the sync to keep the new key", func() bool {
		b, _ := os.ReadFile(filepath.Join(e.dir, "sync", "identity.json"))
		var id struct {
			SigningKeys [][]byte `json:"signing_keys"`
		}
		return json.Unmarshal(b, &id) == nil && len(id.SigningKeys) == 2
	})
}

// enrollAndSync enrolls the running gatehoused with the console at url
// (`gatehoused enroll`, as root) and runs the real sync service as the
// sync user, nobody, until the test ends (its log then goes to the test's).
func (e *env) enrollAndSync(url, token string) {
	t := e.t
	t.Helper()
	syncDir := filepath.Join(e.dir, "sync")
	os.MkdirAll(syncDir, 0o755)
	os.Chown(syncDir, 65534, 65534)
	identity := filepath.Join(syncDir, "identity.json")
	out, err := exec.Command(bins.daemon, "enroll", "--config", filepath.Join(e.dir, "gatehoused.yaml"), "--identity", identity,
		"--hostname", "e2e-machine", url, token).CombinedOutput()
	if err != nil {
		t.Fatalf("gatehoused enroll: %v\n%s", err, out)
	}
	if fi, err := os.Stat(identity); err != nil || fi.Mode().Perm() != 0o600 || fi.Sys().(*syscall.Stat_t).Uid != 65534 {
		t.Fatalf("the sync identity: %v %v, want 0600 owned by nobody", fi.Mode(), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	syncLog := &testbus.Log{}
	sync := exec.CommandContext(ctx, bins.cli, "sync", "--identity", identity, "--socket", e.socket())
	sync.Dir = "/"
	sync.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	sync.Stdout, sync.Stderr = syncLog, syncLog
	if err := sync.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); sync.Wait(); t.Logf("sync log:\n%s", syncLog.String()) })
}

// granted reports whether a grant made for request id is in place.
func (e *env) granted(id int64) bool {
	gs, err := e.client().Grants(context.Background())
	if err != nil {
		return false
	}
	for _, g := range gs {
		if g.RequestID == id {
			return true
		}
	}
	return false
}

func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	e.waitWithin(what, 20*time.Second, cond)
}

func (e *env) waitWithin(what string, d time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s\n%s", what, e.log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
