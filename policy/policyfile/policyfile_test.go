package policyfile

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v4"

	"github.com/gatehouse/gatehouse/examples"
	"github.com/gatehouse/gatehouse/policy"
)

var update = flag.Bool("update", false, "rewrite golden files and docs/policy.schema.json")

// TestLintGolden loads every file in testdata/lint and compares all of its
// diagnostics with the .golden file next to it.
func TestLintGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/lint/*.*")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".golden") {
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, _, diags := Load(f)
			var b strings.Builder
			for _, d := range diags {
				b.WriteString(d.String())
				b.WriteByte('\n')
			}
			golden := strings.TrimSuffix(f, filepath.Ext(f)) + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), b.String()); diff != "" {
				t.Errorf("diagnostics differ from %s (-want +got):\n%s", golden, diff)
			}
			if len(diags) == 0 {
				t.Errorf("%s is in testdata/lint but produces no diagnostics", f)
			}
		})
	}
	if n < 10 {
		t.Fatalf("only %d lint cases found", n)
	}
}

func TestLintReportsEveryErrorAtOnce(t *testing.T) {
	_, _, diags := Load("testdata/lint/bad-values.yaml")
	errs := 0
	for _, d := range diags {
		if d.Severity == policy.SeverityError {
			errs++
			if d.Pos.Line == 0 || d.Pos.Col == 0 {
				t.Errorf("diagnostic without line and column: %v", d)
			}
		}
	}
	if errs < 9 {
		t.Errorf("got %d errors, want every one of the 9+ problems in the file:\n%v", errs, diags)
	}
}

func TestExamplePolicyLintsClean(t *testing.T) {
	eng, _, diags := Load("../../examples/policy.yaml")
	if eng == nil || len(diags) > 0 {
		t.Fatalf("example policy: engine=%v diagnostics:\n%v", eng != nil, diags)
	}
	emb, _, diags := Compile(examples.PolicyName, examples.Policy)
	if emb == nil || len(diags) > 0 {
		t.Fatalf("embedded example: %v", diags)
	}
}

func TestYAMLAndJSONGiveTheSameDocument(t *testing.T) {
	y := `
id: same
revision: 4
default: {action: deny_notify, message: {title: no}}
groups:
  - name: g
    definitions:
      - type: [binary, script]
        path: /bin/ls
        args: {contains: -la, not: true}
        sha256: {value: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}
        parent: {group: g, any_ancestor: true}
rules:
  - {group: g, action: audit, users: alice, user_groups: [staff]}
`
	j := `{"id":"same","revision":4,"default":{"action":"deny_notify","message":{"title":"no"}},
"groups":[{"name":"g","definitions":[{"type":["binary","script"],"path":"/bin/ls",
"args":{"contains":"-la","not":true},"sha256":{"value":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"},
"parent":{"group":"g","any_ancestor":true}}]}],
"rules":[{"group":"g","action":"audit","users":"alice","user_groups":["staff"]}]}`
	dy, ey := Parse("p", []byte(y))
	dj, ej := Parse("p", []byte(j))
	if len(ey)+len(ej) > 0 {
		t.Fatalf("parse: yaml %v json %v", ey, ej)
	}
	noPos := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Pos" }, cmp.Ignore())
	if diff := cmp.Diff(dy, dj, noPos); diff != "" {
		t.Errorf("YAML and JSON differ (-yaml +json):\n%s", diff)
	}
	if dy.Rules[0].Users[0] != "alice" || *dy.Groups[0].Definitions[0].Path.Exact != "/bin/ls" || dy.Default.Action != "deny_notify" {
		t.Errorf("shorthands not applied: %+v", dy)
	}
	if p := dy.Groups[0].Definitions[0].Args.Pos; p.Line != 10 || p.Col != 15 {
		t.Errorf("args position = %v, want line 10 col 15", p)
	}
}

func TestScalarShorthands(t *testing.T) {
	doc, diags := Parse("s", []byte("id: s\nrevision: 1\ndefault: deny\ngroups:\n- name: g\n  definitions:\n  - type: binary\n    sha1: 0123456789abcdef0123456789abcdef01234567\n    parent: g2\n"))
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	d := doc.Groups[0].Definitions[0]
	if doc.Default.Action != "deny" || d.SHA1.Value != "0123456789abcdef0123456789abcdef01234567" || d.Parent.Group != "g2" || d.Type[0] != "binary" {
		t.Errorf("got %+v", doc)
	}
}

func TestAliasBombIsRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [")
		for k := 0; k < 10; k++ {
			if k > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	b.WriteString("id: bomb\nrevision: 1\ngroups: [{name: g, definitions: [{type: *a8}]}]\n")
	_, diags := Parse("bomb.yaml", []byte(b.String()))
	if !strings.Contains(diags.Error(), "expands to more than") && !strings.Contains(diags.Error(), "unknown key") {
		t.Fatalf("alias bomb not reported: %v", diags)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, _, diags := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "does not exist") {
		t.Fatalf("got %v", diags)
	}
}

// TestSchemaUpToDate keeps docs/policy.schema.json equal to Schema().
func TestSchemaUpToDate(t *testing.T) {
	path := "../../docs/policy.schema.json"
	got := Schema()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./policy/policyfile -update)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s is stale; run go test ./policy/policyfile -update", path)
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	var doc any
	if err := json.Unmarshal(Schema(), &doc); err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func yamlToJSONValue(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSchemaAgreesWithDecoder validates files with an independent JSON
// Schema implementation: the example passes, and files the decoder rejects
// for their shape fail the schema too.
func TestSchemaAgreesWithDecoder(t *testing.T) {
	s := compileSchema(t)
	if err := s.Validate(yamlToJSONValue(t, examples.Policy)); err != nil {
		t.Errorf("example policy fails the schema: %v", err)
	}
	for _, f := range []string{"unknown-keys.yaml", "wrong-kinds.yaml", "types.yaml"} {
		data, err := os.ReadFile("testdata/lint/" + f)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Validate(yamlToJSONValue(t, data)); err == nil {
			t.Errorf("%s passes the schema but the loader rejects it", f)
		}
	}
}

func FuzzLoad(f *testing.F) {
	f.Add(examples.Policy)
	files, _ := filepath.Glob("testdata/lint/*")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		eng, _, diags := Compile("fuzz.yaml", data)
		if eng == nil && !diags.HasErrors() {
			t.Fatalf("no engine and no error: %v", diags)
		}
		if eng != nil && diags.HasErrors() {
			t.Fatalf("engine returned with errors: %v", diags)
		}
		for _, d := range diags {
			if d.Message == "" {
				t.Fatalf("empty diagnostic message: %+v", d)
			}
			if strings.HasPrefix(d.Message, "syntax:") && (d.Pos.Line == 0 || d.Pos.Col == 0) {
				t.Errorf("syntax error without line and column: %v", d)
			}
		}
		if eng != nil {
			// A compiled engine must evaluate without panicking.
			fa := &policy.Facts{Subject: policy.Subject{Type: policy.Binary, Path: "/usr/bin/ls", Args: []string{"-la"}}}
			d1 := eng.Evaluate(fa)
			d2, _ := eng.Explain(fa)
			if d1 != d2 {
				t.Fatalf("Evaluate %+v != Explain %+v", d1, d2)
			}
		}
	})
}
