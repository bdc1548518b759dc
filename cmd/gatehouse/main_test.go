package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestLintExitCodes(t *testing.T) {
	if code, out, _ := runCLI(t, "policy", "lint", "../../examples/policy.yaml"); code != exitOK || !strings.Contains(out, "ok") {
		t.Errorf("example: code %d, out %q", code, out)
	}
	code, out, _ := runCLI(t, "policy", "lint", "../../policy/policyfile/testdata/lint/references.yaml")
	if code != exitFail || strings.Count(out, "error:") != 5 {
		t.Errorf("references.yaml: code %d, want %d and 5 errors:\n%s", code, exitFail, out)
	}
	if code, _, _ := runCLI(t, "policy", "lint", "--strict", "../../policy/policyfile/testdata/lint/warnings.yaml"); code != exitFail {
		t.Errorf("--strict with warnings: code %d", code)
	}
	if code, _, _ := runCLI(t, "policy", "lint"); code != exitUsage {
		t.Errorf("no files: code %d", code)
	}
	code, out, _ = runCLI(t, "policy", "lint", "--json", "../../policy/policyfile/testdata/lint/types.yaml")
	var res []struct {
		OK          bool
		Diagnostics []struct{ Severity, Message string }
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != exitFail || len(res) != 1 || res[0].OK || len(res[0].Diagnostics) != 7 {
		t.Errorf("--json: code %d err %v res %+v", code, err, res)
	}
}

// TestExplainRealPrograms evaluates a policy against real files: a script
// made here, /bin/sh as its parent, real arguments.
func TestExplainRealPrograms(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "tool.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(pol, []byte(`id: t
revision: 2
groups:
  - name: shells
    definitions:
      - type: binary
        path: {regex: '^/(usr/)?bin/(ba|da)?sh$'}
  - name: mine
    definitions:
      - type: script
        path: {starts_with: `+dir+`/}
        args: {contains: --force}
      - type: script
        path: {starts_with: `+dir+`/}
        parent: {group: shells}
rules:
  - name: mine
    group: mine
    action: deny_message
    message: {title: "{name} blocked for {user}"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		args       []string
		wantRule   int
		wantAction string
		wantDef    int
	}{
		{"no match falls to default", []string{script}, 0, "allow", 0},
		{"argument matches", []string{"--arg", "--force", script}, 1, "deny_message", 1},
		{"other argument", []string{"--arg", "--dry-run", script}, 0, "allow", 0},
		{"parent shell matches", []string{script, "--parent", "/bin/sh"}, 1, "deny_message", 2},
		{"parent not a shell", []string{"--parent", "/bin/ls", script}, 0, "allow", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"policy", "explain", "--json", pol}, c.args...)
			code, out, errOut := runCLI(t, args...)
			if code != exitOK {
				t.Fatalf("code %d: %s", code, errOut)
			}
			var x struct {
				Program  struct{ Type, Path, SHA256 string }
				Decision struct {
					Action     string
					Rule       int
					Definition int
				}
				Message struct{ Title string }
			}
			if err := json.Unmarshal([]byte(out), &x); err != nil {
				t.Fatal(err)
			}
			if x.Decision.Rule != c.wantRule || x.Decision.Action != c.wantAction || x.Decision.Definition != c.wantDef {
				t.Errorf("decision %+v, want rule %d %s definition %d", x.Decision, c.wantRule, c.wantAction, c.wantDef)
			}
			if x.Program.Type != "script" || len(x.Program.SHA256) != 64 {
				t.Errorf("facts %+v", x.Program)
			}
			if c.wantRule == 1 && !strings.HasPrefix(x.Message.Title, "tool.sh blocked for ") {
				t.Errorf("message %q", x.Message.Title)
			}
		})
	}
	code, out, _ := runCLI(t, "policy", "explain", pol, script, "--arg", "--force")
	if code != exitOK || !strings.Contains(out, `rule 1 "mine"`) || !strings.Contains(out, "DENIED") {
		t.Errorf("text output:\n%s", out)
	}
	if code, _, errOut := runCLI(t, "policy", "explain", pol, "no-such-program-here"); code != exitFail || !strings.Contains(errOut, "not in PATH") {
		t.Errorf("missing program: code %d %q", code, errOut)
	}
}

func TestExplainBundledExample(t *testing.T) {
	code, out, errOut := runCLI(t, "policy", "explain", "-", "ls")
	if code != exitOK || !strings.Contains(out, `"system-allowed"`) {
		t.Fatalf("code %d\n%s%s", code, out, errOut)
	}
}

func TestParseArgsInterspersed(t *testing.T) {
	fs := newFlagSet("x", "x", &bytes.Buffer{})
	var l listFlag
	fs.Var(&l, "arg", "")
	pos, err := parseArgs(fs, []string{"a", "--arg", "1", "b", "--arg=2", "--", "--arg"})
	if err != nil || strings.Join(pos, ",") != "a,b,--arg" || strings.Join(l, ",") != "1,2" {
		t.Errorf("pos %q args %q err %v", pos, l, err)
	}
}
