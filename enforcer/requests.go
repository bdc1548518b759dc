package enforcer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/facts"
	"github.com/gatehouse/gatehouse/offline"
	"github.com/gatehouse/gatehouse/policy"
	"github.com/gatehouse/gatehouse/request"
)

// pendingRequest is a prompt the hot path asks for; the request writer
// stores it off the hot path.
type pendingRequest struct {
	uid  uint32
	user string
	pid  int32
	kind request.Kind
	path string
	subj policy.Subject
	key  fileKey
	// cdhash is the code the kernel validated (macOS): the grant binds to it.
	cdhash string
	args   []string
	cwd    string
	tty    string
	// right is the authorization right asked for (authreq.go); "" for an
	// exec.
	right string
	// machine and requestCode are the offline challenge, once stored.
	machine, requestCode string
	decision             policy.Decision
	msg                  policy.RenderedMessage
}

type coalesceKey struct {
	uid    uint32
	path   string
	sha256 string
	kind   request.Kind
	right  string // an authorization request's right; "" for an exec's
}

// keyOf is the coalescing key of a stored request.
func keyOf(r store.Request) coalesceKey {
	k := coalesceKey{r.UID, r.Path, r.SHA256, r.Kind, ""}
	if r.AppType == authAppType && len(r.Args) == 1 {
		k.right = r.Args[0]
	}
	return k
}

// requestKind is the kind of request a rule's action makes: the one place
// the policy's vocabulary becomes the requests'. "" for actions that make
// no request.
func requestKind(a policy.Action) request.Kind {
	switch a {
	case policy.Warning:
		return request.Warning
	case policy.Justification:
		return request.Justification
	case policy.Approval:
		return request.Approval
	case policy.ApprovalOffline:
		return request.ApprovalOffline
	case policy.DenyMessage:
		return request.DenyMessage
	case policy.DenyNotify:
		return request.DenyNotify
	}
	return ""
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
	k := coalesceKey{p.uid, p.path, p.subj.SHA256, p.kind, p.right}
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
		q.e.record(store.Event{Kind: "request", Action: string(p.kind), UID: p.uid, User: p.user, Path: p.path,
			Rule: p.decision.Rule, RuleName: p.decision.RuleName, Group: p.decision.Group,
			PolicyID: p.decision.PolicyID, PolicyRevision: p.decision.Revision,
			Detail: "request queue full; the request was not created (the user can run the program again)"})
	}
}

// closed forgets an open request so the next block creates a new one.
func (q *requestQueue) closed(r store.Request) {
	q.mu.Lock()
	k := keyOf(r)
	if q.open[k] == r.ID {
		delete(q.open, k)
	}
	q.mu.Unlock()
}

func (q *requestQueue) run(ctx context.Context) {
	// Requests left open by an earlier run still coalesce.
	if open, err := q.e.store.ListRequests(ctx, store.RequestFilter{States: request.OpenStates()}); err == nil {
		q.mu.Lock()
		for _, r := range open {
			q.open[keyOf(r)] = r.ID
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
		Created: now, Updated: now, UID: p.uid, User: p.user, PID: p.pid, Kind: p.kind, State: request.Pending,
		Path: p.path, SHA256: p.subj.SHA256, CDHash: p.cdhash, Dev: p.key.dev, Ino: p.key.ino, Args: p.args, Cwd: p.cwd, TTY: p.tty,
		Rule: d.Rule, RuleName: d.RuleName, Group: d.Group, PolicyID: d.PolicyID, PolicyRevision: d.Revision,
		Title: p.msg.Title, Body: p.msg.Body, URL: p.msg.URL, MinJustification: d.MinJustification, Approvers: d.Approvers,
		AppType: p.subj.Type.String(), Publisher: p.subj.Publisher, TeamID: p.subj.TeamID, SigningID: p.subj.SigningID,
	}
	if p.right != "" {
		r.AppType, r.Args = authAppType, []string{p.right}
	}
	// An offline challenge needs the secret and a machine name to bind;
	// without them the request is a plain approval request.
	if m := offline.MachineName(q.e.machine); p.kind == request.ApprovalOffline && !q.e.offline.IsZero() && m != "" {
		r.Machine, r.RequestCode = m, q.freshRequestCode(ctx, now)
	}
	k := coalesceKey{p.uid, p.path, p.subj.SHA256, p.kind, p.right}
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
	q.e.record(store.Event{Kind: "request", Action: string(p.kind), UID: p.uid, User: p.user, PID: p.pid, Path: p.path,
		SHA256: p.subj.SHA256, RequestID: id, Rule: d.Rule, RuleName: d.RuleName, Group: d.Group,
		PolicyID: d.PolicyID, PolicyRevision: d.Revision, Detail: "request created"})
	if p.tty != "" && *q.e.cfg.TTYMessages {
		p.machine, p.requestCode = r.Machine, r.RequestCode
		q.e.sayOnTTY(ttyMessage{tty: p.tty, text: requestText(p, id)})
	}
}

// ownRequest returns request id if a may do op on it. A user is told
// "not found" for another user's request rather than "forbidden": that
// does not reveal that it exists.
func (e *Engine) ownRequest(ctx context.Context, a Actor, op Op, id int64) (store.Request, error) {
	r, err := e.store.GetRequest(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return r, notFound("request %d not found", id)
		}
		return r, err
	}
	if s := scope(a, OpReadRequests); s == None || s == Own && r.UID != a.UID {
		return r, notFound("request %d not found", id)
	}
	if err := authorize(a, op, r.UID); err != nil {
		return r, err
	}
	return r, nil
}

