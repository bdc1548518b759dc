package enforcer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/offline"

	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/policy"
)

// pendingRequest is a prompt the hot path asks for; the request writer
// stores it off the hot path.
type pendingRequest struct {
	uid  uint32
	user string
	pid  int32
	kind string
	path string
	subj policy.Subject
	key  fileKey
	args []string
	cwd  string
	tty  string
	// machine and requestCode are the offline challenge, once stored.
	machine, requestCode string
	decision             policy.Decision
	msg                  policy.RenderedMessage
}

type coalesceKey struct {
	uid    uint32
	path   string
	sha256 string
	kind   string
}

// requestQueue stores new requests. Repeated blocked starts of the same
// program by the same user, while a request for it is still open, do not
// create new requests.
type requestQueue struct {
	e  *Engine
	ch chan pendingRequest

	mu   sync.Mutex
	open map[coalesceKey]int64 // open request id; 0 while being stored
}

func newRequestQueue(e *Engine) *requestQueue {
	return &requestQueue{e: e, ch: make(chan pendingRequest, 1024), open: map[coalesceKey]int64{}}
}

func (q *requestQueue) enqueue(p pendingRequest) {
	k := coalesceKey{p.uid, p.path, p.subj.SHA256, p.kind}
	q.mu.Lock()
	id, dup := q.open[k]
	if !dup {
		q.open[k] = 0
	}
	q.mu.Unlock()
	if dup {
		q.e.counters.requestsCoalesced.Add(1)
		if p.tty != "" && id != 0 && *q.e.cfg.TTYMessages {
			q.e.sayOnTTY(ttyMessage{tty: p.tty, text: requestText(p, id)})
		}
		return
	}
	select {
	case q.ch <- p:
	default:
		q.mu.Lock()
		delete(q.open, k)
		q.mu.Unlock()
		q.e.counters.requestsDropped.Add(1)
		q.e.record(store.Event{Kind: "request", Action: p.kind, UID: p.uid, User: p.user, Path: p.path,
			Detail: "request queue full; the request was not created (the user can run the program again)"})
	}
}

// closed forgets an open request so the next block creates a new one.
func (q *requestQueue) closed(r store.Request) {
	q.mu.Lock()
	k := coalesceKey{r.UID, r.Path, r.SHA256, r.Kind}
	if q.open[k] == r.ID {
		delete(q.open, k)
	}
	q.mu.Unlock()
}

func (q *requestQueue) run(ctx context.Context) {
	// Requests left open by an earlier run still coalesce.
	if open, err := q.e.store.ListRequests(ctx, store.RequestFilter{States: []string{localapi.StatePending, localapi.StateSubmitted}}); err == nil {
		q.mu.Lock()
		for _, r := range open {
			q.open[coalesceKey{r.UID, r.Path, r.SHA256, r.Kind}] = r.ID
		}
		q.mu.Unlock()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case p := <-q.ch:
			q.store(ctx, p)
		}
	}
}

