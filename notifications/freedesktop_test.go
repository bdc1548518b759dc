package notifications

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestDBusActions(t *testing.T) {
	tests := []struct {
		name string
		in   []Action
		want []string
	}{
		{"none", nil, []string{"default", "Open"}},
		{"buttons", []Action{{"approve", "Approve"}, {"deny", "Deny"}}, []string{"default", "Open", "approve", "Approve", "deny", "Deny"}},
		{"default labelled, moved first", []Action{{"deny", "Deny"}, {"default", "Show"}}, []string{"default", "Show", "deny", "Deny"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, dbusActions(tt.in)); diff != "" {
				t.Errorf("dbusActions (-want +got):\n%s", diff)
			}
		})
	}
}

func TestKinds(t *testing.T) {
	for reason, want := range map[uint32]ResponseKind{0: Closed, 1: Expired, 2: Dismissed, 3: Closed, 4: Closed, 99: Closed} {
		if got := closeKind(reason); got != want {
			t.Errorf("closeKind(%d) = %v, want %v", reason, got, want)
		}
	}
	if actionKind("default") != Clicked || actionKind("approve") != ActionInvoked {
		t.Error("actionKind")
	}
	if ResponseKind(0).String() != "ResponseKind(0)" || Dismissed.String() != "dismissed" {
		t.Error("String")
	}
}

func TestIDTable(t *testing.T) {
	tab := newIDTable()
	tab.put("a", 1, "pa")
	tab.put("b", 2, "pb")
	if got := tab.replaces("a"); got != 1 {
		t.Errorf("replaces(a) = %d", got)
	}
	// A replacement with a new server id forgets the old one.
	tab.put("a", 3, "pa2")
	if _, ok := tab.take(1, Dismissed, ""); ok {
		t.Error("old server id still maps")
	}
	r, ok := tab.take(3, ActionInvoked, "approve")
	if want := (Response{ID: "a", Kind: ActionInvoked, ActionKey: "approve", Payload: "pa2"}); !ok || r != want {
		t.Errorf("take(3) = %+v %v, want %+v", r, ok, want)
	}
	if _, ok := tab.take(3, Dismissed, ""); ok {
		t.Error("second response for one notification")
	}
	// A close carries no action key.
	if r, _ := tab.take(2, Dismissed, "junk"); r.ActionKey != "" {
		t.Errorf("dismissed with key %q", r.ActionKey)
	}
	// A server that reuses an id (it restarted) replaces the older owner.
	tab.put("c", 5, "")
	tab.put("d", 5, "")
	if _, ok := tab.remove("c"); ok {
		t.Error("c survived id reuse")
	}
	tab.put("e", 6, "pe")
	got := tab.drain()
	want := []Response{{ID: "d", Kind: Closed}, {ID: "e", Kind: Closed, Payload: "pe"}}
	if diff := cmp.Diff(want, got, cmpopts.SortSlices(func(a, b Response) bool { return a.ID < b.ID })); diff != "" {
		t.Errorf("drain (-want +got):\n%s", diff)
	}
	if len(tab.byID) != 0 || len(tab.byServer) != 0 || slices.Contains([]uint32{tab.replaces("d")}, 5) {
		t.Error("drain left entries")
	}
}
