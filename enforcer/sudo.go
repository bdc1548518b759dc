package enforcer

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/offline"
	"github.com/gatehouse/gatehouse/policy"
	"github.com/gatehouse/gatehouse/request"
	"github.com/gatehouse/gatehouse/sudoers"
)

// Sudo commands under policy (docs/elevation.md). A user runs `gatehouse
// sudo CMD ARGS`: the CLI opens the command it resolved and hands the
// descriptor over with the arguments; the daemon decides them as a sudo
// command (type sudo) for the kernel-named caller, and for an elevate rule
// whose requirement is met writes a sudoers drop-in for exactly that
// command (its path, SHA-256 and arguments) for a short window; the CLI
// then runs sudo, which enforces the drop-in itself. The daemon starts no
// program and never runs the command.

// SudoQuery asks to run a command as root.
type SudoQuery struct {
	// Files is the command's open file, as the caller opened it; its
	// parent chain is the caller's, read from the kernel.
	Files []*os.File
	Args  []string // without argv[0]
	// Reason is the user's justification (for require: justification, or
	// the approval request); "" when they gave none yet.
	Reason string
}

// SudoOutcome is what becomes of a sudo command.
type SudoOutcome string

const (
	// SudoRun: the drop-in is written; run `sudo -- Path Args` before Until.
	SudoRun SudoOutcome = "run"
	// SudoDenied: a rule denies it (Message says why).
	SudoDenied SudoOutcome = "denied"
	// SudoNeedsReason: ask the user for a reason (at least MinJustification
	// characters) and ask again with it.
	SudoNeedsReason SudoOutcome = "needs_reason"
	// SudoSubmitted: an approval request was made (RequestID); run the
	// command again once it is approved.
	SudoSubmitted SudoOutcome = "submitted"
	// SudoWaiting: an approval request for it is waiting already.
	SudoWaiting SudoOutcome = "waiting"
	// SudoNotElevated: no elevate rule applies; sudo decides by sudoers as
	// usual.
	SudoNotElevated SudoOutcome = "not_elevated"
)

// SudoResult is the answer to a SudoQuery.
type SudoResult struct {
	Outcome          SudoOutcome
	Path             string // the command as sudo must run it
	Decision         policy.Decision
	Message          policy.RenderedMessage
	MinJustification int
	RequestID        int64
	GrantID          int64
	Until            time.Time
	// For an approval_offline request: what the user reads to the help desk.
	Machine, RequestCode string
}

