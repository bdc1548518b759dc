package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLintWarnsOfSymlinkedPaths: a path criterion through a symbolic link
// on this machine never matches (programs run under their resolved path);
// lint and explain say so with the resolved path, --portable does not look.
func TestLintWarnsOfSymlinkedPaths(t *testing.T) {
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	real := filepath.Join(dir, "usr", "bin")
	if err := os.MkdirAll(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(real, "tool"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("usr/bin", filepath.Join(dir, "bin")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("tool", filepath.Join(real, "tool-link")); err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(pol, []byte(`id: t
revision: 1
groups:
  - name: g
    definitions:
      - path: `+dir+`/bin/tool
      - path: {starts_with: `+dir+`/bin/}
      - path: `+real+`/tool-link
      - path: {starts_with: `+real+`/}
      - path: `+dir+`/bin/not-here-yet
rules:
  - {group: g, action: deny}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	_, out, _ := runCLI(t, "policy", "lint", pol)
	for _, want := range []string{
		`definition 1: path: exact "` + dir + `/bin/tool" goes through the symbolic link ` + dir + `/bin → usr/bin on this machine`,
		`use "` + real + `/tool"`,
		`definition 2: path: starts_with "` + dir + `/bin/"`, `use "` + real + `/"`,
		`definition 3: path: exact "` + real + `/tool-link"`, `use "` + real + `/tool"`,
		`definition 5: path: exact "` + dir + `/bin/not-here-yet"`, `use "` + real + `/not-here-yet"`,
		"ok, 4 warnings",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lint output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "definition 4") {
		t.Errorf("a path without links is warned about:\n%s", out)
	}
	if _, out, _ := runCLI(t, "policy", "lint", "--portable", pol); strings.Contains(out, "symbolic link") {
		t.Errorf("--portable still checks this machine:\n%s", out)
	}
	if _, _, errOut := runCLI(t, "policy", "explain", pol, filepath.Join(real, "tool")); !strings.Contains(errOut, "symbolic link") {
		t.Errorf("explain does not warn of the symlinked paths:\n%s", errOut)
	}
}
