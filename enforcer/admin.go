package enforcer

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/policy"
	"github.com/gatehouse/gatehouse/request"
	"github.com/gatehouse/gatehouse/sudoers"
)

// Admin sessions (docs/elevation.md): a user asks for admin rights for a
// while (gatehouse admin --for 15m); the policy's admin_sessions say who
// may, with what requirement, for how long. A session is a grant of kind
// admin and a sudoers drop-in giving that uid every command as any user
// until its end (NOTAFTER), which sudo enforces itself; gatehoused removes
// it at the end, when the user ends it, and at start for any that ended
// while it was down. Users who were admins before keep what sudoers gave
// them: the session adds a file and takes away only that file.

// AdminQuery asks for an admin session.
type AdminQuery struct {
	For    time.Duration // 0: the entry's default
	Reason string
}

// AdminOutcome is what became of an AdminQuery.
type AdminOutcome string

const (
	AdminGranted     AdminOutcome = "granted"      // a session until Until
	AdminActive      AdminOutcome = "active"       // one runs already, until Until
	AdminDenied      AdminOutcome = "denied"       // no admin_sessions entry includes the user
	AdminNeedsReason AdminOutcome = "needs_reason" // ask for a reason and ask again
	AdminSubmitted   AdminOutcome = "submitted"    // approval request RequestID made; the session starts when approved
	AdminWaiting     AdminOutcome = "waiting"      // that request waits still
	AdminEnded       AdminOutcome = "ended"        // EndAdmin ended the session
)

// AdminResult is the answer to an admin query.
type AdminResult struct {
	Outcome          AdminOutcome
	Entry            policy.AdminDecision
	Until            time.Time
	GrantID          int64
	RequestID        int64
	MinJustification int
}

// adminAppType marks the requests and events of admin sessions.
const adminAppType = "admin_session"

// AdminSession grants a an admin session, or says what it needs first.
func (e *Engine) AdminSession(ctx context.Context, a Actor, q AdminQuery) (AdminResult, error) {
	if a.Kind != ActorUser && a.Kind != ActorAgent {
		return AdminResult{}, forbidden("%s: admin sessions are for users (root needs none)", a)
	}
	if len(q.Reason) > maxNote {
		return AdminResult{}, invalid("the reason is longer than %d bytes", maxNote)
	}
	reason := strings.TrimSpace(q.Reason)
	lp := e.pol.Load()
	f := &policy.Facts{User: a.User, UID: a.UID, Groups: e.users.groupNames(a.GIDs)}
	d, ok := lp.eng.AdminSession(f)
	base := store.Event{Kind: "admin_session", UID: a.UID, User: a.User, PID: a.Peer.PID, AppType: adminAppType,
		Rule: d.Index, RuleName: d.Name, PolicyID: lp.eng.ID(), PolicyRevision: lp.eng.Revision(), Reason: reason}
	if !ok {
		ev := base
		ev.Action, ev.Detail = "deny", "admin session refused: no admin_sessions entry includes the user"
		e.record(ev)
		return AdminResult{Outcome: AdminDenied}, nil
	}
	res := AdminResult{Entry: d, MinJustification: d.MinJustification}
	length := q.For
	if length == 0 {
		length = d.Default
	}
	if length < time.Minute || length > d.Max {
		return AdminResult{}, invalid("ask for 1m to %s (admin_sessions entry %d %q)", d.Max, d.Index, d.Name)
	}
	now := e.now()
	if g, ok, err := e.activeAdmin(ctx, a.UID, now); err != nil || ok {
		if err != nil {
			return AdminResult{}, err
		}
		res.Outcome, res.Until, res.GrantID = AdminActive, g.Expires, g.ID
		return res, nil
	}
	if d.Require != policy.ActionUnset && reason == "" {
		res.Outcome = AdminNeedsReason
		return res, nil
	}
	if n := len([]rune(reason)); n < d.MinJustification {
		return AdminResult{}, invalid("the reason has %d characters; at least %d are needed", n, d.MinJustification)
	}
	switch d.Require {
	case policy.ActionUnset, policy.Justification:
		origin := request.FromElevation
		if d.Require == policy.Justification {
			origin = request.FromJustification
		}
		g, err := e.grantAdmin(ctx, base, store.Grant{UID: a.UID, Reason: reason, NotBefore: now, Expires: now.Add(length), Origin: origin})
		if err != nil {
			return AdminResult{}, err
		}
		res.Outcome, res.Until, res.GrantID = AdminGranted, g.Expires, g.ID
		return res, nil
	}
	open, err := e.store.ListRequests(ctx, store.RequestFilter{UID: &a.UID, States: request.OpenStates()})
	if err != nil {
		return AdminResult{}, err
	}
	for _, r := range open {
		if r.AppType == adminAppType {
			res.Outcome, res.RequestID = AdminWaiting, r.ID
			return res, nil
		}
	}
	kind := request.Approval
	if d.Require == policy.ApprovalOffline {
		kind = request.ApprovalOffline
	}
	msg := d.Message.Render(&policy.Decision{}, f)
	r := store.Request{Created: now, Updated: now, UID: a.UID, User: a.User, PID: a.Peer.PID, Kind: kind, State: request.Submitted,
		Path: "admin rights for " + length.String(), Args: []string{length.String()}, Rule: d.Index, RuleName: d.Name,
		PolicyID: d.PolicyID, PolicyRevision: d.Revision, Title: msg.Title, Body: msg.Body, URL: msg.URL,
		MinJustification: d.MinJustification, Approvers: d.Approvers, Reason: reason, AppType: adminAppType}
	id, err := e.store.AddRequest(ctx, r)
	if err != nil {
		return AdminResult{}, fmt.Errorf("store the admin session request: %w", err)
	}
	e.counters.requestsCreated.Add(1)
	e.changed()
	ev := base
	ev.Kind, ev.Action, ev.RequestID, ev.Detail = "request", string(kind), id, "admin session for "+length.String()+": approval request submitted"
	e.record(ev)
	res.Outcome, res.RequestID = AdminSubmitted, id
	return res, nil
}

