package scratch

import (
	"os"
	"testing"
)

// NeedRoot skips the test unless it runs as root, saying why (what needs
// root). CI runs as root: there (CI set) a test that would skip fails
// instead, so a root-only test never goes unrun.
func NeedRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("needs root (%s), and CI runs as root", why)
	}
	t.Skipf("needs root: %s (runs in CI as root)", why)
}

// Need skips the test unless ok, saying what the machine lacks (what).
// CI machines have everything the tests need (cgroup v2, util-linux,
// user namespaces, memfd execs, sparse files): there (CI set) a test that
// would skip fails instead, so it never goes unrun.
func Need(t testing.TB, ok bool, what string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("this machine lacks what the test needs (%s), and CI machines have it", what)
	}
	t.Skipf("this machine lacks what the test needs: %s (runs in CI)", what)
}