// Sudo decides a sudo command for a (see SudoQuery).
func (e *Engine) Sudo(ctx context.Context, a Actor, q SudoQuery) (SudoResult, error) {
	if a.Kind != ActorUser && a.Kind != ActorAgent {
		return SudoResult{}, forbidden("%s: only a user's own request is decided as a sudo command (root needs none)", a)
	}
	if len(q.Reason) > maxNote {
		return SudoResult{}, invalid("the reason is longer than %d bytes", maxNote)
	}
	reason := strings.TrimSpace(q.Reason)
	cr, err := e.Check(ctx, a, CheckQuery{Files: q.Files, Args: q.Args, Sudo: true})
	if err != nil {
		return SudoResult{}, err
	}
	d := cr.Decision
	subj := cr.Subject
	f := &policy.Facts{Subject: subj, User: a.User, UID: a.UID}
	res := SudoResult{Path: subj.Path, Decision: d, Message: d.Message.Render(&d, f), MinJustification: d.MinJustification}
	base := store.Event{Kind: "sudo", Action: d.Action.String(), UID: a.UID, User: a.User, PID: a.Peer.PID, Path: subj.Path,
		SHA256: subj.SHA256, AppType: policy.SudoCommand.String(), Args: q.Args, Rule: d.Rule, RuleName: d.RuleName, Group: d.Group,
		PolicyID: d.PolicyID, PolicyRevision: d.Revision}
	switch {
	case d.Action == policy.DenyMessage || d.Action == policy.DenyNotify || d.Action == policy.Deny:
		res.Outcome = SudoDenied
		ev := base
		ev.Detail = "sudo command denied"
		e.record(ev)
		return res, nil
	case d.Action != policy.Elevate:
		res.Outcome = SudoNotElevated
		return res, nil
	}
	now := e.now()
	switch d.Require {
	case policy.ActionUnset:
		return e.grantSudo(ctx, res, base, store.Grant{UID: a.UID, Path: subj.Path, SHA256: subj.SHA256, Args: q.Args,
			NotBefore: now, Expires: now.Add(e.cfg.SudoWindow.D()), Origin: request.FromElevation})
	case policy.Justification:
		if reason == "" {
			res.Outcome = SudoNeedsReason
			return res, nil
		}
		if n := len([]rune(reason)); n < d.MinJustification {
			return SudoResult{}, invalid("the reason has %d characters; this command needs at least %d", n, d.MinJustification)
		}
		base.Reason = reason
		return e.grantSudo(ctx, res, base, store.Grant{UID: a.UID, Path: subj.Path, SHA256: subj.SHA256, Args: q.Args, Reason: reason,
			NotBefore: now, Expires: now.Add(e.cfg.SudoWindow.D()), Origin: request.FromJustification})
	}
	// Approval: a grant an approver gave for this very command, or the
	// request waiting for one, or a new request.
	if g, ok, err := e.sudoGrant(ctx, a.UID, subj.Path, subj.SHA256, q.Args, now); err != nil || ok {
		if err != nil {
			return SudoResult{}, err
		}
		base.Reason, base.RequestID = g.Reason, g.RequestID
		return e.writeSudo(res, base, g)
	}
	open, err := e.store.ListRequests(ctx, store.RequestFilter{UID: &a.UID, States: request.OpenStates()})
	if err != nil {
		return SudoResult{}, err
	}
	for _, r := range open {
		if r.AppType == policy.SudoCommand.String() && r.Path == subj.Path && r.SHA256 == subj.SHA256 && slices.Equal(r.Args, q.Args) {
			res.Outcome, res.RequestID, res.Machine, res.RequestCode = SudoWaiting, r.ID, r.Machine, r.RequestCode
			return res, nil
		}
	}
	if reason == "" {
		res.Outcome = SudoNeedsReason
		return res, nil
	}
	if n := len([]rune(reason)); n < d.MinJustification {
		return SudoResult{}, invalid("the reason has %d characters; this request needs at least %d", n, d.MinJustification)
	}
	kind := request.Approval
	if d.Require == policy.ApprovalOffline {
		kind = request.ApprovalOffline
	}
	r := store.Request{Created: now, Updated: now, UID: a.UID, User: a.User, PID: a.Peer.PID, Kind: kind, State: request.Submitted,
		Path: subj.Path, SHA256: subj.SHA256, Args: q.Args, Rule: d.Rule, RuleName: d.RuleName, Group: d.Group,
		PolicyID: d.PolicyID, PolicyRevision: d.Revision, Title: res.Message.Title, Body: res.Message.Body, URL: res.Message.URL,
		MinJustification: d.MinJustification, Approvers: d.Approvers, Reason: reason,
		AppType: policy.SudoCommand.String(), Publisher: subj.Publisher, TeamID: subj.TeamID, SigningID: subj.SigningID}
	if kind == request.ApprovalOffline && !e.offline.IsZero() {
		if m := offline.MachineName(e.machine); m != "" {
			r.Machine, r.RequestCode = m, e.requests.freshRequestCode(ctx, now)
		}
	}
	id, err := e.store.AddRequest(ctx, r)
	if err != nil {
		return SudoResult{}, fmt.Errorf("store the sudo request: %w", err)
	}
	e.counters.requestsCreated.Add(1)
	e.changed()
	ev := base
	ev.Kind, ev.Action, ev.RequestID, ev.Reason, ev.Detail = "request", string(kind), id, reason, "sudo command: approval request submitted"
	e.record(ev)
	res.Outcome, res.RequestID, res.Machine, res.RequestCode = SudoSubmitted, id, r.Machine, r.RequestCode
	return res, nil
}

