package app

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/request"
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
		{Path: "/opt/a", Kind: request.Warning, State: request.Pending},
		{Path: "/Applications/Foo.app/Contents/MacOS/foo", Kind: request.Approval, State: request.Submitted},
		{Path: "/usr/bin/nc", Kind: request.DenyNotify, State: request.Cancelled},
		{Path: "/opt/b", Kind: request.Approval, State: request.Approved},
		{Path: "/opt/c", Kind: request.Justification, State: request.Answered},
	})
	want := []string{"a — waiting for you", "Foo — waiting for approval", "nc — blocked", "b — approved", "c — allowed"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("TrayLines (-want +got):\n%s", diff)
	}
}
