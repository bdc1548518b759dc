package server_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/console/consoletest"
	"github.com/gatehouse/gatehouse/console/server"
	"github.com/gatehouse/gatehouse/console/store"
	"github.com/gatehouse/gatehouse/offline"
)

// TestPagesInChromium runs frontend/console-tests in real Chromium
// (playwright-core, Debian's chromium) against a real console: sign-in, the
// live queue, an approval, the help desk's code, an auditor's view on a
// phone; then checks here what the pages did.
func TestPagesInChromium(t *testing.T) {
	node, frontendDir := consoletest.Browser(t)
	idp := newProvider(t, "gatehouse-console", "s3cret") // single sign-on beside the passwords
	idp.as("sso@example.com")
	c := consoletest.Start(t, t.TempDir(), server.Options{MaxWait: 10 * time.Second,
		OIDC: &server.OIDC{Issuer: idp.URL, ClientID: "gatehouse-console", ClientSecret: "s3cret"}})
	ctx := context.Background()
	const password = "correct horse battery staple"
	for name, role := range map[string]string{"ann": "approver", "desk": "helpdesk", "aud": "auditor", "root": "admin"} {
		if err := server.AddUser(ctx, c.Store, name, role, password, "test", time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if err := server.AddUser(ctx, c.Store, "sso@example.com", "auditor", "", "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	totp, _ := server.NewTOTPSecret("root") // root signs in with a one-time code too
	if err := c.Store.SetTOTP(ctx, "root", totp, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	secret := offline.NewSecret()
	cl, id := c.Enroll(t, "mac-e2e", []byte(secret.Export()))
	if err := c.Store.ReportRevision(ctx, id.MachineID, 3); err != nil {
		t.Fatal(err)
	}
	if err := cl.ReportVersions(ctx, server.VersionsReport{Daemon: "1.4.0", Sync: "1.4.0-rc1", Agents: []store.AgentVersion{
		{User: "alice", Version: "1.3.9", LastSeen: time.Now()}, {User: "bob", Version: "1.4.0", LastSeen: time.Now()}}}); err != nil {
		t.Fatal(err)
	}
	day := time.Now().Add(-24 * time.Hour)
	if _, err := cl.UploadEvents(ctx, []server.EventWire{
		{ID: 1, Time: day, Kind: "exec", Action: "deny", UID: 501, User: "alice", Path: "/opt/blocked/tool", Rule: 2},
		{ID: 2, Time: day.Add(time.Minute), Kind: "exec", Action: "allow", Allowed: true, UID: 502, User: "bob", Path: "/usr/bin/true", Rule: 1},
		{ID: 3, Time: time.Now(), Kind: "exec", Action: "deny", UID: 501, User: "alice", Path: "/opt/blocked/other", Rule: 2},
		// A program first seen allowed a month ago and not recorded since
		// (allowed without audit): what-if replays it as first seen.
		{ID: 4, Time: time.Now().Add(-30 * 24 * time.Hour), Kind: "program", Action: "allow", Allowed: true, UID: 503, User: "carol",
			Path: "/opt/one/quiet", SHA256: strings.Repeat("1", 64),
			Detail: []byte(`{"app_type":"binary","detail":"{\"type\":\"binary\",\"path\":\"/opt/one/quiet\",\"sha256\":\"` + strings.Repeat("1", 64) + `\"}"}`)},
	}); err != nil {
		t.Fatal(err)
	}
	var next atomic.Int64
	upload := func() error {
		n := next.Add(1)
		_, err := cl.UploadRequest(ctx, server.RequestUpload{EndpointID: n, Created: time.Now(), UID: 501, User: "alice", Kind: "approval",
			Path: fmt.Sprintf("/Applications/Tool %d.app/Contents/MacOS/tool", n), SHA256: "ab12cd34", Reason: "quarterly report",
			Facts: []byte(`{"publisher":"Example Corp","team_id":"EXAMPLE123","args":["--run"]}`), PolicyRevision: 3, ApprovalsNeeded: 1})
		return err
	}
	if err := upload(); err != nil {
		t.Fatal(err)
	}
	helper := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/upload":
			if err := upload(); err != nil {
				http.Error(w, err.Error(), 500)
			}
		case "/totp": // what root's authenticator app shows now
			code, _ := server.TOTPCode(totp, time.Now())
			w.Write([]byte(code))
		default:
			http.NotFound(w, r)
		}
	}))
	defer helper.Close()
	codeFile := filepath.Join(t.TempDir(), "code")
	cctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, node, "--test", "console-tests/")
	cmd.Dir = frontendDir
	cmd.Env = append(os.Environ(), "CONSOLE_URL="+c.URL, "PASSWORD="+password, "HELPER_URL="+helper.URL, "CODE_FILE="+codeFile)
	out, err := cmd.CombinedOutput()
	t.Logf("node --test console-tests/:\n%s", out)
	if err != nil {
		t.Fatalf("the page tests failed: %v", err)
	}
	// What the pages did, as the console recorded it.
	rs, _ := c.Store.Requests(ctx, store.Approved)
	if len(rs) != 1 {
		t.Fatalf("%d requests approved, want the one ann approved", len(rs))
	}
	if vs, _ := c.Store.Votes(ctx, rs[0].ID); len(vs) != 1 || vs[0].Voter != "ann" || vs[0].Note != "ok for the quarter" {
		t.Errorf("votes %+v", vs)
	}
	if ds, _ := c.Store.Decisions(ctx, id.MachineID, 0, 10); len(ds) != 1 || !ds[0].Approve {
		t.Errorf("the machine's decisions %+v", ds)
	}
	// The policy the admin edited: revisions 1 and 2, and 3 rolled back to
	// 1's text; assigned to tag:lab.
	hist, _ := c.Store.Policies(ctx, "fleet")
	if len(hist) != 3 || hist[0].Revision != 3 || !strings.Contains(string(hist[0].Body), "/opt/one/") {
		t.Errorf("the policy's history %+v", hist)
	}
	if as, _ := c.Store.Assignments(ctx); len(as) != 1 || as[0].Target != "tag:lab" || as[0].By != "root" {
		t.Errorf("assignments %+v", as)
	}
	code, err := os.ReadFile(codeFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := offline.Verify(secret, offline.Challenge{Machine: "mac-e2e", Revision: 3, RequestCode: "191279", Day: offline.DayOf(time.Now())}, strings.TrimSpace(string(code))); err != nil {
		t.Errorf("the machine refuses the code the help desk read from the page: %v", err)
	}
}