func (q *requestQueue) store(ctx context.Context, p pendingRequest) {
	d := p.decision
	now := q.e.now()
	r := store.Request{
		Created: now, Updated: now, UID: p.uid, User: p.user, PID: p.pid, Kind: p.kind, State: localapi.StatePending,
		Path: p.path, SHA256: p.subj.SHA256, Dev: p.key.dev, Ino: p.key.ino, Args: p.args, Cwd: p.cwd, TTY: p.tty,
		Rule: d.Rule, RuleName: d.RuleName, Group: d.Group, PolicyID: d.PolicyID, PolicyRevision: d.Revision,
		Title: p.msg.Title, Body: p.msg.Body, URL: p.msg.URL, MinJustification: d.MinJustification,
		AppType: p.subj.Type.String(), Publisher: p.subj.Publisher, TeamID: p.subj.TeamID, SigningID: p.subj.SigningID,
	}
	// An offline challenge needs the secret and a machine name to bind;
	// without them the request is a plain approval request.
	if m := offline.MachineName(q.e.machine); p.kind == localapi.KindApprovalOffline && !q.e.offline.IsZero() && m != "" {
		r.Machine, r.RequestCode = m, q.freshRequestCode(ctx, now)
	}
	k := coalesceKey{p.uid, p.path, p.subj.SHA256, p.kind}
	id, err := q.e.store.AddRequest(ctx, r)
	if err != nil {
		q.mu.Lock()
		delete(q.open, k)
		q.mu.Unlock()
		q.e.log.Error("store request", "err", err, "path", p.path, "uid", p.uid)
		return
	}
	q.mu.Lock()
	q.open[k] = id
	q.mu.Unlock()
	q.e.counters.requestsCreated.Add(1)
	q.e.changed()
	q.e.record(store.Event{Kind: "request", Action: p.kind, UID: p.uid, User: p.user, PID: p.pid, Path: p.path,
		SHA256: p.subj.SHA256, RequestID: id, Rule: d.Rule, RuleName: d.RuleName, Group: d.Group,
		PolicyID: d.PolicyID, PolicyRevision: d.Revision, Detail: "request created"})
	if p.tty != "" && *q.e.cfg.TTYMessages {
		p.machine, p.requestCode = r.Machine, r.RequestCode
		q.e.sayOnTTY(ttyMessage{tty: p.tty, text: requestText(p, id)})
	}
}

// caller is who is asking over the local API, from the kernel.
type caller struct {
	uid  uint32
	pid  int32
	user string
}

func (c caller) root() bool { return c.uid == 0 }

// errForbidden and errNotFound map to 403 and 404.
var (
	errForbidden = errors.New("forbidden")
	errNotFound  = errors.New("not found")
)

// userError is a 400 with a message for the user.
type userError struct{ msg string }

func (e *userError) Error() string { return e.msg }

func (e *Engine) ownRequest(ctx context.Context, c caller, id int64) (store.Request, error) {
	r, err := e.store.GetRequest(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return r, fmt.Errorf("request %d: %w", id, errNotFound)
		}
		return r, err
	}
	// A user sees only their own requests; saying "not found" rather than
	// "forbidden" does not reveal that another user's request exists.
	if !c.root() && r.UID != c.uid {
		return r, fmt.Errorf("request %d: %w", id, errNotFound)
	}
	return r, nil
}

