package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"net/smtp"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/console/store"
)

// Approvers hear of every new request: webhooks in a format per webhook
// (Slack, Microsoft Teams Adaptive Cards, generic JSON) and e-mail, each
// with a link to the request's page. Notifications wait in the outbox (the
// database), so none is lost to a restart or a receiver that is down:
// every node's Run sends what is due, a failure is retried with backoff,
// and after maxAttempts the console gives up and audits it.

// SMTP is how the console sends e-mail.
type SMTP struct {
	Addr     string // host:port
	From     string
	User     string // with Password: PLAIN authentication (over TLS only, as net/smtp insists)
	Password string
}

const (
	maxAttempts = 10
	jobLease    = time.Minute
	sendTimeout = 15 * time.Second
)

// retryAfter is the wait before attempt n+1 (n ≥ 1): Options.NotifyRetry
// (10 s), doubling, at most an hour.
func (s *Server) retryAfter(n int) time.Duration {
	return min(s.opt.NotifyRetry<<min(n-1, 20), time.Hour)
}

// NotifierRequest is POST /v1/admin/notifiers.
type NotifierRequest struct {
	Kind   string `json:"kind"`   // webhook, email
	Format string `json:"format"` // slack, teams, json (webhooks)
	Target string `json:"target"` // the URL, or the address
}

// NotifierWire is a notifier as listed.
type NotifierWire struct {
	ID      int64     `json:"id"`
	Kind    string    `json:"kind"`
	Format  string    `json:"format,omitempty"`
	Target  string    `json:"target"`
	Created time.Time `json:"created"`
	By      string    `json:"by"`
}

func (s *Server) addNotifier(w http.ResponseWriter, r *http.Request, who store.Token) {
	var n NotifierRequest
	if err := decode(w, r, &n); err != nil {
		s.reply(w, nil, err)
		return
	}
	switch n.Kind {
	case "webhook":
		u, err := url.Parse(n.Target)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			s.reply(w, nil, fail(http.StatusBadRequest, "target is the webhook's http(s) URL"))
			return
		}
		if n.Format != "slack" && n.Format != "teams" && n.Format != "json" {
			s.reply(w, nil, fail(http.StatusBadRequest, "format is slack, teams or json"))
			return
		}
	case "email":
		a, err := mail.ParseAddress(n.Target)
		if err != nil {
			s.reply(w, nil, fail(http.StatusBadRequest, "target is an e-mail address: %v", err))
			return
		}
		if s.opt.SMTP == nil {
			s.reply(w, nil, fail(http.StatusConflict, "this console sends no e-mail: start it with --smtp (and --smtp-from)"))
			return
		}
		n.Target, n.Format = a.Address, ""
	default:
		s.reply(w, nil, fail(http.StatusBadRequest, "kind is webhook or email"))
		return
	}
	id, err := s.st.AddNotifier(r.Context(), store.Notifier{Kind: n.Kind, Format: n.Format, Target: n.Target, By: who.Name}, s.now())
	s.reply(w, map[string]int64{"id": id}, err)
}

func (s *Server) listNotifiers(w http.ResponseWriter, r *http.Request, _ store.Token) {
	ns, err := s.st.Notifiers(r.Context())
	out := make([]NotifierWire, 0, len(ns))
	for _, n := range ns {
		out = append(out, NotifierWire{ID: n.ID, Kind: n.Kind, Format: n.Format, Target: n.Target, Created: n.Created, By: n.By})
	}
	s.reply(w, out, err)
}

func (s *Server) deleteNotifier(w http.ResponseWriter, r *http.Request, who store.Token) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.reply(w, nil, fail(http.StatusBadRequest, "the notifier id is a number"))
		return
	}
	err = s.st.DeleteNotifier(r.Context(), id, who.Name, s.now())
	s.reply(w, map[string]bool{"deleted": err == nil}, err)
}

