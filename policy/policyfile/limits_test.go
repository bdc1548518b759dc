package policyfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/policy"
)

// The limits are asserted here as counts and lengths; what they cost in
// time and memory is measured by testdata/hostile (docs/benchmarks.md).

func randomKeys(n int) []byte {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "key%06d: %d\n", i, i)
	}
	return []byte(b.String())
}

func TestFileOverTheSizeLimitIsRefusedUnread(t *testing.T) {
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge.yaml")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	// Sparse: were it read, the test would take seconds and a gigabyte.
	if err := f.Truncate(1 << 30); err != nil {
		t.Fatal(err)
	}
	f.Close()
	eng, doc, diags := Load(huge)
	want := huge + ": error: policy file " + huge + " is 1,073,741,824 bytes, over the size limit of 4 MiB (4,194,304 bytes; a policy of 10,000 definitions is about 1 MiB); split it or remove unused groups"
	if eng != nil || doc != nil || len(diags) != 1 || diags[0].String() != want {
		t.Errorf("got %v\nwant %s", diags, want)
	}
	if err := os.Truncate(huge, 8<<20); err != nil {
		t.Fatal(err)
	}
	_, _, diags = Limits{MaxSize: 16 << 20}.Load(huge)
	if strings.Contains(diags.Error(), "size limit") {
		t.Errorf("a raised limit still refuses the file: %v", diags)
	}
	// Compile (the daemon's path, given bytes) refuses too.
	_, _, diags = Limits{MaxSize: 1024, Raise: "with --max-size"}.Compile("p.yaml", randomKeys(100))
	if len(diags) != 1 || !strings.Contains(diags[0].Message, "is 1,390 bytes, over the size limit of 1 KiB (1,024 bytes;") || !strings.HasSuffix(diags[0].Message, "or raise the size limit with --max-size") {
		t.Errorf("Compile over the limit: %v", diags)
	}
}

func TestDiagnosticsAreCappedAndCounted(t *testing.T) {
	for _, c := range []struct {
		name   string
		limits Limits
		keys   int
		shown  int
		last   string
	}{
		{"first 100, then the count", Limits{}, 500, 100, "p.yaml: error: and 400 more errors not shown"},
		{"hopeless: checking stops", Limits{}, 200_000, 100, "p.yaml: error: and 900 more errors not shown; checking stopped after 1,000 errors: fix these first, the file may not be a policy at all"},
		{"a lower limit", Limits{MaxDiagnostics: 5, MaxSize: 64 << 20}, 20, 5, "p.yaml: error: and 15 more errors not shown"},
		{"all", Limits{MaxDiagnostics: -1}, 2000, 2000, "p.yaml:2000:1: error: key001999: unknown key \"key001999\"; valid keys here: admin_sessions, default, description, groups, id, revision, rules"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, diags := c.limits.Parse("p.yaml", randomKeys(c.keys))
			shown := len(diags)
			if diags[len(diags)-1].Omitted() {
				shown--
			}
			if shown != c.shown || diags[len(diags)-1].String() != c.last {
				t.Errorf("%d shown, last %q; want %d and %q", shown, diags[len(diags)-1], c.shown, c.last)
			}
		})
	}
}

func TestCompileDiagnosticsAreCapped(t *testing.T) {
	var b strings.Builder
	b.WriteString("id: x\nrevision: 1\ngroups:\n  - name: g\n    definitions:\n")
	for i := range 300 {
		fmt.Fprintf(&b, "      - path: {regex: '(%d'}\n", i)
	}
	b.WriteString("rules: [{group: g, action: deny}]\n")
	_, _, diags := Compile("p.yaml", []byte(b.String()))
	if len(diags) != 101 || diags[100].OmittedErrors != 200 || diags[100].Message != "and 200 more errors not shown" {
		t.Errorf("got %d diagnostics, last %+v", len(diags), diags[len(diags)-1])
	}
	if !diags.HasErrors() || diags[0].Pos.Line != 6 {
		t.Errorf("not the first errors: %v", diags[0])
	}
}

