package opendirectory

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeRecords is the admin group in memory, recording each call.
type fakeRecords struct {
	members map[string]bool
	calls   []string
	fail    map[string]error // by call: "isMember", "addMember", "removeMember"
}

func newFake(members ...string) *fakeRecords {
	f := &fakeRecords{members: map[string]bool{}, fail: map[string]error{}}
	for _, m := range members {
		f.members[m] = true
	}
	return f
}

func (f *fakeRecords) call(name, user string) error {
	f.calls = append(f.calls, name+" "+user)
	return f.fail[name]
}

func (f *fakeRecords) isMember(user string) (bool, error) {
	if err := f.call("isMember", user); err != nil {
		return false, err
	}
	return f.members[user], nil
}

func (f *fakeRecords) addMember(user string) error {
	if err := f.call("addMember", user); err != nil {
		return err
	}
	f.members[user] = true
	return nil
}

func (f *fakeRecords) removeMember(user string) error {
	if err := f.call("removeMember", user); err != nil {
		return err
	}
	delete(f.members, user)
	return nil
}

func TestAddMakesAMemberOfOneWhoIsNot(t *testing.T) {
	f := newFake("root")
	g := &Group{r: f}
	added, err := g.Add("anna")
	if err != nil || !added {
		t.Fatalf("Add = %v, %v; want added", added, err)
	}
	if diff := cmp.Diff([]string{"isMember anna", "addMember anna"}, f.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if member, err := g.IsMember("anna"); err != nil || !member {
		t.Errorf("IsMember after Add = %v, %v", member, err)
	}
}

func TestAddLeavesAMemberAlone(t *testing.T) {
	f := newFake("anna")
	added, err := (&Group{r: f}).Add("anna")
	if err != nil || added {
		t.Fatalf("Add = %v, %v; want not added, so the session's end never removes her", added, err)
	}
	if diff := cmp.Diff([]string{"isMember anna"}, f.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestRemoveTakesOutAMemberAndLeavesANonMemberAlone(t *testing.T) {
	f := newFake("anna")
	g := &Group{r: f}
	if err := g.Remove("anna"); err != nil {
		t.Fatal(err)
	}
	if err := g.Remove("bob"); err != nil {
		t.Errorf("Remove of a non-member: %v, want no error", err)
	}
	want := []string{"isMember anna", "removeMember anna", "isMember bob"}
	if diff := cmp.Diff(want, f.calls); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
	if f.members["anna"] {
		t.Error("anna is still a member")
	}
}

func TestErrorsNameTheUser(t *testing.T) {
	boom := errors.New("eDSPermissionError")
	for _, tt := range []struct {
		name string
		fail string
		do   func(g *Group) error
		want string
	}{
		{"the membership check of Add", "isMember", func(g *Group) error { _, err := g.Add("anna"); return err }, "is anna in the admin group"},
		{"the add", "addMember", func(g *Group) error { _, err := g.Add("anna"); return err }, "add anna to the admin group"},
		{"the membership check of Remove", "isMember", func(g *Group) error { return g.Remove("bob") }, "is bob in the admin group"},
		{"the removal", "removeMember", func(g *Group) error { return g.Remove("bob") }, "remove bob from the admin group"},
		{"IsMember", "isMember", func(g *Group) error { _, err := g.IsMember("anna"); return err }, "is anna in the admin group"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake("bob")
			f.fail[tt.fail] = boom
			err := tt.do(&Group{r: f})
			if !errors.Is(err, boom) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to wrap %v and say %q", err, boom, tt.want)
			}
		})
	}
	// A failed add reports nothing added.
	f := newFake()
	f.fail["addMember"] = boom
	if added, _ := (&Group{r: f}).Add("anna"); added {
		t.Error("a failed add said added")
	}
}

func TestBadNamesAreRefusedBeforeAnyCall(t *testing.T) {
	for _, name := range []string{
		"", strings.Repeat("a", 256), "an\x00na", "../anna", "/Users/anna", "dsRecTypeStandard:Users",
		"anna bob", "anna\n", "\tanna", "an\u00a0na", "an\xffna",
	} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			f := newFake()
			g := &Group{r: f}
			_, addErr := g.Add(name)
			removeErr := g.Remove(name)
			_, memberErr := g.IsMember(name)
			for _, err := range []error{addErr, removeErr, memberErr} {
				if !errors.Is(err, errBadName) {
					t.Errorf("err = %v, want a refused name", err)
				}
			}
			if len(f.calls) != 0 {
				t.Errorf("a bad name reached the directory: %q", f.calls)
			}
		})
	}
	for _, name := range []string{"anna", "a.b-c_d", "_mbsetupuser", strings.Repeat("a", 255), "jürgen"} {
		if err := validName(name); err != nil {
			t.Errorf("%q refused: %v", name, err)
		}
	}
}
