package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/explain")

// TestExplainGolden replays facts this machine cannot produce (publishers,
// team ids, bundles, package installs, authorization requests, deletions)
// through `explain --facts` and compares the whole text output with the
// .golden file beside each facts file.
func TestExplainGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/explain/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no facts files in testdata/explain: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			code, out, errOut := runCLI(t, "policy", "explain", "testdata/explain/policy.yaml", "--facts", f)
			if code != exitOK {
				t.Fatalf("code %d: %s", code, errOut)
			}
			golden := strings.TrimSuffix(f, ".json") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/gatehouse -update to create it)", err)
			}
			if out != string(want) {
				t.Errorf("explain --facts %s:\n--- got\n%s--- want\n%s", f, out, want)
			}
		})
	}
}

// TestExplainFactsErrors: a facts file with a mistake says what and where.
func TestExplainFactsErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ name, text, want string }{
		{"syntax", "{\n  \"program\": {\"type\": \"binary\",, \"path\": \"/x\"}\n}", "line 2, column"},
		{"unknown key", `{"program": {"type": "binary", "path": "/x"}, "usr": "ana"}`, `unknown field "usr"; facts have program`},
		{"unknown program key", `{"program": {"type": "binary", "path": "/x", "publisher_name": "A"}}`, `unknown field "publisher_name"`},
		{"no program", `{"user": "ana"}`, `no "program"`},
		{"bad type", `{"program": {"type": "app", "path": "/x"}}`, `unknown type "app"`},
		{"bad event", `{"program": {"type": "binary", "path": "/x"}, "event": "run"}`, `unknown event "run"`},
		{"auth without uri", `{"program": {"type": "binary", "path": "/x"}, "event": "auth_request"}`, "needs auth_uri"},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-")+".json")
		if err := os.WriteFile(p, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		code, _, errOut := runCLI(t, "policy", "explain", "testdata/explain/policy.yaml", "--facts", p)
		if code != exitFail || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: code %d, %q; want a failure saying %q", c.name, code, errOut, c.want)
		}
	}
	if code, _, errOut := runCLI(t, "policy", "explain", "testdata/explain/policy.yaml", "--facts", "x.json", "--user", "ana"); code != exitUsage || !strings.Contains(errOut, "put user") {
		t.Errorf("--facts with --user: code %d %q", code, errOut)
	}
	// explain --json's output is a facts file: replaying it gives the same decision.
	_, out, _ := runCLI(t, "policy", "explain", "--json", "testdata/explain/policy.yaml", "--facts", "testdata/explain/chrome-old.json")
	replay := filepath.Join(dir, "replay.json")
	os.WriteFile(replay, []byte(out), 0o644)
	_, again, errOut := runCLI(t, "policy", "explain", "--json", "testdata/explain/policy.yaml", "--facts", replay)
	if again != out {
		t.Errorf("replaying explain --json's output changed it:\n%s\n%s%s", out, again, errOut)
	}
}

// FuzzParseFacts: any bytes as a --facts file give facts or an error,
// never a panic.
func FuzzParseFacts(f *testing.F) {
	for _, s := range []string{
		`{"program": {"type": "binary", "path": "/x"}}`,
		`{"program": {"type": "package", "path": "/p.pkg"}, "event": "auth_request", "auth_uri": "system.install.software"}`,
		`{"program": {"type": "bundle", "path": "/A.app", "protection": "protected"}, "parents": [{"type": "binary", "path": "/sh"}]}`,
		"{\n \"program\": {\"type\": \"binary\",, }}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fs, err := parseFacts("f.json", data)
		if err == nil && (fs == nil || fs.Path == "") {
			t.Fatalf("no error and no program: %+v", fs)
		}
	})
}
