package app

import (
	"testing"

	"github.com/gatehouse/gatehouse/localapi"
	"github.com/google/go-cmp/cmp"
)

func TestTrayText(t *testing.T) {
	for _, c := range []struct {
		s    Snapshot
		want string
	}{
		{Snapshot{}, "Connecting to gatehoused…"},
		{Snapshot{Error: "gatehoused is not running"}, "Not connected: gatehoused is not running"},
		{Snapshot{Connected: true, PolicyID: "corp", PolicyRevision: 12}, "Connected · policy corp revision 12"},
	} {
		if got := TrayStatus(c.s); got != c.want {
			t.Errorf("TrayStatus(%+v) = %q, want %q", c.s, got, c.want)
		}
	}
	got := TrayLines([]localapi.Request{
		{Path: "/opt/a", Kind: localapi.KindWarning, State: localapi.StatePending},
		{Path: "/Applications/Foo.app/Contents/MacOS/foo", Kind: localapi.KindApproval, State: localapi.StateSubmitted},
		{Path: "/usr/bin/nc", Kind: localapi.KindDenyNotify, State: localapi.StateCancelled},
		{Path: "/opt/b", Kind: localapi.KindApproval, State: localapi.StateApproved},
		{Path: "/opt/c", Kind: localapi.KindJustification, State: localapi.StateAnswered},
	})
	want := []string{"a — waiting for you", "Foo — waiting for approval", "nc — blocked", "b — approved", "c — allowed"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TrayLines (-want +got):\n%s", diff)
	}
}
