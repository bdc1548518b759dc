package fanotify

import (
	"slices"
	"strings"
	"testing"
)

// TestLocalMounts reads this machine's mount table.
func TestLocalMounts(t *testing.T) {
	ms, err := Mounts()
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(ms, func(m Mount) bool { return m.Point == "/proc" && m.FSType == "proc" }) {
		t.Skip("no proc on /proc in this mount namespace")
	}
	got, err := LocalMounts([]string{"/tmp", "/run/"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got, "/") {
		t.Errorf("LocalMounts = %q, want / in it", got)
	}
	for _, p := range got {
		if p == "/proc" || p == "/sys" || strings.HasPrefix(p, "/proc/") || p == "/dev/pts" ||
			p == "/tmp" || strings.HasPrefix(p, "/tmp/") || p == "/run" || strings.HasPrefix(p, "/run/") {
			t.Errorf("LocalMounts = %q: %s should be left out", got, p)
		}
	}
}
