package apiserver

import (
	"fmt"
	"strings"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/policy"
)

// The engine's values as the wire carries them: each mapped here, once.

func statusToWire(s enforcer.Status) localapi.Status {
	return localapi.Status{
		Version: localapi.Version, Started: s.Started, PolicyID: s.PolicyID, PolicyRevision: s.PolicyRevision,
		PolicyPath: s.PolicyPath, PolicyLoaded: s.PolicyLoaded, PolicyError: s.PolicyError, Source: s.Source,
		FailClosed: s.FailClosed, Marks: s.Marks, Counters: s.Counters,
		Audit: &localapi.AuditHealth{OK: s.Audit.OK, Error: s.Audit.Error, FailingSince: s.Audit.FailingSince},
		Gaps:  gapsToWire(s.Gaps),
		You: localapi.Identity{UID: s.Caller.UID, PID: s.Caller.Peer.PID, User: s.Caller.User,
			Root: s.Caller.Kind == enforcer.ActorRoot, Kind: s.Caller.Kind.String()},
		Admin: adminStatusToWire(s.Admin),
	}
}

func adminStatusToWire(a *enforcer.AdminStatus) *localapi.AdminStatus {
	if a == nil {
		return nil
	}
	out := &localapi.AdminStatus{GrantID: a.GrantID, Until: a.Until}
	if x := a.Ended; x != nil {
		out.Ended = &localapi.EndedAdmin{GrantID: x.GrantID, At: x.At, Why: x.Why}
		for _, p := range x.StillRoot {
			out.Ended.StillRoot = append(out.Ended.StillRoot, localapi.RootProcess{PID: p.PID, Exe: p.Exe, TTY: p.TTY})
		}
	}
	if o := a.Offer; o != nil {
		out.Offer = &localapi.AdminOffer{Entry: o.Entry, Require: o.Require, MinJustification: o.MinJustification,
			Max: o.Max.String(), Default: o.Default.String()}
	}
	return out
}

func gapsToWire(gs []enforcer.Gap) []localapi.Gap {
	out := make([]localapi.Gap, 0, len(gs))
	for _, g := range gs {
		out = append(out, localapi.Gap{Name: g.Name, Open: g.Open, Detail: g.Detail, Fix: g.Fix})
	}
	return out
}

func eventToWire(ev store.Event) localapi.Event {
	return localapi.Event{ID: ev.ID, Time: ev.Time, Kind: ev.Kind, Action: ev.Action, Allowed: ev.Allowed, Rule: ev.Rule,
		RuleName: ev.RuleName, Group: ev.Group, PolicyID: ev.PolicyID, PolicyRevision: ev.PolicyRevision, UID: ev.UID,
		User: ev.User, PID: ev.PID, Path: ev.Path, SHA256: ev.SHA256, Args: ev.Args, Groups: ev.Groups, Parent: ev.Parent, Parents: ev.Parents, AppType: ev.AppType,
		Source: ev.Source, Reason: ev.Reason, GrantID: ev.GrantID, RequestID: ev.RequestID, Count: ev.Count, Detail: ev.Detail, Session: ev.Session}
}

func (s *Server) requestToWire(r store.Request) localapi.Request {
	return localapi.Request{Route: s.eng.ApprovalRoute(r), ID: r.ID, Created: r.Created, Updated: r.Updated, UID: r.UID, User: r.User, PID: r.PID,
		Kind: r.Kind, State: r.State, Path: r.Path, SHA256: r.SHA256, Args: r.Args, Cwd: r.Cwd, Rule: r.Rule,
		RuleName: r.RuleName, Group: r.Group, PolicyRevision: r.PolicyRevision, Title: r.Title, Body: r.Body, URL: r.URL,
		MinJustification: r.MinJustification, Approvers: r.Approvers, Reason: r.Reason, WindowStart: r.WindowStart, WindowEnd: r.WindowEnd, DecidedBy: r.DecidedBy,
		Notified: r.Notified, Terminal: r.TTY != "", AppType: r.AppType, Publisher: r.Publisher, TeamID: r.TeamID,
		SigningID: r.SigningID, Machine: r.Machine, RequestCode: r.RequestCode}
}

func grantToWire(g store.Grant) localapi.Grant {
	return localapi.Grant{ID: g.ID, UID: g.UID, Path: g.Path, SHA256: g.SHA256, Created: g.Created, Expires: g.Expires,
		UsesLeft: g.UsesLeft, Origin: g.Origin, Reason: g.Reason, RequestID: g.RequestID}
}

func (s *Server) answerToWire(res enforcer.AnswerResult, err error) (any, error) {
	if err != nil {
		return nil, err
	}
	out := localapi.AnswerResult{Request: s.requestToWire(res.Request)}
	if res.Grant != nil {
		g := grantToWire(*res.Grant)
		out.Grant = &g
	}
	return out, nil
}

func checkToWire(res enforcer.CheckResult) localapi.CheckResult {
	d := res.Decision
	out := localapi.CheckResult{Path: res.Subject.Path, AppType: res.Subject.Type.String(), SHA256: res.Subject.SHA256,
		User: res.User, Action: d.Action.String(), Allowed: res.Allowed, Rule: d.Rule, RuleName: d.RuleName,
		Group: d.Group, PolicyID: d.PolicyID, PolicyRevision: d.Revision}
	for _, t := range res.Trace {
		out.Trace = append(out.Trace, traceLine(t))
	}
	if res.Grant != nil {
		g := grantToWire(*res.Grant)
		out.Grant = &g
	}
	return out
}

func traceLine(t policy.RuleTrace) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rule %d", t.Rule)
	if t.Name != "" {
		fmt.Fprintf(&b, " %q", t.Name)
	}
	fmt.Fprintf(&b, " (%s, group %s): ", t.Action, t.Group)
	switch {
	case t.Matched:
		b.WriteString("matched")
	case t.OutOfScope != "":
		b.WriteString("not for this user: " + t.OutOfScope)
	default:
		var why []string
		for _, d := range t.Definitions {
			why = append(why, fmt.Sprintf("definition %d: %s", d.Definition, strings.Join(d.Failed, "; ")))
		}
		b.WriteString("no match")
		if len(why) > 0 {
			b.WriteString(" — " + strings.Join(why, " | "))
		}
	}
	return b.String()
}
