package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/gatehouse/gatehouse/console/consoletest"
	"github.com/gatehouse/gatehouse/console/server"
)

// mailbox is a real SMTP server (go-smtp) on loopback keeping what it is
// sent.
type mailbox struct {
	mu   sync.Mutex
	msgs []string
}

func (m *mailbox) NewSession(*smtp.Conn) (smtp.Session, error) { return &mailSession{box: m}, nil }

type mailSession struct {
	box *mailbox
	to  []string
}

func (s *mailSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}
func (s *mailSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.box.mu.Lock()
	s.box.msgs = append(s.box.msgs, "To-Envelope: "+strings.Join(s.to, ",")+"\r\n"+string(b))
	s.box.mu.Unlock()
	return err
}
func (s *mailSession) Reset()        {}
func (s *mailSession) Logout() error { return nil }

func (m *mailbox) all() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.msgs...)
}

// hook is a webhook receiver keeping the bodies; it fails the first
// failFirst calls.
type hook struct {
	mu        sync.Mutex
	bodies    [][]byte
	failFirst int
	calls     int
}

func (h *hook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	if h.calls <= h.failFirst {
		http.Error(w, "down", http.StatusBadGateway)
		return
	}
	h.bodies = append(h.bodies, b)
}

func (h *hook) got() [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([][]byte(nil), h.bodies...)
}

// Every new request reaches the approvers' webhooks in their formats and
// their e-mail, with a link to it; a webhook that is down gets it once it
// is back.
func TestApproversHearOfNewRequests(t *testing.T) {
	box := &mailbox{}
	ms := smtp.NewServer(box)
	ms.Domain, ms.AllowInsecureAuth = "localhost", true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go ms.Serve(ln)
	defer ms.Close()
	for _, backend := range consoletest.Backends {
		t.Run(backend, func(t *testing.T) {
			cc := consoletest.On(t, backend, t.TempDir(), server.Options{PublicURL: "https://console.example:8443", NotifyRetry: 100 * time.Millisecond,
				SMTP: &server.SMTP{Addr: ln.Addr().String(), From: "gatehouse@example.com"}})
			c := &console{Console: cc, t: t, st: cc.Store, ca: cc.CA, tokens: map[string]string{}}
			for name, role := range map[string]string{"root": "admin", "ann": "approver"} {
				c.tokens[name] = cc.APIToken(t, name, role)
			}
			hooks := map[string]*hook{"slack": {}, "teams": {}, "json": {failFirst: 2}}
			for format, h := range hooks {
				srv := httptest.NewServer(h)
				defer srv.Close()
				if code := c.admin("root", "POST", "/v1/admin/notifiers", server.NotifierRequest{Kind: "webhook", Format: format, Target: srv.URL}, nil); code != 200 {
					t.Fatalf("add %s webhook: %d", format, code)
				}
			}
			if code := c.admin("root", "POST", "/v1/admin/notifiers", server.NotifierRequest{Kind: "email", Target: "Approvers <approvers@example.com>"}, nil); code != 200 {
				t.Fatalf("add e-mail: %d", code)
			}
			for _, bad := range []server.NotifierRequest{{Kind: "pager", Target: "x"}, {Kind: "webhook", Format: "xml", Target: "https://x"}, {Kind: "webhook", Format: "json", Target: "file:///etc/passwd"}, {Kind: "email", Target: "not an address"}} {
				if code := c.admin("root", "POST", "/v1/admin/notifiers", bad, nil); code != 400 {
					t.Errorf("%+v: %d, want 400", bad, code)
				}
			}
			if code := c.admin("ann", "POST", "/v1/admin/notifiers", server.NotifierRequest{Kind: "webhook", Format: "json", Target: "https://x"}, nil); code != 403 {
				t.Errorf("an approver adds a webhook: %d", code)
			}
			cl, _ := c.machine("mac-7")
			before := len(box.all())
			id := upload(t, cl, 1, 2)
			link := fmt.Sprintf("https://console.example:8443/#/requests/%d", id)
			deadline := time.Now().Add(10 * time.Second)
			for time.Now().Before(deadline) && (len(hooks["slack"].got()) == 0 || len(hooks["teams"].got()) == 0 || len(hooks["json"].got()) == 0 || len(box.all()) == before) {
				time.Sleep(20 * time.Millisecond)
			}
			var slack struct{ Text string }
			if b := hooks["slack"].got(); len(b) != 1 || json.Unmarshal(b[0], &slack) != nil || !strings.Contains(slack.Text, "<"+link+"|Approve or deny>") || !strings.Contains(slack.Text, "alice on mac-7") {
				t.Errorf("slack got %q", b)
			}
			if b := hooks["teams"].got(); len(b) != 1 || !bytes.Contains(b[0], []byte(`"contentType":"application/vnd.microsoft.card.adaptive"`)) || !bytes.Contains(b[0], []byte(`"url":"`+link+`"`)) {
				t.Errorf("teams got %s", b)
			}
			var generic struct {
				Event   string
				URL     string
				Request server.RequestWire
			}
			if b := hooks["json"].got(); len(b) != 1 || json.Unmarshal(b[0], &generic) != nil || generic.URL != link || generic.Request.Path != "/opt/tool" || generic.Request.ApprovalsNeeded != 2 {
				t.Errorf("json got %s (after %d calls: two failed first)", b, hooks["json"].calls)
			}
			mails := box.all()[before:]
			if len(mails) != 1 || !strings.Contains(mails[0], "To-Envelope: approvers@example.com") || !strings.Contains(mails[0], "Subject: Approval request: alice on mac-7") || !strings.Contains(mails[0], link) {
				t.Errorf("mail %q", mails)
			}
			// The same upload again is the same request: nobody hears twice.
			upload(t, cl, 1, 2)
			time.Sleep(300 * time.Millisecond)
			if n := len(hooks["slack"].got()); n != 1 {
				t.Errorf("slack heard %d times, want once", n)
			}
		})
	}
}
