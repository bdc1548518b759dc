package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/enforcer"
	es "github.com/gatehouse/gatehouse/enforcer/endpointsecurity"
)

func TestESAuthorizationPetitionsAndJudgementsAreSeen(t *testing.T) {
	const settings = "/System/Applications/System Settings.app/Contents/MacOS/System Settings"
	const tool = "/Applications/Tool.app/Contents/MacOS/Tool"
	proc := func(pid int32, ruid uint32, exe string) *es.Process {
		// Effective uid root, as a setuid helper's: the real uid is the user's.
		return &es.Process{Token: es.AuditToken{PID: pid, RUID: ruid, EUID: 0}, Executable: es.File{Path: exe}}
	}
	rights := []string{"system.preferences.security", "system.privilege.admin"}
	results := []es.AuthResult{{Right: rights[0], RuleClass: 1, Granted: true}, {Right: rights[1], RuleClass: 0}}
	for _, tt := range []struct {
		name   string
		msg    es.Message
		want   enforcer.AuthorizationSeen
		wantOK bool
	}{
		{"a petition", es.Message{Event: es.NotifyAuthorizationPetition, Action: es.ActionNotify,
			Petition: &es.AuthPetition{Instigator: proc(812, 501, settings), Petitioner: proc(813, 501, tool), Flags: 0x13, Rights: rights}},
			enforcer.AuthorizationSeen{PID: 812, UID: 501, Program: settings, Petitioner: tool, Rights: rights}, true},
		{"a petition without a petitioner", es.Message{Event: es.NotifyAuthorizationPetition, Action: es.ActionNotify,
			Petition: &es.AuthPetition{Instigator: proc(812, 501, settings), Rights: rights[1:]}},
			enforcer.AuthorizationSeen{PID: 812, UID: 501, Program: settings, Rights: rights[1:]}, true},
		{"a petition without an instigator is the petitioner's", es.Message{Event: es.NotifyAuthorizationPetition, Action: es.ActionNotify,
			Petition: &es.AuthPetition{Petitioner: proc(813, 502, tool), Rights: rights}},
			enforcer.AuthorizationSeen{PID: 813, UID: 502, Program: tool, Petitioner: tool, Rights: rights}, true},
		{"a judgement", es.Message{Event: es.NotifyAuthorizationJudgement, Action: es.ActionNotify,
			Judgement: &es.AuthJudgement{Instigator: proc(812, 501, settings), ReturnCode: -60005, Results: results}},
			enforcer.AuthorizationSeen{PID: 812, UID: 501, Program: settings, Rights: rights, Judged: true, Granted: rights[:1], ReturnCode: -60005}, true},
		{"a judgement of nothing", es.Message{Event: es.NotifyAuthorizationJudgement, Action: es.ActionNotify,
			Judgement: &es.AuthJudgement{Instigator: proc(812, 501, settings)}},
			enforcer.AuthorizationSeen{PID: 812, UID: 501, Program: settings, Judged: true}, true},
		{"a judgement naming no process", es.Message{Event: es.NotifyAuthorizationJudgement, Action: es.ActionNotify,
			Judgement: &es.AuthJudgement{Results: results}}, enforcer.AuthorizationSeen{}, false},
		{"a petition without its event", es.Message{Event: es.NotifyAuthorizationPetition, Action: es.ActionNotify},
			enforcer.AuthorizationSeen{}, false},
		{"a judgement's event under a petition's type", es.Message{Event: es.NotifyAuthorizationPetition, Action: es.ActionNotify,
			Judgement: &es.AuthJudgement{Instigator: proc(812, 501, settings)}}, enforcer.AuthorizationSeen{}, false},
		{"another event", es.Message{Event: es.NotifyFork, Action: es.ActionNotify}, enforcer.AuthorizationSeen{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := esAuthorizationSeen(&tt.msg)
			if ok != tt.wantOK {
				t.Errorf("ok = %v, want %v", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestESAuthEventsAreTheAuthorizationOnesAndApartFromSessions(t *testing.T) {
	want := []es.EventType{129, 130} // ES_EVENT_TYPE_NOTIFY_AUTHORIZATION_PETITION, _JUDGEMENT
	if diff := cmp.Diff(want, esAuthEvents); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	for _, a := range esAuthEvents {
		for _, s := range esSessionEvents {
			if a == s {
				t.Errorf("event %d is in both subscriptions: a macOS 13 would lose the session events with it", a)
			}
		}
	}
}