// answer handles a user's reply: Continue on a warning, a reason on a
// justification, or the submission of an approval request.
func (e *Engine) answer(ctx context.Context, c caller, id int64, a localapi.Answer) (localapi.AnswerResult, error) {
	r, err := e.ownRequest(ctx, c, id)
	if err != nil {
		return localapi.AnswerResult{}, err
	}
	if r.UID != c.uid {
		return localapi.AnswerResult{}, fmt.Errorf("only the user who was blocked (uid %d) can answer request %d: %w", r.UID, id, errForbidden)
	}
	reason := strings.TrimSpace(a.Reason)
	if a.Cancel {
		nr, err := e.store.Transition(ctx, id, []string{localapi.StatePending, localapi.StateSubmitted}, localapi.StateCancelled, nil)
		if err != nil {
			return localapi.AnswerResult{}, stateErr(err)
		}
		e.requests.closed(nr)
		e.changed()
		e.record(store.Event{Kind: "request", Action: r.Kind, UID: r.UID, User: r.User, Path: r.Path, RequestID: id, Detail: "cancelled by the user"})
		return localapi.AnswerResult{Request: requestToWire(nr)}, nil
	}
	if n := utf8.RuneCountInString(reason); r.Kind != localapi.KindWarning && n < r.MinJustification {
		return localapi.AnswerResult{}, &userError{fmt.Sprintf("the reason is %d characters; this policy asks for at least %d", n, r.MinJustification)}
	}
	if len(reason) > 4000 {
		return localapi.AnswerResult{}, &userError{"the reason is longer than 4000 bytes; shorten it"}
	}
	switch r.Kind {
	case localapi.KindWarning, localapi.KindJustification:
		nr, err := e.store.Transition(ctx, id, []string{localapi.StatePending}, localapi.StateAnswered, func(x *store.Request) { x.Reason = reason })
		if err != nil {
			return localapi.AnswerResult{}, stateErr(err)
		}
		e.requests.closed(nr)
		e.changed()
		now := e.now()
		uses := e.cfg.GrantUses
		if uses == 0 {
			uses = -1
		}
		g, err := e.addGrant(ctx, nr, now, now.Add(e.cfg.GrantTTL.D()), uses, r.Kind)
		if err != nil {
			return localapi.AnswerResult{}, err
		}
		return localapi.AnswerResult{Request: requestToWire(nr), Grant: &g}, nil
	case localapi.KindApproval, localapi.KindApprovalOffline:
		if !a.WindowEnd.IsZero() && !a.WindowStart.IsZero() && !a.WindowEnd.After(a.WindowStart) {
			return localapi.AnswerResult{}, &userError{"the window ends before it starts; pick an end after the start"}
		}
		if !a.WindowEnd.IsZero() && a.WindowEnd.Before(e.now()) {
			return localapi.AnswerResult{}, &userError{"the window ends in the past; pick a later end"}
		}
		nr, err := e.store.Transition(ctx, id, []string{localapi.StatePending}, localapi.StateSubmitted, func(x *store.Request) {
			x.Reason, x.WindowStart, x.WindowEnd = reason, a.WindowStart, a.WindowEnd
		})
		if err != nil {
			return localapi.AnswerResult{}, stateErr(err)
		}
		e.changed()
		e.record(store.Event{Kind: "request", Action: r.Kind, UID: r.UID, User: r.User, Path: r.Path, RequestID: id, Reason: reason, Detail: "submitted for approval"})
		return localapi.AnswerResult{Request: requestToWire(nr)}, nil
	}
	return localapi.AnswerResult{}, &userError{fmt.Sprintf("request %d is a %s request and cannot be answered", id, r.Kind)}
}

// decideRequest approves or denies a submitted request (root only).
func (e *Engine) decideRequest(ctx context.Context, c caller, id int64, approve bool, note string) (localapi.AnswerResult, error) {
	if !c.root() {
		return localapi.AnswerResult{}, fmt.Errorf("only root can approve or deny requests: %w", errForbidden)
	}
	to := localapi.StateDenied
	if approve {
		to = localapi.StateApproved
	}
	by := fmt.Sprintf("%s (uid %d)", c.user, c.uid)
	if note != "" {
		by += ": " + note
	}
	nr, err := e.store.Transition(ctx, id, []string{localapi.StateSubmitted}, to, func(x *store.Request) { x.DecidedBy = by })
	if err != nil {
		return localapi.AnswerResult{}, stateErr(err)
	}
	e.requests.closed(nr)
	// Agents learn of the decision only once its grant is in place: an
	// agent that relaunches the program at once must find it.
	defer e.changed()
	res := localapi.AnswerResult{Request: requestToWire(nr)}
	if !approve {
		e.record(store.Event{Kind: "request", Action: nr.Kind, UID: nr.UID, User: nr.User, Path: nr.Path, RequestID: id, Detail: "denied by " + by})
		return res, nil
	}
	start, end := nr.WindowStart, nr.WindowEnd
	now := e.now()
	if start.IsZero() {
		start = now
	}
	if end.IsZero() {
		end = start.Add(e.cfg.ApprovalTTL.D())
	}
	g, err := e.addGrant(ctx, nr, start, end, -1, "approval")
	if err != nil {
		return res, err
	}
	res.Grant = &g
	return res, nil
}

