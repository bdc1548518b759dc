package policyfile

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v4"

	"github.com/gatehouse/gatehouse/examples"
)

// TestJSONIsStrict: a .json policy is JSON as RFC 8259 and encoding/json
// define it; what the YAML parser used to let through is a syntax error at
// its line and column.
func TestJSONIsStrict(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       string // the first diagnostic
	}{
		{"trailing comma in a list", "{\"id\": \"x\",\n \"rules\": [1, 2,]}", "p.json:2:16: error: syntax: a comma before ']'; JSON allows no trailing commas: remove it"},
		{"trailing comma in an object", "{\"id\": \"x\",\n  \"revision\": 1,\n}\n", "p.json:2:16: error: syntax: a comma before '}'; JSON allows no trailing commas: remove it"},
		{"comment", "{\n  // the id\n  \"id\": \"x\"}", "p.json:2:3: error: syntax: invalid character '/' looking for beginning of object key string; JSON has no comments"},
		{"single quotes", "{'id': 'x'}", "p.json:1:2: error: syntax: invalid character '\\'' looking for beginning of object key string; JSON strings take double quotes"},
		{"unquoted key", "{\n id: 1}", "p.json:2:2: error: syntax: invalid character 'i' looking for beginning of object key string; fix the JSON syntax here"},
		{"two values", "{\"id\": \"x\"}\n{\"id\": \"y\"}", "p.json:2:1: error: syntax: invalid character '{' after top-level value; fix the JSON syntax here"},
		{"not closed", "{\"id\": \"x\",\n \"groups\": [", "p.json:2:13: error: syntax: the JSON ends with the '[' of line 2, column 12 still open; close it, or add what is missing"},
		{"multi-byte characters count once", "{\"description\": \"é—ü\" \"id\": 1}", "p.json:1:23: error: syntax: invalid character '\"' after object key:value pair; fix the JSON syntax here"},
		{"empty", " \n", "p.json: error: the file is empty; a policy needs at least id, revision, groups and rules"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, diags := Parse("p.json", []byte(c.text))
			if len(diags) == 0 {
				t.Fatalf("no diagnostics, want %s", c.want)
			}
			if got := diags[0].String(); !strings.HasPrefix(got, c.want) {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

// TestJSONReadsWhatJSONMeans: valid JSON that YAML reads differently or
// not at all — escaped slashes, escaped surrogate pairs, a raw line
// separator, a key longer than YAML's 1024 characters, a byte order mark —
// means in a policy what it means in JSON.
func TestJSONReadsWhatJSONMeans(t *testing.T) {
	long := strings.Repeat("k", 1100)
	text := "\uFEFF{\"id\": \"a\\/b\\ud83d\\ude00\", \"revision\": 1, \"description\": \"one\u2028two\", \"groups\": [], \"rules\": []}"
	doc, diags := Parse("p.json", []byte(text))
	if diags.HasErrors() {
		t.Fatalf("valid JSON rejected:\n%v", diags)
	}
	if doc.ID != "a/b😀" || doc.Description != "one\u2028two" {
		t.Errorf("id %q description %q", doc.ID, doc.Description)
	}
	_, diags = Parse("p.json", []byte(`{"`+long+`": 1}`))
	if len(diags) != 1 || !strings.Contains(diags[0].Message, "unknown key") {
		t.Errorf("long key: want one unknown-key error, got %v", diags)
	}
}

// TestJSONPositions: every value has its line and column, the ones the
// YAML parser gives the same text.
func TestJSONPositions(t *testing.T) {
	text := "{\n\t\"id\": \"pos\",\n\t\"revision\": 1,\n\t\"groups\": [\n\t\t{\"name\": \"g\", \"definitions\": [\n\t\t\t{\"path\": {\"regex\": \"(\"}, \"sha265\": 1}]}],\n\t\"rules\": [{\"group\": \"nope\", \"action\": \"deny\"}]\n}\n"
	positions := func(name string) []string {
		_, _, diags := Compile(name, []byte(text))
		var out []string
		for _, d := range diags {
			out = append(out, strings.TrimPrefix(d.String(), name))
		}
		return out
	}
	got, want := positions("p.json"), positions("p.yaml")
	if len(got) == 0 {
		t.Fatal("no diagnostics")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON positions differ from YAML's (-yaml +json):\n%s", diff)
	}
	// The meaning checks, with the unknown key fixed.
	text = strings.Replace(text, `, "sha265": 1`, "", 1)
	got, want = positions("p.json"), positions("p.yaml")
	if len(got) != 3 {
		t.Fatalf("want 3 diagnostics, got %q", got)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("JSON positions differ from YAML's (-yaml +json):\n%s", diff)
	}
}

// FuzzLoadJSON: any input gives an engine or an error; invalid JSON gives
// exactly one syntax error, with a line and a column; valid JSON never
// gives a syntax error.
func FuzzLoadJSON(f *testing.F) {
	f.Add(examplesJSON(f))
	files, _ := filepath.Glob("testdata/lint/*.json")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"id": "x", "rules": [1,]}`))
	f.Add([]byte("{\"a\": \"\\ud83d\\ude00\"}"))
	f.Add([]byte("\xef\xbb\xbf"))
	f.Fuzz(func(t *testing.T, data []byte) {
		eng, _, diags := Compile("fuzz.json", data)
		if (eng == nil) != diags.HasErrors() {
			t.Fatalf("engine %v with diagnostics %v", eng != nil, diags)
		}
		syntax := 0
		for _, d := range diags {
			if strings.HasPrefix(d.Message, "syntax:") {
				syntax++
				if d.Pos.Line == 0 || d.Pos.Col == 0 {
					t.Errorf("syntax error without line and column: %v", d)
				}
			}
		}
		body := bytes.TrimPrefix(data, utf8BOM)
		valid := json.Valid(body)
		if valid && syntax > 0 || !valid && syntax != 1 && len(bytes.TrimLeft(body, " \t\r\n")) > 0 {
			t.Errorf("json.Valid = %v, %d syntax errors: %v", valid, syntax, diags)
		}
	})
}

// examplesJSON is the example policy as JSON.
func examplesJSON(tb testing.TB) []byte {
	var v any
	if err := yaml.Unmarshal(examples.Policy, &v); err != nil {
		tb.Fatal(err)
	}
	out, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		tb.Fatal(err)
	}
	return out
}
