package enforcer_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/store"
)

// What the system reports of authorization requests after the fact is
// recorded as kind auth_seen — the program, the user, the rights, petition
// or judgement and what was granted — and never as a decision (kind auth).
func TestAuthorizationSeenIsRecordedNotDecided(t *testing.T) {
	h := newHarness(t, nil)
	const settings = "/System/Applications/System Settings.app/Contents/MacOS/System Settings"
	const tool = "/Applications/Tool.app/Contents/MacOS/Tool"
	rights := []string{"system.preferences.security", "system.privilege.admin"}
	type seen struct {
		Action, User, Path, Detail string
		PID                        int32
		UID                        uint32
		Args                       []string
		Allowed                    bool
	}
	for _, tt := range []struct {
		name string
		in   enforcer.AuthorizationSeen
		want seen
	}{
		{"a petition", enforcer.AuthorizationSeen{PID: 812, Program: settings, Petitioner: settings, Rights: rights},
			seen{Action: "petition", User: "root", Path: settings, PID: 812, Args: rights,
				Detail: "petition for system.preferences.security, system.privilege.admin"}},
		{"a petition a helper makes with another program's request", enforcer.AuthorizationSeen{PID: 813, Program: "/usr/libexec/helper",
			Petitioner: tool, Rights: rights[1:]},
			seen{Action: "petition", User: "root", Path: "/usr/libexec/helper", PID: 813, Args: rights[1:],
				Detail: "petition for system.privilege.admin; the request was created by " + tool}},
		{"a judgement granting one right of two", enforcer.AuthorizationSeen{PID: 814, Program: settings, Rights: rights, Judged: true,
			Granted: rights[:1], ReturnCode: -60005},
			seen{Action: "judgement", User: "root", Path: settings, PID: 814, Args: rights,
				Detail: "judgement: granted system.preferences.security; not granted system.privilege.admin; return code -60005 (denied)"}},
		{"a judgement granting every right", enforcer.AuthorizationSeen{PID: 815, Program: tool, Rights: rights, Judged: true, Granted: rights},
			seen{Action: "judgement", User: "root", Path: tool, PID: 815, Args: rights, Allowed: true,
				Detail: "judgement: granted system.preferences.security, system.privilege.admin"}},
		{"a judgement the user canceled", enforcer.AuthorizationSeen{PID: 816, Program: tool, Rights: rights[1:], Judged: true, ReturnCode: -60006},
			seen{Action: "judgement", User: "root", Path: tool, PID: 816, Args: rights[1:],
				Detail: "judgement: granted none; not granted system.privilege.admin; return code -60006 (canceled by the user)"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h.e.SeeAuthorization(tt.in)
			var got []seen
			waitFor(t, "the auth_seen event of "+tt.name, func() bool {
				got = nil
				for _, ev := range h.events(store.Filter{Kind: "auth_seen"}) {
					if ev.PID == tt.want.PID {
						if ev.AppType != "auth" {
							t.Errorf("app type %q, want auth", ev.AppType)
						}
						got = append(got, seen{Action: ev.Action, User: ev.User, Path: ev.Path, Detail: ev.Detail, PID: ev.PID,
							UID: ev.UID, Args: ev.Args, Allowed: ev.Allowed})
					}
				}
				return len(got) > 0
			})
			if diff := cmp.Diff([]seen{tt.want}, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if evs := h.events(store.Filter{Kind: "auth"}); len(evs) != 0 {
		t.Errorf("reports recorded as decisions: %+v", evs)
	}
}