func (e *Engine) addGrant(ctx context.Context, r store.Request, notBefore, expires time.Time, uses int, origin string) (localapi.Grant, error) {
	sg := store.Grant{UID: r.UID, Dev: r.Dev, Ino: r.Ino, SHA256: r.SHA256, Path: r.Path, Created: e.now(),
		NotBefore: notBefore, Expires: expires, UsesLeft: uses, Reason: r.Reason, Origin: origin, RequestID: r.ID}
	id, err := e.store.AddGrant(ctx, sg)
	if err != nil {
		return localapi.Grant{}, fmt.Errorf("store grant: %w", err)
	}
	sg.ID = id
	e.grants.add(grantFromStore(sg))
	e.record(store.Event{Kind: "grant", UID: r.UID, User: r.User, Path: r.Path, SHA256: r.SHA256, GrantID: id, RequestID: r.ID,
		Reason: r.Reason, Detail: fmt.Sprintf("%s grant until %s", origin, expires.Format(time.RFC3339))})
	return grantToWire(sg), nil
}

func stateErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%v: %w", err, errNotFound)
	}
	var se *store.StateError
	if errors.As(err, &se) {
		return &userError{se.Error()}
	}
	return err
}

func (e *Engine) writeGrantUses(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case id := <-e.uses:
			if err := e.store.UseGrant(ctx, id); err != nil && ctx.Err() == nil {
				e.log.Warn("record grant use", "grant", id, "err", err)
			}
		}
	}
}

func requestToWire(r store.Request) localapi.Request {
	return localapi.Request{ID: r.ID, Created: r.Created, Updated: r.Updated, UID: r.UID, User: r.User, PID: r.PID,
		Kind: r.Kind, State: r.State, Path: r.Path, SHA256: r.SHA256, Args: r.Args, Cwd: r.Cwd, Rule: r.Rule,
		RuleName: r.RuleName, Group: r.Group, PolicyRevision: r.PolicyRevision, Title: r.Title, Body: r.Body, URL: r.URL,
		MinJustification: r.MinJustification, Reason: r.Reason, WindowStart: r.WindowStart, WindowEnd: r.WindowEnd, DecidedBy: r.DecidedBy,
		Notified: r.Notified, Terminal: r.TTY != "", AppType: r.AppType, Publisher: r.Publisher, TeamID: r.TeamID,
		SigningID: r.SigningID, Machine: r.Machine, RequestCode: r.RequestCode}
}

func grantToWire(g store.Grant) localapi.Grant {
	return localapi.Grant{ID: g.ID, UID: g.UID, Path: g.Path, SHA256: g.SHA256, Created: g.Created, Expires: g.Expires,
		UsesLeft: g.UsesLeft, Origin: g.Origin, Reason: g.Reason, RequestID: g.RequestID}
}