// sudoGrant finds an active grant of uid's for exactly this command.
func (e *Engine) sudoGrant(ctx context.Context, uid uint32, path, sha string, args []string, now time.Time) (store.Grant, bool, error) {
	gs, err := e.store.ActiveGrants(ctx, now)
	if err != nil {
		return store.Grant{}, false, err
	}
	for _, g := range gs {
		if g.Kind == store.GrantSudo && g.UID == uid && g.Path == path && g.SHA256 == sha && slices.Equal(g.Args, args) && !g.NotBefore.After(now) {
			return g, true, nil
		}
	}
	return store.Grant{}, false, nil
}

// grantSudo stores g (a sudo grant) and writes its drop-in.
func (e *Engine) grantSudo(ctx context.Context, res SudoResult, ev store.Event, g store.Grant) (SudoResult, error) {
	g.Kind, g.Created, g.UsesLeft = store.GrantSudo, e.now(), -1
	id, err := e.store.AddGrant(ctx, g)
	if err != nil {
		return SudoResult{}, fmt.Errorf("store the sudo grant: %w", err)
	}
	g.ID = id
	return e.writeSudo(res, ev, g)
}

// writeSudo writes the drop-in of sudo grant g and records it.
func (e *Engine) writeSudo(res SudoResult, ev store.Event, g store.Grant) (SudoResult, error) {
	rule := sudoers.Rule{UID: g.UID, Path: g.Path, SHA256: g.SHA256, Args: g.Args, NotBefore: g.NotBefore, NotAfter: g.Expires,
		Password: *e.cfg.SudoPassword}
	if err := sudoers.Dir(e.cfg.SudoersDir).Write(sudoName(g.ID), rule); err != nil {
		// A command sudoers cannot pin (an argument with a space…) is the
		// user's to change; the rest is the machine's.
		return SudoResult{}, invalid("%v", err)
	}
	ev.GrantID = g.ID
	ev.Detail = fmt.Sprintf("sudo command elevated until %s (%s)", g.Expires.Format(time.RFC3339), g.Origin)
	e.record(ev)
	res.Outcome, res.GrantID, res.Until, res.RequestID = SudoRun, g.ID, g.Expires, g.RequestID
	return res, nil
}

func sudoName(grant int64) string { return "sudo-" + strconv.FormatInt(grant, 10) }

// pruneSudoers removes the drop-ins (sudo commands' and admin sessions')
// whose grant is no longer active (ended,
// revoked, or unknown: a database restored from before it), at start and
// every minute. sudo refuses them after their NOTAFTER anyway.
func (e *Engine) pruneSudoers(ctx context.Context) {
	d := sudoers.Dir(e.cfg.SudoersDir)
	names, err := d.List()
	if err != nil || len(names) == 0 {
		return
	}
	gs, err := e.store.ActiveGrants(ctx, e.now())
	if err != nil {
		return
	}
	live := map[string]bool{}
	for _, g := range gs {
		switch g.Kind {
		case store.GrantSudo:
			live[sudoName(g.ID)] = true
		case store.GrantAdmin:
			live[adminName(g.ID)] = true
		}
	}
	for _, n := range names {
		if !strings.HasPrefix(n, "sudo-") && !strings.HasPrefix(n, "admin-") || live[n] {
			continue
		}
		if err := d.Remove(n); err != nil {
			e.log.Warn("remove an ended sudo right", "drop-in", n, "err", err)
			continue
		}
		e.record(store.Event{Kind: "sudo", Detail: "right ended: drop-in " + sudoers.Prefix + n + " removed"})
	}
}