// EndAdmin ends a's admin session now.
func (e *Engine) EndAdmin(ctx context.Context, a Actor) (AdminResult, error) {
	if a.Kind != ActorUser && a.Kind != ActorAgent {
		return AdminResult{}, forbidden("%s: admin sessions are for users", a)
	}
	e.sess.mu.Lock()
	defer e.sess.mu.Unlock()
	g, ok, err := e.activeAdmin(ctx, a.UID, e.now())
	if err != nil {
		return AdminResult{}, err
	}
	if !ok {
		return AdminResult{}, notFound("you have no admin session")
	}
	err = e.endAdminLocked(ctx, g, "ended by the user")
	e.syncSessionsLocked(ctx)
	if err != nil {
		return AdminResult{}, err
	}
	return AdminResult{Outcome: AdminEnded, GrantID: g.ID, Until: e.now()}, nil
}

// activeAdmin is uid's running admin session.
func (e *Engine) activeAdmin(ctx context.Context, uid uint32, now time.Time) (store.Grant, bool, error) {
	gs, err := e.store.ActiveGrants(ctx, now)
	if err != nil {
		return store.Grant{}, false, err
	}
	for _, g := range gs {
		if g.Kind == store.GrantAdmin && g.UID == uid && !g.NotBefore.After(now) {
			return g, true, nil
		}
	}
	return store.Grant{}, false, nil
}

// grantAdmin stores an admin session's grant, writes its drop-in and,
// where the platform has an administrators group, makes the user a member.
func (e *Engine) grantAdmin(ctx context.Context, ev store.Event, g store.Grant) (store.Grant, error) {
	e.sess.mu.Lock()
	defer e.sess.mu.Unlock()
	g.Kind, g.Created, g.UsesLeft = store.GrantAdmin, e.now(), -1
	id, err := e.store.AddGrant(ctx, g)
	if err != nil {
		return store.Grant{}, fmt.Errorf("store the admin session: %w", err)
	}
	g.ID = id
	d := sudoers.Dir(e.cfg.SudoersDir)
	err = d.Write(adminName(g.ID), sudoers.Rule{UID: g.UID, AnyCommand: true,
		NotBefore: g.NotBefore, NotAfter: g.Expires, Password: *e.cfg.SudoPassword})
	if err == nil && !g.NotBefore.After(e.now()) {
		// A session that starts later joins at its start (syncSessions).
		if err = e.joinGroup(ctx, &g); err != nil {
			d.Remove(adminName(g.ID))
		}
	}
	if err != nil {
		e.store.RevokeGrant(ctx, id)
		return store.Grant{}, err
	}
	ev.Action, ev.GrantID, ev.RequestID = "elevate", id, g.RequestID
	ev.Detail = fmt.Sprintf("admin session until %s (%s)", g.Expires.Format(time.RFC3339), g.Origin)
	if g.GroupAdded {
		ev.Detail += "; made a member of the administrators group"
	}
	e.record(ev)
	e.syncSessionsLocked(ctx)
	return g, nil
}

func adminName(grant int64) string { return "admin-" + strconv.FormatInt(grant, 10) }