// Run sends the notifications that are due until ctx ends: at once when a
// request is uploaded here or on another node, and every few seconds for
// retries.
func (s *Server) Run(ctx context.Context) {
	for ctx.Err() == nil {
		_, moved := s.queue.now()
		wait := 5 * time.Second
		if retry := s.sendDue(ctx); !retry.IsZero() {
			wait = min(wait, max(retry.Sub(s.now()), 10*time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case <-moved:
		case <-t.C:
		}
		t.Stop()
	}
}

// sendDue sends what is due and returns the earliest retry it scheduled
// (zero for none).
func (s *Server) sendDue(ctx context.Context) (retry time.Time) {
	for ctx.Err() == nil {
		jobs, err := s.st.ClaimJobs(ctx, s.now(), jobLease, 20)
		if err != nil {
			s.log.Error("console: notifications", "err", err)
			return retry
		}
		if len(jobs) == 0 {
			return retry
		}
		for _, j := range jobs {
			err := s.send(ctx, j)
			next := time.Time{}
			if err != nil && j.Attempts+1 < maxAttempts {
				next = s.now().Add(s.retryAfter(j.Attempts + 1))
				if retry.IsZero() || next.Before(retry) {
					retry = next
				}
			}
			if err != nil {
				s.log.Warn("console: a notification failed", "notifier", j.Notifier.ID, "request", j.RequestID, "attempt", j.Attempts+1, "err", err, "retry_at", next)
			}
			if derr := s.st.JobDone(ctx, j.ID, err, next, s.now()); derr != nil {
				s.log.Error("console: notifications", "err", derr)
			}
		}
	}
	return retry
}

// requestLink is the page of request id.
func (s *Server) requestLink(id int64) string {
	return strings.TrimRight(s.opt.PublicURL, "/") + "/#/requests/" + strconv.FormatInt(id, 10)
}

func (s *Server) send(ctx context.Context, j store.Job) error {
	r, err := s.st.GetRequest(ctx, j.RequestID)
	if err != nil {
		return err
	}
	ws, err := s.requestsToWire(ctx, []store.Request{r})
	if err != nil {
		return err
	}
	rq, link := ws[0], s.requestLink(r.ID)
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	if j.Notifier.Kind == "email" {
		return s.sendMail(j.Notifier.Target, rq, link)
	}
	body, err := json.Marshal(webhookBody(j.Notifier.Format, rq, link))
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.Notifier.Target, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("the webhook answered %s", resp.Status)
	}
	return nil
}

// summary is the one line every format starts with.
func summary(r RequestWire) string {
	return fmt.Sprintf("%s on %s asks to run %s", r.User, r.Hostname, r.Path)
}

func webhookBody(format string, r RequestWire, link string) any {
	switch format {
	case "slack":
		text := fmt.Sprintf("%s: %q. <%s|Approve or deny>", summary(r), r.Reason, link)
		return map[string]string{"text": text}
	case "teams":
		facts := []map[string]string{{"title": "Program", "value": r.Path}, {"title": "User", "value": r.User}, {"title": "Computer", "value": r.Hostname},
			{"title": "Reason", "value": r.Reason}, {"title": "Approvals needed", "value": strconv.Itoa(r.ApprovalsNeeded)}}
		card := map[string]any{
			"$schema": "http://adaptivecards.io/schemas/adaptive-card.json", "type": "AdaptiveCard", "version": "1.4",
			"body": []any{
				map[string]any{"type": "TextBlock", "text": "Approval request", "weight": "Bolder", "size": "Medium"},
				map[string]any{"type": "TextBlock", "text": summary(r), "wrap": true},
				map[string]any{"type": "FactSet", "facts": facts},
			},
			"actions": []any{map[string]any{"type": "Action.OpenUrl", "title": "Approve or deny", "url": link}},
		}
		return map[string]any{"type": "message", "attachments": []any{map[string]any{"contentType": "application/vnd.microsoft.card.adaptive", "content": card}}}
	}
	return map[string]any{"event": "request", "request": r, "url": link}
}

// sendMail sends the request to to through the console's SMTP server.
func (s *Server) sendMail(to string, r RequestWire, link string) error {
	c := s.opt.SMTP
	if c == nil {
		return errors.New("this console sends no e-mail (no --smtp)")
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "From: %s\r\nTo: %s\r\nSubject: %s\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n",
		c.From, to, mimeHeader("Approval request: "+summary(r)))
	fmt.Fprintf(&b, "%s.\r\n\r\nReason: %s\r\nProgram: %s\r\nSHA-256: %s\r\nUser: %s\r\nComputer: %s\r\nApprovals needed: %d\r\n\r\nApprove or deny: %s\r\n",
		summary(r), r.Reason, r.Path, r.SHA256, r.User, r.Hostname, r.ApprovalsNeeded, link)
	var auth smtp.Auth
	if c.User != "" {
		host, _, _ := strings.Cut(c.Addr, ":")
		auth = smtp.PlainAuth("", c.User, c.Password, host)
	}
	return smtp.SendMail(c.Addr, auth, c.From, []string{to}, b.Bytes())
}

// mimeHeader keeps a header value on one line (a path or reason with a
// newline must not start a header of its own).
func mimeHeader(v string) string {
	v = strings.NewReplacer("\r", " ", "\n", " ").Replace(v)
	return mime.QEncoding.Encode("utf-8", v)
}