// offlineRespond checks the response code the help desk gave the user for
// an approval_offline request. A right code approves the request (once: the
// state change from open to approved is the single use) and grants the
// program for approval_ttl; a wrong one is counted, and the request closes
// after offline_attempts of them so that a new run makes a new request code.
func (e *Engine) offlineRespond(ctx context.Context, c caller, id int64, typed string) (localapi.AnswerResult, error) {
	r, err := e.ownRequest(ctx, c, id)
	if err != nil {
		return localapi.AnswerResult{}, err
	}
	if r.UID != c.uid {
		return localapi.AnswerResult{}, fmt.Errorf("only the user who was blocked (uid %d) can answer request %d: %w", r.UID, id, errForbidden)
	}
	if r.Kind != localapi.KindApprovalOffline || r.RequestCode == "" {
		return localapi.AnswerResult{}, &userError{fmt.Sprintf("request %d has no offline request code; it cannot take a response code", id)}
	}
	open := []string{localapi.StatePending, localapi.StateSubmitted}
	switch {
	case r.State == localapi.StateApproved:
		return localapi.AnswerResult{}, &userError{offline.ErrUsed.Error() + fmt.Sprintf(" (request %d is approved)", id)}
	case !slices.Contains(open, r.State):
		return localapi.AnswerResult{}, stateErr(&store.StateError{ID: id, State: r.State, To: localapi.StateApproved})
	}
	ch := offline.Challenge{Machine: r.Machine, Revision: r.PolicyRevision, RequestCode: r.RequestCode}
	st := offline.State{Created: r.Created, Attempts: r.OfflineAttempts}
	now := e.now()
	next, err := offline.Redeem(e.offline, ch, st, e.cfg.offlineLimits(), now, typed)
	var wrong *offline.WrongCodeError
	var malformed *offline.MalformedError
	switch {
	case err == nil:
	case errors.As(err, &malformed):
		return localapi.AnswerResult{}, &userError{err.Error()}
	case errors.As(err, &wrong):
		ok, serr := e.store.CountOfflineAttempt(ctx, id, st.Attempts)
		if serr != nil {
			return localapi.AnswerResult{}, serr
		}
		if !ok {
			return localapi.AnswerResult{}, &userError{"another response code for this request was entered at the same time; try again"}
		}
		e.record(store.Event{Kind: "request", Action: r.Kind, UID: r.UID, User: r.User, Path: r.Path, RequestID: id,
			Detail: fmt.Sprintf("wrong offline response code (%d of %d)", next.Attempts, e.cfg.OfflineAttempts)})
		if wrong.Left == 0 {
			e.closeOffline(ctx, r, "too many wrong offline response codes")
		}
		return localapi.AnswerResult{}, &userError{err.Error()}
	case errors.Is(err, offline.ErrExpired), errors.Is(err, offline.ErrTooManyAttempts):
		e.closeOffline(ctx, r, err.Error())
		return localapi.AnswerResult{}, &userError{err.Error()}
	default:
		return localapi.AnswerResult{}, &userError{err.Error()}
	}
	nr, err := e.store.Transition(ctx, id, open, localapi.StateApproved, func(x *store.Request) {
		x.DecidedBy = "offline response code"
	})
	if err != nil {
		return localapi.AnswerResult{}, stateErr(err)
	}
	e.requests.closed(nr)
	defer e.changed()
	e.record(store.Event{Kind: "request", Action: r.Kind, UID: r.UID, User: r.User, Path: r.Path, RequestID: id,
		Detail: "approved with an offline response code"})
	g, err := e.addGrant(ctx, nr, now, now.Add(e.cfg.ApprovalTTL.D()), -1, "offline")
	if err != nil {
		return localapi.AnswerResult{}, err
	}
	return localapi.AnswerResult{Request: requestToWire(nr), Grant: &g}, nil
}

// closeOffline denies an offline request that takes no more codes, so the
// next run of the program makes a new request code.
func (e *Engine) closeOffline(ctx context.Context, r store.Request, why string) {
	nr, err := e.store.Transition(ctx, r.ID, []string{localapi.StatePending, localapi.StateSubmitted}, localapi.StateDenied,
		func(x *store.Request) { x.DecidedBy = why })
	if err != nil {
		return // closed meanwhile
	}
	e.requests.closed(nr)
	e.changed()
	e.record(store.Event{Kind: "request", Action: r.Kind, UID: r.UID, User: r.User, Path: r.Path, RequestID: r.ID, Detail: "closed: " + why})
}

// freshRequestCode draws a request code that no request of the last days
// has had: a response code the help desk gave for an earlier request with
// the same code (same machine and revision, a day it still accepts) would
// otherwise be accepted for this one.
func (q *requestQueue) freshRequestCode(ctx context.Context, now time.Time) string {
	since := now.Add(-q.e.cfg.OfflineLifetime.D() - 3*24*time.Hour)
	code := offline.NewRequestCode()
	for range 20 {
		used, err := q.e.store.RequestCodeUsed(ctx, code, since)
		if err != nil || !used {
			break
		}
		code = offline.NewRequestCode()
	}
	return code
}
