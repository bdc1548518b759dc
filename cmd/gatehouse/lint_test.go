package main

import (
	"encoding/json"
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
