package scratch

import (
	"os/exec"
	"os/user"
	"strconv"
	"testing"
)

// User makes a throwaway local user called name (no home, /bin/sh) for
// the test, removed when it ends, and returns its uid and gid. It needs
// root (NeedRoot) and useradd (Linux).
func User(t testing.TB, name string) (uid, gid uint32) {
	t.Helper()
	if out, err := exec.Command("useradd", "--no-create-home", "--shell", "/bin/sh", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v %s", name, err, out)
	}
	t.Cleanup(func() { exec.Command("userdel", name).Run() })
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := strconv.ParseUint(u.Uid, 10, 32)
	b, _ := strconv.ParseUint(u.Gid, 10, 32)
	return uint32(a), uint32(b)
}