// TestHugeValuesAreNotEchoed: no message quotes a value whole (a 50 MB
// scalar was printed in its message).
func TestHugeValuesAreNotEchoed(t *testing.T) {
	huge := strings.Repeat("a", 1<<20)
	for _, c := range []struct{ name, text string }{
		{"scalar where a number belongs", "id: x\nrevision: " + huge + "\n"},
		{"unknown key", "id: x\n" + huge + ": 1\n"},
		{"duplicate key", "id: x\ngroups: [{name: g, definitions: [{path: /x}], " + huge + ": 1, " + huge + ": 2}]\n"},
		{"bad regex (compile)", "id: x\nrevision: 1\ngroups: [{name: g, definitions: [{path: {regex: '(" + huge + "'}}]}]\nrules: [{group: g, action: deny}]\n"},
		{"unknown group (compile)", "id: x\nrevision: 1\ngroups: [{name: g, definitions: [{path: /x}]}]\nrules: [{group: g" + huge + ", action: deny}, {group: g, action: deny}]\n"},
		{"bad hash (compile)", "id: x\nrevision: 1\ngroups: [{name: g, definitions: [{sha256: " + huge + "}]}]\nrules: [{group: g, action: deny}]\n"},
		{"huge group name (compile)", "id: x\nrevision: 1\ngroups: [{name: " + huge + ", definitions: [{path: {regex: '('}}]}]\nrules: [{group: " + huge + ", action: deny}]\n"},
		{"json", `{"id": "x", "revision": "` + huge + `"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			name := "p.yaml"
			if c.name == "json" {
				name = "p.json"
			}
			_, _, diags := Compile(name, []byte(c.text))
			if len(diags) == 0 {
				t.Fatal("no diagnostics")
			}
			for _, d := range diags {
				if len(d.Message) > maxMessage || len(d.Where) > maxWhere {
					t.Errorf("message of %d bytes, where of %d: %.300s", len(d.Message), len(d.Where), d)
				}
			}
		})
	}
}

func TestDenseFileIsRefusedBeforeParsing(t *testing.T) {
	l := Limits{MaxSize: 64 << 10} // 9,362 values
	text := "id: x\nrevision: 1\ngroups: [" + strings.Repeat("a,", 10_000) + "a]\n"
	_, diags := l.Parse("p.yaml", []byte(text))
	want := "p.yaml: error: the file holds 10,007 values (words, keys and list items), more than a policy within the 64 KiB size limit holds (9,362: one for every 7 bytes); if this is a policy, split it"
	if len(diags) != 1 || diags[0].String() != want {
		t.Errorf("got %v\nwant %s", diags, want)
	}
	// A real policy of that size is let through.
	text = genPolicyText(400)
	if len(text) > 64<<10 {
		t.Fatalf("the generated policy is %d bytes", len(text))
	}
	if _, _, diags := l.Compile("p.yaml", []byte(text)); diags.HasErrors() {
		t.Errorf("a real policy is refused: %v", diags)
	}
}

// TestAliasesExpandWithinTheValueLimit: aliases of one large group, again
// and again, stop at twice the values the file may hold.
func TestAliasesExpandWithinTheValueLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("id: fan\nrevision: 1\ngroups:\n  - &g\n    name: g\n    definitions:\n")
	for i := range 100 {
		fmt.Fprintf(&b, "      - {type: binary, path: /usr/bin/tool%03d}\n", i)
	}
	for range 1000 {
		b.WriteString("  - *g\n")
	}
	b.WriteString("rules: [{group: g, action: deny}]\n")
	_, diags := Limits{MaxSize: 64 << 10}.Parse("p.yaml", []byte(b.String()))
	if len(diags) != 1 || !strings.Contains(diags[0].Message, "the document expands to more than 18,724 values (anchors and aliases?)") {
		t.Errorf("got %v", diags)
	}
}

func TestSuggestNothingForLongWords(t *testing.T) {
	if s := policy.Suggest(strings.Repeat("k", 4<<20), []string{"id", "rules"}); s != "" {
		t.Errorf("suggested %q for a 4 MiB key", s)
	}
}
