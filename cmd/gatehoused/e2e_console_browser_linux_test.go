//go:build linux

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/console/consoletest"
	"github.com/gatehouse/gatehouse/console/server"
)

// TestE2EConsoleBrowserApproval: a program blocked by the real gatehoused,
// its request submitted by the user, approved by an approver clicking
// Approve in real Chromium on the console's page, runs on the machine.
func TestE2EConsoleBrowserApproval(t *testing.T) {
	node, frontendDir := consoletest.Browser(t)
	e := newEnv(t)
	c := consoletest.Start(t, filepath.Join(e.dir, "console"), server.Options{})
	const password = "correct horse battery staple"
	if err := server.AddUser(context.Background(), c.Store, "ann", "approver", password, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	e.config = "sync_user: nobody\n"
	e.start()
	e.enrollAndSync(c.URL, c.EnrollToken(t, 1))

	p := e.install("/bin/true", "appr/browser-tool")
	if err := e.run(p, runOpt{uid: 1000}); !isEPERM(err) {
		t.Fatalf("the approval program before any approval: %v, want EPERM", err)
	}
	req := e.onlyRequest(p)
	if out, err := e.cli(1000, "request", strconv.FormatInt(req.ID, 10), "--reason", "needed for the audit"); err != nil {
		t.Fatalf("submit: %v %s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "console-e2e/")
	cmd.Dir = frontendDir
	cmd.Env = append(os.Environ(), "CONSOLE_URL="+c.URL, "USER_NAME=ann", "PASSWORD="+password, "REQUEST_PATH="+p)
	clicked := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the browser: %v\n%s", err, out)
	}
	e.waitFor("the grant from the browser's approval", func() bool { return e.granted(req.ID) })
	t.Logf("browser session (sign-in, approve) and the grant: %v", time.Since(clicked))
	if err := e.run(p, runOpt{uid: 1000}); err != nil {
		t.Fatalf("the program approved in the browser: %v", err)
	}
	r, _ := e.client().Request(context.Background(), req.ID)
	if r.DecidedBy != "console: ann: approved from the browser" {
		t.Errorf("decided by %q", r.DecidedBy)
	}
}