// Answer is a user's reply to a request: Continue on a warning, a reason
// on a justification, or the submission of an approval request (a reason
// and an optional window). Cancel withdraws the request.
type Answer struct {
	Cancel                 bool
	Reason                 string
	WindowStart, WindowEnd time.Time
}

// AnswerResult is what answering or deciding a request produced: the
// request as it now is, and the grant it made (nil for none).
type AnswerResult struct {
	Request store.Request
	Grant   *store.Grant
}

// Answer handles the blocked user's reply to request id.
func (e *Engine) Answer(ctx context.Context, a Actor, id int64, ans Answer) (AnswerResult, error) {
	r, err := e.ownRequest(ctx, a, OpAnswer, id)
	if err != nil {
		return AnswerResult{}, err
	}
	reason := strings.TrimSpace(ans.Reason)
	if ans.Cancel {
		nr, err := e.store.Transition(ctx, id, request.OpenStates(), request.Cancelled, nil)
		if err != nil {
			return AnswerResult{}, stateErr(err)
		}
		e.requests.closed(nr)
		e.changed()
		e.record(requestEvent(r, store.Event{Detail: "cancelled by the user"}))
		return AnswerResult{Request: nr}, nil
	}
	if n := utf8.RuneCountInString(reason); r.Kind != request.Warning && n < r.MinJustification {
		return AnswerResult{}, invalid("the reason is %d characters; this policy asks for at least %d", n, r.MinJustification)
	}
	if len(reason) > 4000 {
		return AnswerResult{}, invalid("the reason is longer than 4000 bytes; shorten it")
	}
	if err := e.redecide(ctx, r); err != nil {
		return AnswerResult{}, err
	}
	switch {
	case r.Kind.GoesOnWithAnswer():
		nr, err := e.store.Transition(ctx, id, []request.State{request.Pending}, request.Answered, func(x *store.Request) { x.Reason = reason })
		if err != nil {
			return AnswerResult{}, stateErr(err)
		}
		e.requests.closed(nr)
		e.changed()
		now := e.now()
		uses := e.cfg.GrantUses
		if uses == 0 {
			uses = -1
		}
		g, err := e.addGrant(ctx, nr, now, now.Add(e.cfg.GrantTTL.D()), uses, r.Kind.GrantOrigin())
		if err != nil {
			return AnswerResult{}, err
		}
		return AnswerResult{Request: nr, Grant: &g}, nil
	case r.Kind.NeedsApprover():
		if !ans.WindowEnd.IsZero() && !ans.WindowStart.IsZero() && !ans.WindowEnd.After(ans.WindowStart) {
			return AnswerResult{}, invalid("the window ends before it starts; pick an end after the start")
		}
		if !ans.WindowEnd.IsZero() && ans.WindowEnd.Before(e.now()) {
			return AnswerResult{}, invalid("the window ends in the past; pick a later end")
		}
		nr, err := e.store.Transition(ctx, id, []request.State{request.Pending}, request.Submitted, func(x *store.Request) {
			x.Reason, x.WindowStart, x.WindowEnd = reason, ans.WindowStart, ans.WindowEnd
		})
		if err != nil {
			return AnswerResult{}, stateErr(err)
		}
		e.changed()
		e.record(requestEvent(r, store.Event{Reason: reason, Detail: "submitted for approval"}))
		return AnswerResult{Request: nr}, nil
	}
	return AnswerResult{}, invalid("request %d is a %s request and cannot be answered", id, r.Kind)
}

