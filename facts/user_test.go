package facts

import (
	"os"
	"os/user"
	"slices"
	"testing"
)

func TestCurrentUser(t *testing.T) {
	name, uid, groups, err := CurrentUser()
	if err != nil {
		t.Fatal(err)
	}
	if name == "" {
		t.Error("empty user name")
	}
	if uid != uint32(os.Getuid()) {
		t.Errorf("uid = %d, want %d", uid, os.Getuid())
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		t.Skipf("primary group %s has no name: %v", u.Gid, err)
	}
	if len(groups) == 0 || groups[0] != g.Name {
		t.Errorf("groups = %q, want the primary group %q first", groups, g.Name)
	}
	seen := map[string]bool{}
	for _, g := range groups {
		if seen[g] {
			t.Errorf("group %q listed twice in %q", g, groups)
		}
		seen[g] = true
	}

	uid2, groups2, err := LookupUser(name)
	if err != nil || uid2 != uid || !slices.Equal(groups2, groups) {
		t.Errorf("LookupUser(%q) = %d, %q, %v; want %d, %q", name, uid2, groups2, err, uid, groups)
	}
}

func TestLookupUserUnknown(t *testing.T) {
	if _, _, err := LookupUser("no-such-user-gatehouse"); err == nil {
		t.Fatal("no error for an unknown user")
	}
}

func TestMachine(t *testing.T) {
	want, err := os.Hostname()
	if err != nil {
		t.Fatalf("os.Hostname: %v", err)
	}
	if got := Machine(); got != want {
		t.Errorf("Machine() = %q, want %q", got, want)
	}
}
