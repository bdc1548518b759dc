package enforcer_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/internal/scratch"
)

// protectedTree makes a folder under /run (root's, 0755 all the way up,
// unlike the test's temporary directory below the world-writable /tmp)
// and removes it at the end.
func protectedTree(t *testing.T) string {
	t.Helper()
	scratch.NeedRoot(t, "protected folders are root's")
	dir, err := os.MkdirTemp("/run", "gatehouse-protected-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestProtectedLocation: a rule that allows a program by name only where
// users cannot have put it ("pre-approval protection"). The same name in a
// world-writable folder is denied (a name-only allow used to let any
// user-made copy run), and so is the approved one once a folder above it
// becomes writable: the location is read at each exec, not cached with the
// file.
func TestProtectedLocation(t *testing.T) {
	root := protectedTree(t)
	const content = "#!/bin/sh\necho tool\n"
	good := filepath.Join(root, "opt", "bin", "tool")
	if err := os.MkdirAll(filepath.Dir(good), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	writable := t.TempDir() // below /tmp: anyone may put files there
	copyOf := filepath.Join(writable, "tool")
	if err := os.WriteFile(copyOf, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(root, "policy.yaml")
	if err := os.WriteFile(pol, []byte(`id: protected
revision: 1
default: deny
groups:
  - name: tool
    definitions:
      - {path: {ends_with: /tool}, protected: true}
rules:
  - {group: tool, action: allow}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *enforcer.Config) { c.Policy = pol })
	if !h.exec(good, execOpt{uid: 1000}) {
		t.Fatal("the tool in a folder only root can write was denied")
	}
	if h.exec(copyOf, execOpt{uid: 1000}) {
		t.Error("a copy of the tool in a world-writable folder ran: the name-only allow matched it")
	}
	// A folder above the approved tool opens to everyone: the next exec
	// is denied, though the file itself has not changed.
	if err := os.Chmod(filepath.Dir(good), 0o777); err != nil {
		t.Fatal(err)
	}
	if h.exec(good, execOpt{uid: 1000}) {
		t.Error("the tool ran after a folder above it became writable by everyone")
	}
	if err := os.Chmod(filepath.Dir(good), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(filepath.Dir(filepath.Dir(good)), 1000, 1000); err != nil {
		t.Fatal(err)
	}
	if h.exec(good, execOpt{uid: 1000}) {
		t.Error("the tool ran below a folder that belongs to uid 1000")
	}
}
