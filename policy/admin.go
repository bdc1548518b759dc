package policy

import (
	"fmt"
	"strings"
	"time"
)

// Admin sessions: timed admin rights a user asks for (gatehouse admin),
// under the policy's admin_sessions.

// MaxAdminSession bounds any admin session.
const MaxAdminSession = 24 * time.Hour

// AdminDecision is the admin_sessions entry that applies to a user.
type AdminDecision struct {
	Index            int // 1-based, in admin_sessions
	Name             string
	Require          Action // ActionUnset, Justification, Approval or ApprovalOffline
	MinJustification int
	Approvers        int
	Max, Default     time.Duration
	Message          *MessageTemplate
	PolicyID         string
	Revision         int64
}

type adminEntry struct {
	AdminDecision
	scope *ruleScope
}

// AdminSession is the entry of admin_sessions that applies to the user of
// f (User, Groups), and false when none does.
func (e *Engine) AdminSession(f *Facts) (AdminDecision, bool) {
	for i := range e.admin {
		a := &e.admin[i]
		r := rule{scope: a.scope}
		if r.inScope(f) {
			d := a.AdminDecision
			d.PolicyID, d.Revision = e.id, e.revision
			return d, true
		}
	}
	return AdminDecision{}, false
}

func (c *compiler) adminSessions(e *Engine) {
	for i := range c.doc.AdminSessions {
		s := &c.doc.AdminSessions[i]
		where := fmt.Sprintf("admin_sessions entry %d", i+1)
		if s.Name != "" {
			where += fmt.Sprintf(" %q", s.Name)
		}
		a := adminEntry{AdminDecision: AdminDecision{Index: i + 1, Name: s.Name, MinJustification: s.MinJustification, Approvers: s.Approvers}}
		switch s.Require {
		case "", "none":
		case "justification":
			a.Require = Justification
		case "approval":
			a.Require = Approval
		case "approval_offline":
			a.Require = ApprovalOffline
		default:
			c.errorf(s.Pos, where, "unknown require %q; use none, justification, approval or approval_offline", s.Require)
		}
		if s.Approvers < 0 || s.Approvers > 10 {
			c.errorf(s.Pos, where, "approvers must be 1 to 10, got %d", s.Approvers)
		} else if s.Approvers > 0 && a.Require != Approval && a.Require != ApprovalOffline {
			c.errorf(s.Pos, where, "approvers applies to require: approval; remove it or require approval")
		}
		if s.MinJustification < 0 {
			c.errorf(s.Pos, where, "min_justification must be 0 or more, got %d", s.MinJustification)
		}
		dur := func(text, key string, def time.Duration) time.Duration {
			if strings.TrimSpace(text) == "" {
				return def
			}
			d, err := time.ParseDuration(text)
			switch {
			case err != nil:
				c.errorf(s.Pos, where, "%s %q is not a duration; write it like 15m, 1h or 1h30m", key, text)
			case d < time.Minute || d > MaxAdminSession:
				c.errorf(s.Pos, where, "%s %s: use 1m to %s", key, d, MaxAdminSession)
			}
			return d
		}
		a.Max = dur(s.MaxDuration, "max_duration", time.Hour)
		a.Default = dur(s.DefaultDuration, "default_duration", min(15*time.Minute, a.Max))
		if a.Default > a.Max {
			c.errorf(s.Pos, where, "default_duration %s is longer than max_duration %s", a.Default, a.Max)
		}
		a.Message = c.message(s.Message, where+": message")
		sc := ruleScope{users: s.Users, groups: s.UserGroups, exUsers: s.ExcludeUsers, exGroups: s.ExcludeGroups}
		for _, l := range [][]string{s.Users, s.UserGroups, s.ExcludeUsers, s.ExcludeGroups} {
			for _, n := range l {
				if strings.TrimSpace(n) == "" {
					c.errorf(s.Pos, where, "a user or group name is empty; remove it")
				}
			}
		}
		if len(sc.users)+len(sc.groups)+len(sc.exUsers)+len(sc.exGroups) > 0 {
			a.scope = &sc
		}
		e.admin = append(e.admin, a)
	}
}