// maxNote bounds an approver's note.
const maxNote = 1000

// Decide approves or denies a submitted request.
func (e *Engine) Decide(ctx context.Context, a Actor, id int64, approve bool, note string) (AnswerResult, error) {
	if err := authorize(a, OpDecide, 0); err != nil {
		return AnswerResult{}, err
	}
	if len(note) > maxNote {
		return AnswerResult{}, invalid("the note is longer than %d bytes", maxNote)
	}
	note = strings.TrimSpace(note)
	by := fmt.Sprintf("%s (uid %d)", a.User, a.UID)
	if a.Kind != ActorRoot {
		by = fmt.Sprintf("%s %s (uid %d)", a.Kind, a.User, a.UID)
	}
	if note != "" {
		by += ": " + note
	}
	return e.applyDecision(ctx, id, approve, by, time.Time{}, time.Time{})
}

// applyDecision moves submitted request id to approved or denied, by by;
// an approval grants the program for the window windowStart–windowEnd
// (zero: the request's own window, or approval_ttl from now).
func (e *Engine) applyDecision(ctx context.Context, id int64, approve bool, by string, windowStart, windowEnd time.Time) (AnswerResult, error) {
	to := request.Denied
	if approve {
		to = request.Approved
	}
	if approve {
		r, err := e.store.GetRequest(ctx, id)
		if err != nil {
			return AnswerResult{}, stateErr(err)
		}
		if r.State == request.Submitted {
			if err := e.redecide(ctx, r); err != nil {
				return AnswerResult{}, err
			}
		}
	}
	nr, err := e.store.Transition(ctx, id, []request.State{request.Submitted}, to, func(x *store.Request) { x.DecidedBy = by })
	if err != nil {
		return AnswerResult{}, stateErr(err)
	}
	e.requests.closed(nr)
	// Agents learn of the decision only once its grant is in place: an
	// agent that relaunches the program at once must find it.
	defer e.changed()
	res := AnswerResult{Request: nr}
	if !approve {
		e.record(requestEvent(nr, store.Event{Detail: "denied by " + by}))
		return res, nil
	}
	start, end := nr.WindowStart, nr.WindowEnd
	if !windowStart.IsZero() {
		start = windowStart
	}
	if !windowEnd.IsZero() {
		end = windowEnd
	}
	now := e.now()
	if start.IsZero() {
		start = now
	}
	if end.IsZero() {
		end = start.Add(e.cfg.ApprovalTTL.D())
	}
	g, err := e.addGrant(ctx, nr, start, end, -1, request.FromApproval)
	if err != nil {
		return res, err
	}
	res.Grant = &g
	return res, nil
}

func (e *Engine) addGrant(ctx context.Context, r store.Request, notBefore, expires time.Time, uses int, origin request.Origin) (store.Grant, error) {
	sg := store.Grant{UID: r.UID, Dev: r.Dev, Ino: r.Ino, SHA256: r.SHA256, CDHash: r.CDHash, Path: r.Path, Created: e.now(),
		NotBefore: notBefore, Expires: expires, UsesLeft: uses, Reason: r.Reason, Origin: origin, RequestID: r.ID, Kind: store.GrantExec}
	if r.AppType == policy.SudoCommand.String() {
		// A sudo command's approval: that command as root, when the user
		// runs it (gatehouse sudo), never an exec of the file.
		sg.Kind, sg.Args, sg.Dev, sg.Ino = store.GrantSudo, r.Args, 0, 0
	}
	if r.AppType == authAppType {
		// A right for the program that asked for it, never an exec of it.
		sg.Kind, sg.Args, sg.Dev, sg.Ino = store.GrantAuth, r.Args, 0, 0
	}
	if r.AppType == adminAppType {
		// An admin session's approval: it starts now (or at the window's
		// start), for the length asked, within the window.
		length, _ := time.ParseDuration(strings.Join(r.Args, ""))
		if end := notBefore.Add(length); length > 0 && end.Before(expires) {
			expires = end
		}
		ev := store.Event{Kind: "admin_session", UID: r.UID, User: r.User, AppType: adminAppType, Rule: r.Rule, RuleName: r.RuleName,
			PolicyID: r.PolicyID, PolicyRevision: r.PolicyRevision, Reason: r.Reason}
		return e.grantAdmin(ctx, ev, store.Grant{UID: r.UID, Reason: r.Reason, NotBefore: notBefore, Expires: expires, Origin: origin, RequestID: r.ID})
	}
	id, err := e.store.AddGrant(ctx, sg)
	if err != nil {
		return store.Grant{}, fmt.Errorf("store grant: %w", err)
	}
	sg.ID = id
	if sg.Kind == store.GrantExec {
		e.grants.add(grantFromStore(sg))
	}
	e.record(store.Event{Kind: "grant", UID: r.UID, User: r.User, Path: r.Path, SHA256: r.SHA256, GrantID: id, RequestID: r.ID,
		Rule: r.Rule, RuleName: r.RuleName, Group: r.Group, PolicyID: r.PolicyID, PolicyRevision: r.PolicyRevision,
		Reason: r.Reason, Detail: fmt.Sprintf("%s grant until %s", origin, expires.Format(time.RFC3339))})
	return sg, nil
}

