//go:build linux

package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/console/server"
	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/request"
)

// consoleProc is the real gatehouse-console binary serving a data
// directory on a fixed address, so that it can be killed and started again
// where the machine expects it.
type consoleProc struct {
	t          *testing.T
	data, addr string
	cmd        *exec.Cmd
	done       chan error
}

func startConsoleProc(t *testing.T, data, addr string) *consoleProc {
	t.Helper()
	c := &consoleProc{t: t, data: data, addr: addr}
	c.start()
	t.Cleanup(func() { c.kill() })
	return c
}

func (c *consoleProc) start() {
	c.t.Helper()
	cmd := exec.Command(bins.console, "serve", "--data", c.data, "--listen", c.addr, "--name", "127.0.0.1")
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	line := make(chan string, 1)
	go func() {
		r := bufio.NewReader(out)
		l, _ := r.ReadString('\n')
		line <- l
		io.Copy(io.Discard, r)
	}()
	select {
	case l := <-line:
		if !strings.Contains(l, "listening on https://"+c.addr) {
			cmd.Process.Kill()
			c.t.Fatalf("gatehouse-console serve said %q", l)
		}
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		c.t.Fatal("gatehouse-console serve did not start within 20 s")
	}
	c.cmd, c.done = cmd, make(chan error, 1)
	go func() { c.done <- cmd.Wait() }()
}

// kill ends the console with SIGKILL: no shutdown, no flush.
func (c *consoleProc) kill() {
	if c.cmd == nil {
		return
	}
	c.cmd.Process.Signal(syscall.SIGKILL)
	<-c.done
	c.cmd = nil
}

// admin runs a gatehouse-console command on the data directory and returns
// what it printed.
func (c *consoleProc) admin(args ...string) string {
	c.t.Helper()
	out, err := exec.Command(bins.console, append(args, "--data", c.data)...).Output()
	if err != nil {
		c.t.Fatalf("gatehouse-console %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// call calls the admin API with token; out may be nil. It returns the
// status, 0 when the console cannot be reached.
func (c *consoleProc) call(token, method, path string, in, out any) int {
	c.t.Helper()
	pemCA, err := os.ReadFile(filepath.Join(c.data, "pki", "ca.pem"))
	if err != nil {
		c.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pemCA)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	return callJSON(hc, method, "https://"+c.addr+path, token, in, out)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestE2EConsoleOutage: the real console binary is killed (SIGKILL) and
// started again around the flows, and nothing is lost: a request uploaded
// before the kill is decided after it and the grant reaches the machine; with
// the console away an approval_offline request falls back to the offline
// codes after console_fallback, the help desk answers from the escrowed
// secret once the console is back, and every audit event the machine made
// meanwhile reaches the console once.
func TestE2EConsoleOutage(t *testing.T) {
	e := newEnv(t)
	con := startConsoleProc(t, filepath.Join(e.dir, "console"), freeAddr(t))
	ann := con.admin("token", "create", "--name", "ann", "--role", "approver")
	desk := con.admin("token", "create", "--name", "desk", "--role", "helpdesk")
	aud := con.admin("token", "create", "--name", "aud", "--role", "auditor")
	e.config = "sync_user: nobody\nconsole_fallback: 2s\n"
	e.start()
	e.enrollAndSync("https://"+con.addr, con.admin("token", "enroll"))
	ctx := context.Background()

	// 1. Uploaded, then the console is killed before anyone decides.
	p := e.install("/bin/true", "appr/tool")
	if err := e.run(p, runOpt{uid: 1000}); !isEPERM(err) {
		t.Fatalf("the approval program: %v, want EPERM", err)
	}
	req := e.onlyRequest(p)
	if out, err := e.cli(1000, "request", strconv.FormatInt(req.ID, 10), "--reason", "before the outage"); err != nil {
		t.Fatalf("submit: %v %s", err, out)
	}
	var pending []server.RequestWire
	e.waitFor("the request on the console", func() bool {
		pending = nil
		con.call(ann, "GET", "/v1/admin/requests?state=pending", nil, &pending)
		return len(pending) == 1
	})
	con.kill()
	con.start()
	if code := con.call(ann, "POST", fmt.Sprintf("/v1/admin/requests/%d/decide", pending[0].ID), server.DecideRequest{Approve: true, Note: "after the restart"}, nil); code != 200 {
		t.Fatalf("decide after the restart: %d", code)
	}
	restarted := time.Now()
	e.waitForLong("the grant on the machine after the console's restart", func() bool { return e.granted(req.ID) })
	t.Logf("decided after a SIGKILL and restart; the grant reached the machine %v later (the sync's backoff)", time.Since(restarted))
	if err := e.run(p, runOpt{uid: 1000}); err != nil {
		t.Fatalf("the approved program: %v", err)
	}

	// 2. The console away: approval_offline falls back to the codes.
	con.kill()
	off := e.install("/bin/true", "offline/tool")
	if err := e.run(off, runOpt{uid: 1000}); !isEPERM(err) {
		t.Fatalf("the approval_offline program: %v, want EPERM", err)
	}
	oreq := e.onlyRequest(off)
	e.waitForLong("the offline route", func() bool {
		r, err := e.client().Request(ctx, oreq.ID)
		return err == nil && r.Route == request.RouteOffline
	})
	for range 3 { // more events while the console is away
		e.run(off, runOpt{uid: 1000})
	}
	con.start()
	var resp struct{ Code string }
	var machines []server.MachineWire
	con.call(desk, "GET", "/v1/admin/machines", nil, &machines)
	if len(machines) != 1 {
		t.Fatalf("machines %+v", machines)
	}
	if code := con.call(desk, "POST", "/v1/admin/offline-code", server.OfflineCodeRequest{MachineID: machines[0].ID, RequestCode: oreq.RequestCode,
		Revision: oreq.PolicyRevision, Reason: "user on the phone, console was away"}, &resp); code != 200 || resp.Code == "" {
		t.Fatalf("the help desk's code: %d %+v", code, resp)
	}
	if out, err := e.cli(1000, "request", strconv.FormatInt(oreq.ID, 10), "--code", resp.Code); err != nil {
		t.Fatalf("the response code: %v %s", err, out)
	}
	if err := e.run(off, runOpt{uid: 1000}); err != nil {
		t.Fatalf("the program the help desk approved: %v", err)
	}

	// 3. Every event the machine has is on the console, once.
	local, err := e.client().Events(ctx, localapi.EventFilter{Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	var missing []int64
	e.waitForLong("every event on the console", func() bool {
		var evs []server.EventOut
		con.call(aud, "GET", "/v1/admin/events?limit=10000", nil, &evs)
		seen := map[int64]int{}
		for _, ev := range evs {
			seen[ev.EndpointID]++
			if seen[ev.EndpointID] > 1 {
				t.Fatalf("event %d is on the console twice", ev.EndpointID)
			}
		}
		missing = missing[:0]
		for _, ev := range local {
			if seen[ev.ID] == 0 {
				missing = append(missing, ev.ID)
			}
		}
		return len(missing) == 0
	})
	t.Logf("%d events on the machine, all on the console once", len(local))
}

// waitForLong is waitFor with room for the sync's backoff after an outage
// (up to 30 s between tries).
func (e *env) waitForLong(what string, cond func() bool) {
	e.t.Helper()
	e.waitWithin(what, 60*time.Second, cond)
}
