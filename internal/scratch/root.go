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