// stateErr maps the store's errors of a state change to the engine's.
func stateErr(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFound("%v", err)
	}
	var se *store.StateError
	if errors.As(err, &se) {
		return conflict("%s", se.Error())
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

// OfflineCode checks the response code the help desk gave the user for
// an approval_offline request. A right code approves the request (once: the
// state change from open to approved is the single use) and grants the
// program for approval_ttl; a wrong one is counted, and the request closes
// after offline_attempts of them so that a new run makes a new request code.
func (e *Engine) OfflineCode(ctx context.Context, a Actor, id int64, typed string) (AnswerResult, error) {
	r, err := e.ownRequest(ctx, a, OpAnswer, id)
	if err != nil {
		return AnswerResult{}, err
	}
	if r.Kind != request.ApprovalOffline || r.RequestCode == "" {
		return AnswerResult{}, invalid("request %d has no offline request code; it cannot take a response code", id)
	}
	switch {
	case r.State == request.Approved:
		return AnswerResult{}, conflict("%s (request %d is approved)", offline.ErrUsed, id)
	case !r.State.Open():
		return AnswerResult{}, stateErr(&store.StateError{ID: id, State: r.State, To: request.Approved})
	}
	ch := offline.Challenge{Machine: r.Machine, Revision: r.PolicyRevision, RequestCode: r.RequestCode}
	st := offline.State{Created: r.Created, Attempts: r.OfflineAttempts}
	now := e.now()
	lim := e.cfg.offlineLimits()
	// A typing slip (not a response code at all) is not counted.
	if _, err := offline.Normalize(typed); err != nil {
		return AnswerResult{}, invalid("%s", err)
	}
	if err := offline.Check(now, st, lim); err != nil {
		e.closeRequest(ctx, r, err.Error())
		return AnswerResult{}, conflict("%s", err)
	}
	// Every code that is compared is counted first, in the store, so codes
	// entered at the same moment cannot get more comparisons than the limit.
	before, ok, err := e.store.ReserveOfflineAttempt(ctx, id, e.cfg.OfflineAttempts)
	if err != nil {
		return AnswerResult{}, err
	}
	if !ok {
		e.closeRequest(ctx, r, offline.ErrTooManyAttempts.Error())
		return AnswerResult{}, conflict("%s", offline.ErrTooManyAttempts)
	}
	st.Attempts = before
	next, err := offline.Redeem(e.offline, ch, st, lim, now, typed)
	var wrong *offline.WrongCodeError
	var malformed *offline.MalformedError
	switch {
	case err == nil:
	case errors.As(err, &malformed):
		return AnswerResult{}, invalid("%s", err)
	case errors.As(err, &wrong):
		e.record(requestEvent(r, store.Event{Detail: fmt.Sprintf("wrong offline response code (%d of %d)", next.Attempts, e.cfg.OfflineAttempts)}))
		if wrong.Left == 0 {
			e.closeRequest(ctx, r, "too many wrong offline response codes")
		}
		return AnswerResult{}, invalid("%s", err)
	case errors.Is(err, offline.ErrExpired), errors.Is(err, offline.ErrTooManyAttempts):
		e.closeRequest(ctx, r, err.Error())
		return AnswerResult{}, conflict("%s", err)
	default:
		return AnswerResult{}, invalid("%s", err)
	}
	if err := e.redecide(ctx, r); err != nil {
		return AnswerResult{}, err
	}
	nr, err := e.store.Transition(ctx, id, request.OpenStates(), request.Approved, func(x *store.Request) {
		x.DecidedBy = "offline response code"
	})
	if err != nil {
		return AnswerResult{}, stateErr(err)
	}
	e.requests.closed(nr)
	defer e.changed()
	e.record(requestEvent(r, store.Event{Detail: "approved with an offline response code"}))
	g, err := e.addGrant(ctx, nr, now, now.Add(e.cfg.ApprovalTTL.D()), -1, request.FromOffline)
	if err != nil {
		return AnswerResult{}, err
	}
	return AnswerResult{Request: nr, Grant: &g}, nil
}

// closeRequest denies an open request that can no longer be answered (an
// offline request that takes no more codes, a request the policy no longer
// makes), so the next run of the program makes a new one.
func (e *Engine) closeRequest(ctx context.Context, r store.Request, why string) {
	nr, err := e.store.Transition(ctx, r.ID, request.OpenStates(), request.Denied,
		func(x *store.Request) { x.DecidedBy = why })
	if err != nil {
		return // closed meanwhile
	}
	e.requests.closed(nr)
	e.changed()
	e.record(requestEvent(r, store.Event{Detail: "closed: " + why}))
}

// redecide checks that the policy in force still makes r's kind of
// request for its program, before an answer, an approval or a response
// code lets it run. A request made under the same policy (id and revision)
// stands. One made under another is decided again: on the program's facts
// now (its file must still have the hash the request named) and the
// arguments it was started with — its parents are not kept, so a rule on
// the parent chain is decided by its action (it matches if it denies, is
// skipped if it allows; policy.EvaluateLazy). If the new decision allows the program,
// the answer goes on (it grants nothing the policy forbids); any other
// decision than r's kind closes the request and refuses the answer, so the
// user runs the program again and meets the policy as it is now.
func (e *Engine) redecide(ctx context.Context, r store.Request) error {
	lp := e.pol.Load()
	if lp.eng.ID() == r.PolicyID && lp.eng.Revision() == r.PolicyRevision {
		return nil
	}
	subj, err := facts.Program(r.Path)
	if err != nil || subj.SHA256 != r.SHA256 {
		why := "the program changed after it was blocked, and the policy changed too"
		e.closeRequest(ctx, r, why)
		return conflict("request %d: %s; run the program again", r.ID, why)
	}
	sudo := r.AppType == policy.SudoCommand.String()
	if sudo {
		subj.Type = policy.SudoCommand
	}
	f := &policy.Facts{Subject: subj, Event: policy.Exec, UID: r.UID, User: r.User,
		Groups: e.users.groupNames(UserGroupIDs(r.UID)), Machine: e.machine}
	if r.AppType == authAppType && len(r.Args) == 1 {
		f.Event, f.AuthURI = policy.AuthRequest, r.Args[0]
	}
	d, _ := lp.eng.EvaluateLazy(f, func(f *policy.Facts, n policy.Needs) {
		if n.Args && f.Event == policy.Exec {
			f.Args = r.Args
		}
		f.Unavailable.Args = f.Unavailable.Args || n.Args && f.Event != policy.Exec
		f.Unavailable.Parents = f.Unavailable.Parents || n.Parents
	})
	if !sudo && (d.Action.Allows() || requestKind(d.Action) == r.Kind) || sudo && d.Action == policy.Elevate {
		return nil
	}
	why := fmt.Sprintf("policy %s revision %d (the request was made under revision %d) now decides %s for this program (rule %d)",
		d.PolicyID, d.Revision, r.PolicyRevision, d.Action, d.Rule)
	e.closeRequest(ctx, r, why)
	return conflict("request %d cannot be answered: %s; run the program again", r.ID, why)
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

// requestEvent is ev, an audit event about request r's life, with what
// names the request: its user, program, kind, and the rule and policy
// that made it.
func requestEvent(r store.Request, ev store.Event) store.Event {
	ev.Kind, ev.Action, ev.UID, ev.User, ev.Path, ev.RequestID = "request", string(r.Kind), r.UID, r.User, r.Path, r.ID
	ev.Rule, ev.RuleName, ev.Group, ev.PolicyID, ev.PolicyRevision = r.Rule, r.RuleName, r.Group, r.PolicyID, r.PolicyRevision
	return ev
}
