package enforcer

import (
	"context"
	"os"
	"regexp"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/policy"
)

// Authorization requests (docs/authorization.md): a program asks the
// system for a right — a polkit action on Linux (pkexec, systemctl,
// PackageKit), an authorization right on macOS (the padlock dialogs) — and
// the system's hook (the polkit rule's helper; the authorization plugin)
// asks gatehoused. The policy decides the requesting program with the
// right as its auth_uri: allow lets it through without the administrator's
// password, deny refuses it, the interactive actions refuse it now and make
// a request the user answers in the agent, whose grant lets the retry
// through. A right no rule names is left to the system's own rules.

// AuthQuery asks for a decision on a right for a subject process.
type AuthQuery struct {
	// Right is the polkit action id or the macOS right.
	Right string
	// PID is the subject: the process that asks (polkit's subject; for
	// pkexec, the process that ran it).
	PID int32
	// UID is the subject's user as the caller knows it; the process must
	// run as that user.
	UID uint32
}

// AuthVerdict is what the system's hook is told.
type AuthVerdict string

const (
	AuthYes        AuthVerdict = "yes"         // granted, no password asked
	AuthNo         AuthVerdict = "no"          // refused
	AuthNotHandled AuthVerdict = "not_handled" // no rule names it: the system's own rules decide
)

// AuthResult is the answer to an AuthQuery.
type AuthResult struct {
	Verdict  AuthVerdict
	Decision policy.Decision
	Subject  policy.Subject
	GrantID  int64
	Message  policy.RenderedMessage
}

// authAppType marks authorization requests, their grants and events.
const authAppType = "auth"

// rightName is what a right may look like: polkit's action ids and macOS's
// rights are dotted names.
var rightName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`)

// Authorize decides q for a (the polkit helper, or root).
func (e *Engine) Authorize(ctx context.Context, a Actor, q AuthQuery) (AuthResult, error) {
	if _, err := authorizeAny(a, OpAuthorize); err != nil {
		return AuthResult{}, err
	}
	if !rightName.MatchString(q.Right) {
		return AuthResult{}, invalid("right %q: a right is a dotted name of letters, digits, '.', '_' and '-' (at most 255)", q.Right)
	}
	if q.PID <= 0 {
		return AuthResult{}, invalid("subject pid %d: give the pid of the process that asks", q.PID)
	}
	task, err := e.tasks.Task(q.PID)
	if err != nil {
		return AuthResult{}, invalid("subject process %d: %v", q.PID, err)
	}
	if task.UID != q.UID {
		return AuthResult{}, invalid("subject process %d runs as uid %d, not %d", q.PID, task.UID, q.UID)
	}
	subj, err := e.subjectOf(ctx, q.PID)
	if err != nil {
		return AuthResult{}, invalid("subject process %d: %v", q.PID, err)
	}
	lp := e.pol.Load()
	user := e.users.userName(task.UID)
	f := &policy.Facts{Subject: subj, Event: policy.AuthRequest, AuthURI: q.Right, UID: task.UID, User: user,
		Groups: e.users.groupNames(task.GIDs), Machine: e.machine}
	d, _ := lp.eng.EvaluateLazy(f, func(f *policy.Facts, n policy.Needs) {
		if n.Parents && f.Parents == nil {
			var why string
			f.Parents, why = e.parents(q.PID, lp.eng.Needs())
			f.Unavailable.Parents = why != ""
		}
		// Arguments are an exec's; a right has none.
		f.Unavailable.Args = f.Unavailable.Args || n.Args
	})
	res := AuthResult{Decision: d, Subject: subj, Message: d.Message.Render(&d, f)}
	ev := store.Event{Kind: "auth", Action: d.Action.String(), UID: task.UID, User: user, Groups: f.Groups, PID: q.PID,
		Path: subj.Path, SHA256: subj.SHA256, AppType: authAppType, Args: []string{q.Right}, Rule: d.Rule, RuleName: d.RuleName,
		Group: d.Group, PolicyID: d.PolicyID, PolicyRevision: d.Revision}
	now := e.now()
	if g, ok, err := e.authGrant(ctx, task.UID, subj, q.Right, now); err != nil || ok {
		if err != nil {
			return AuthResult{}, err
		}
		if g.UsesLeft > 0 {
			if err := e.store.UseGrant(ctx, g.ID); err != nil {
				return AuthResult{}, err
			}
		}
		res.Verdict, res.GrantID = AuthYes, g.ID
		ev.Allowed, ev.GrantID, ev.RequestID, ev.Reason = true, g.ID, g.RequestID, g.Reason
		ev.Detail = q.Right + " granted by grant (" + string(g.Origin) + ")"
		e.record(ev)
		return res, nil
	}
	switch {
	case d.Rule == 0:
		res.Verdict = AuthNotHandled
		ev.Detail = q.Right + ": no rule names it; left to the system's own rules"
	case d.Action.Allows():
		res.Verdict, ev.Allowed = AuthYes, true
		ev.Detail = q.Right + " granted by the policy"
	default:
		res.Verdict = AuthNo
		ev.Detail = q.Right + " refused"
		if kind := requestKind(d.Action); kind != "" {
			ev.Detail += "; request made for the user"
			e.requests.enqueue(pendingRequest{uid: task.UID, user: user, pid: q.PID, kind: kind, path: subj.Path, subj: subj,
				right: q.Right, tty: task.TTY, decision: d, msg: res.Message})
		}
	}
	if d.Audit || res.Verdict != AuthNotHandled {
		e.record(ev)
	}
	return res, nil
}

// subjectOf reads the facts of the program process pid runs, as a check
// reads a program's (bounded in size and time).
func (e *Engine) subjectOf(ctx context.Context, pid int32) (policy.Subject, error) {
	f, err := e.tasks.OpenExe(pid)
	if err != nil {
		return policy.Subject{}, err
	}
	defer f.Close()
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	subj, _, err := gatherCheck(ctx, []*os.File{f})
	return subj, err
}

// authGrant finds an active grant of uid's of right to the program subj.
func (e *Engine) authGrant(ctx context.Context, uid uint32, subj policy.Subject, right string, now time.Time) (store.Grant, bool, error) {
	gs, err := e.store.ActiveGrants(ctx, now)
	if err != nil {
		return store.Grant{}, false, err
	}
	for _, g := range gs {
		if g.Kind == store.GrantAuth && g.UID == uid && g.SHA256 == subj.SHA256 && slices.Equal(g.Args, []string{right}) && !g.NotBefore.After(now) {
			return g, true, nil
		}
	}
	return store.Grant{}, false, nil
}
