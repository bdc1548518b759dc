package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"
)

// TestLintJSONKeysAreLowerCase: scripts read lint --json; every key, the
// positions' included, is spelled in lower case (they were File, Line and
// Col while the rest was lower case).
func TestLintJSONKeysAreLowerCase(t *testing.T) {
	_, out, _ := runCLI(t, "policy", "lint", "--json", "../../policy/policyfile/testdata/lint/types.yaml")
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v:\n%s", err, out)
	}
	var keys []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				keys = append(keys, k)
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(v)
	seen := map[string]bool{}
	for _, k := range keys {
		seen[k] = true
		if strings.IndexFunc(k, unicode.IsUpper) >= 0 {
			t.Errorf("key %q is not lower case", k)
		}
	}
	for _, k := range []string{"pos", "file", "line", "col", "severity", "message"} {
		if !seen[k] {
			t.Errorf("no %q key in lint --json output:\n%s", k, out)
		}
	}
}

// TestLintJSONIsStrict: a .json policy with a trailing comma is an error at
// the comma (it linted ok: JSON went through the YAML parser).
func TestLintJSONIsStrict(t *testing.T) {
	code, out, _ := runCLI(t, "policy", "lint", "--portable", "../../policy/policyfile/testdata/lint/json-trailing-comma.json")
	if code != exitFail || !strings.Contains(out, "json-trailing-comma.json:5:58: error: syntax: a comma before ']'") {
		t.Errorf("code %d:\n%s", code, out)
	}
}

// TestLintCapsDiagnostics: the first 100, then a line that counts the rest;
// --max-diagnostics changes the number, 0 shows all; the summary and
// --json count every one.
func TestLintCapsDiagnostics(t *testing.T) {
	var b strings.Builder
	for i := range 500 {
		fmt.Fprintf(&b, "key%03d: %d\n", i, i)
	}
	p := filepath.Join(t.TempDir(), "keys.yaml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, "policy", "lint", p)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != exitFail || len(lines) != 102 || lines[100] != p+": error: and 400 more errors not shown" ||
		!strings.HasPrefix(lines[101], p+": 500 errors;") {
		t.Errorf("code %d, %d lines, the last:\n%s", code, len(lines), strings.Join(lines[max(0, len(lines)-3):], "\n"))
	}
	if _, out, _ := runCLI(t, "policy", "lint", "--max-diagnostics", "0", p); strings.Count(out, "\n") != 501 {
		t.Errorf("--max-diagnostics 0: %d lines", strings.Count(out, "\n"))
	}
	_, out, _ = runCLI(t, "policy", "lint", "--json", "--max-diagnostics", "3", p)
	var res []struct {
		Diagnostics []struct {
			Message       string
			OmittedErrors int `json:"omitted_errors"`
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res) != 1 || len(res[0].Diagnostics) != 4 || res[0].Diagnostics[3].OmittedErrors != 497 {
		t.Errorf("--json: %v\n%s", err, out)
	}
}

func TestLintSizeLimit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(p, []byte("id: big\ndescription: "+strings.Repeat("x", 2000)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, "policy", "lint", "--max-size", "1KiB", p)
	if code != exitFail || !strings.Contains(out, "is 2,022 bytes, over the size limit of 1 KiB") || !strings.Contains(out, "or raise the size limit with --max-size") {
		t.Errorf("code %d:\n%s", code, out)
	}
	if _, out, _ := runCLI(t, "policy", "lint", "--max-size", "4096", p); strings.Contains(out, "size limit") {
		t.Errorf("under the limit:\n%s", out)
	}
	for _, bad := range []string{"0", "-1", "4MB", "lots"} {
		if code, _, errOut := runCLI(t, "policy", "lint", "--max-size", bad, p); code != exitUsage || !strings.Contains(errOut, "KiB, MiB or GiB") {
			t.Errorf("--max-size %s: code %d %q", bad, code, errOut)
		}
	}
}
