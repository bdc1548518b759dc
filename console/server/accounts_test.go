package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/console/consoletest"
	"github.com/gatehouse/gatehouse/console/server"
)

// browser is a person's browser: cookies kept, the CSRF token sent back
// when it has one.
type browser struct {
	t    *testing.T
	c    *consoletest.Console
	hc   *http.Client
	csrf string
}

func newBrowser(t *testing.T, c *consoletest.Console) *browser {
	jar, _ := cookiejar.New(nil)
	hc := c.HTTP()
	hc.Jar = jar
	return &browser{t: t, c: c, hc: hc}
}

func (b *browser) call(method, path string, body any, out any) int {
	b.t.Helper()
	var rd *bytes.Reader
	if body != nil {
		raw, _ := json.Marshal(body)
		rd = bytes.NewReader(raw)
	} else {
		rd = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, b.c.URL+path, rd)
	if b.csrf != "" {
		req.Header.Set("X-CSRF-Token", b.csrf)
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

func (b *browser) signIn(name, password string) int {
	b.t.Helper()
	var s server.SessionWire
	code := b.call("POST", "/v1/session", server.SignIn{Name: name, Password: password}, &s)
	if code == 200 {
		b.csrf = s.CSRF
	}
	return code
}

// A person signs in with a password (argon2id), gets a Secure HttpOnly
// SameSite=Strict cookie, works through the admin API with it — changes
// only with the CSRF token, within the role — and signs out; unknown names
// and wrong passwords get the same answer; five failures in a row lock the
// account, and a new password unlocks it.
func TestPeopleSignInWithPasswordsAndSessions(t *testing.T) {
	for _, backend := range consoletest.Backends {
		t.Run(backend, func(t *testing.T) {
			c := consoletest.On(t, backend, t.TempDir(), server.Options{})
			ctx := context.Background()
			for name, role := range map[string]string{"ann": "approver", "root": "admin"} {
				if err := server.AddUser(ctx, c.Store, name, role, "correct horse battery", "test", time.Now()); err != nil {
					t.Fatal(err)
				}
			}
			if err := server.AddUser(ctx, c.Store, "bob", "approver", "too short", "test", time.Now()); err == nil {
				t.Error("a 5-character password was taken")
			}
			b := newBrowser(t, c)
			if code := b.call("GET", "/v1/admin/requests", nil, nil); code != 401 {
				t.Errorf("not signed in: %d, want 401", code)
			}
			var wrong, unknown map[string]string
			b.call("POST", "/v1/session", server.SignIn{Name: "ann", Password: "nope"}, &wrong)
			b.call("POST", "/v1/session", server.SignIn{Name: "nobody", Password: "nope"}, &unknown)
			if wrong["error"] == "" || wrong["error"] != unknown["error"] {
				t.Errorf("a wrong password says %q, an unknown name %q: they must say the same", wrong["error"], unknown["error"])
			}
			if code := b.signIn("ann", "correct horse battery"); code != 200 {
				t.Fatalf("sign in: %d", code)
			}
			resp, _ := b.hc.Get(c.URL + "/v1/session")
			resp.Body.Close()
			cookies := b.hc.Jar.Cookies(resp.Request.URL)
			if len(cookies) != 1 || cookies[0].Name != "__Host-gatehouse-session" {
				t.Fatalf("cookies %v", cookies)
			}
			var rs []server.RequestWire
			if code := b.call("GET", "/v1/admin/requests", nil, &rs); code != 200 {
				t.Errorf("an approver lists requests: %d", code)
			}
			if code := b.call("POST", "/v1/admin/enroll-tokens", server.EnrollTokenRequest{TTL: "1h"}, nil); code != 403 {
				t.Errorf("an approver makes an enrollment token through the pages: %d, want 403", code)
			}
			csrf := b.csrf
			b.csrf = ""
			if code := b.call("POST", "/v1/admin/requests/1/decide", server.DecideRequest{Approve: true}, nil); code != 403 {
				t.Errorf("a change without the CSRF token: %d, want 403", code)
			}
			b.csrf = csrf
			if code := b.call("DELETE", "/v1/session", nil, nil); code != 200 {
				t.Errorf("sign out: %d", code)
			}
			if code := b.call("GET", "/v1/admin/requests", nil, nil); code != 401 {
				t.Errorf("after signing out: %d, want 401", code)
			}
			// Lock-out.
			for i := range 5 {
				code := b.signIn("root", "wrong password")
				if want := map[bool]int{true: 429, false: 401}[i == 4]; code != want {
					t.Errorf("failure %d: %d, want %d", i+1, code, want)
				}
			}
			var locked map[string]string
			if code := b.call("POST", "/v1/session", server.SignIn{Name: "root", Password: "correct horse battery"}, &locked); code != 429 || !strings.Contains(locked["error"], "locked") {
				t.Errorf("the right password on a locked account: %d %q", code, locked["error"])
			}
			if err := c.Store.SetPassword(ctx, "root", server.HashPassword("another long password"), "test", time.Now()); err != nil {
				t.Fatal(err)
			}
			if code := b.signIn("root", "another long password"); code != 200 {
				t.Errorf("after a new password: %d", code)
			}
			log, _ := c.Store.Audit(ctx)
			seen := map[string]bool{}
			for _, e := range log {
				seen[e.Action] = true
			}
			for _, a := range []string{"sign-in", "lock-out", "user"} {
				if !seen[a] {
					t.Errorf("no %q in the audit", a)
				}
			}
		})
	}
}

// The pages come with a policy that allows nothing from elsewhere and no
// framing; the queue's version moves when a request is uploaded, waking a
// page's long poll.
func TestThePagesAndTheirLiveQueue(t *testing.T) {
	c := newConsole(t, "sqlite")
	resp, err := c.HTTP().Get(c.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("the page's headers %v", resp.Header)
	}
	if resp, _ := c.HTTP().Get(c.URL + "/../console.db"); resp != nil && resp.StatusCode != 404 {
		t.Errorf("a path outside the pages: %d", resp.StatusCode)
	}
	var v struct{ Version uint64 }
	c.admin("aud", "GET", "/v1/admin/requests/changes?after=0&wait=1s", nil, &v)
	cl, _ := c.machine("m")
	got := make(chan uint64, 1)
	go func() {
		var w struct{ Version uint64 }
		c.admin("aud", "GET", fmt.Sprintf("/v1/admin/requests/changes?after=%d&wait=9s", v.Version), nil, &w)
		got <- w.Version
	}()
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	upload(t, cl, 1, 1)
	select {
	case nv := <-got:
		if nv == v.Version {
			t.Errorf("the version did not move")
		}
		t.Logf("upload → the page's poll: %v", time.Since(start))
	case <-time.After(5 * time.Second):
		t.Fatal("an upload did not wake the page's poll")
	}
}

// An account with a second factor signs in with its one-time code too:
// without one the console asks for it (not a failure), a code works once,
// a wrong one is refused.
func TestASecondFactorIsAskedForAndWorksOnce(t *testing.T) {
	c := consoletest.Start(t, t.TempDir(), server.Options{})
	ctx := context.Background()
	if err := server.AddUser(ctx, c.Store, "ann", "approver", "correct horse battery", "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	secret, uri := server.NewTOTPSecret("ann")
	if !strings.HasPrefix(uri, "otpauth://totp/Gatehouse:ann?") || !strings.Contains(uri, "secret="+secret) {
		t.Errorf("uri %s", uri)
	}
	if err := c.Store.SetTOTP(ctx, "ann", secret, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, c)
	var asked map[string]any
	if code := b.call("POST", "/v1/session", server.SignIn{Name: "ann", Password: "correct horse battery"}, &asked); code != 401 || asked["code_required"] != true {
		t.Fatalf("without a code: %d %v", code, asked)
	}
	if code := b.call("POST", "/v1/session", server.SignIn{Name: "ann", Password: "correct horse battery", Code: "000000"}, nil); code != 401 {
		t.Errorf("a wrong code: %d", code)
	}
	now, _ := server.TOTPCode(secret, time.Now())
	if code := b.call("POST", "/v1/session", server.SignIn{Name: "ann", Password: "correct horse battery", Code: now}, nil); code != 200 {
		t.Fatalf("the right code: %d", code)
	}
	if code := newBrowser(t, c).call("POST", "/v1/session", server.SignIn{Name: "ann", Password: "correct horse battery", Code: now}, nil); code != 401 {
		t.Errorf("the same code again: %d, want 401", code)
	}
	// The sign-in between cleared the wrong code's failure; the code used
	// again is one.
	if u, _ := c.Store.GetUser(ctx, "ann"); u.Failures != 1 {
		t.Errorf("%d failures counted, want 1 (the code used again)", u.Failures)
	}
}
