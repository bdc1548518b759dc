//go:build linux

package enforcer_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/store"
)

// A policy that looks at contents, and a file whose contents cannot be
// held (it is on /proc, a filesystem that is not one of local files, as a
// FUSE or network one is not): unholdable_files decides, and says so.
func TestUnholdableContents(t *testing.T) {
	const pol = "id: content\nrevision: 1\ndefault: allow\ngroups:\n  - name: bad\n    definitions: [{sha256: " +
		"0000000000000000000000000000000000000000000000000000000000000000}]\nrules:\n  - {group: bad, action: deny}\n"
	for _, tt := range []struct {
		mode  string
		allow bool
		count string
	}{{"deny", false, "content_unheld"}, {"decide", true, "content_as_read"}} {
		t.Run(tt.mode, func(t *testing.T) {
			h := newHarnessWith(t, func(c *enforcer.Config) {
				p := filepath.Join(t.TempDir(), "content.yaml")
				if err := os.WriteFile(p, []byte(pol), 0o644); err != nil {
					t.Fatal(err)
				}
				c.Policy, c.UnholdableFiles = p, tt.mode
			}, enforcer.Options{HoldContents: true})
			if got := h.exec("/proc/version", execOpt{uid: 1000}); got != tt.allow {
				t.Errorf("unholdable_files: %s: allowed %v, want %v", tt.mode, got, tt.allow)
			}
			if n := h.e.Counter(tt.count); n != 1 {
				t.Errorf("%s = %d, want 1", tt.count, n)
			}
			if tt.allow {
				return
			}
			waitFor(t, "the deny's record", func() bool {
				for _, ev := range h.events(store.Filter{Kind: "exec"}) {
					if ev.Path == "/proc/version" && !ev.Allowed && strings.Contains(ev.Detail, "proc") && strings.Contains(ev.Detail, "contents") {
						return true
					}
				}
				return false
			})
		})
	}
}
