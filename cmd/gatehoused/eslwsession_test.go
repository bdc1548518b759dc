package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/enforcer"
	es "github.com/gatehouse/gatehouse/enforcer/endpointsecurity"
)

func TestESSessionEndsAtLogoutAndScreenLock(t *testing.T) {
	session := &es.LWSession{User: "anna", GraphicalSessionID: 257}
	for _, tt := range []struct {
		name   string
		msg    es.Message
		want   enforcer.SessionEnd
		wantOK bool
	}{
		{"a logout", es.Message{Event: es.NotifyLWSessionLogout, Action: es.ActionNotify, Session: session},
			enforcer.SessionEnd{User: "anna", Why: "logout"}, true},
		{"a screen lock", es.Message{Event: es.NotifyLWSessionLock, Action: es.ActionNotify, Session: session},
			enforcer.SessionEnd{User: "anna", Why: "screen lock"}, true},
		{"a lock without its event", es.Message{Event: es.NotifyLWSessionLock, Action: es.ActionNotify}, enforcer.SessionEnd{}, false},
		{"another event", es.Message{Event: es.NotifyFork, Action: es.ActionNotify, Session: session}, enforcer.SessionEnd{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := esSessionEnd(&tt.msg)
			if ok != tt.wantOK {
				t.Errorf("ok = %v, want %v", ok, tt.wantOK)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestESSessionEventsAreTheLoginWindowOnes(t *testing.T) {
	want := []es.EventType{115, 116} // ES_EVENT_TYPE_NOTIFY_LW_SESSION_LOGOUT, _LOCK
	if diff := cmp.Diff(want, esSessionEvents); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
