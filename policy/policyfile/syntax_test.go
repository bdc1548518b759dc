package policyfile

import (
	"strings"
	"testing"
)

// TestSyntaxErrorsAtTheMistake: every YAML syntax error has the line and
// column of the mistake (yaml v3 gave the line of the construct around
// it, often the line before, and no column).
func TestSyntaxErrorsAtTheMistake(t *testing.T) {
	for _, c := range []struct {
		name, text string
		pos        string // line:col
		msg        string // part of the message
	}{
		{"closing the wrong bracket", "id: x\nrevision: 1\nrules: [}\n", "3:9", "did not find expected node content"},
		{"unclosed brace", "id: syntax\nrevision: 1\ngroups:\n  - name: g\n    definitions:\n      - path: {starts_with: /usr/bin/\nrules: []\n", "6:15", "this '{' is never closed, so line 7 is read as part of it"},
		{"unclosed bracket, blank line after", "id: x\nrules: [a, b\n\ngroups: []\n", "2:8", "this '[' is never closed"},
		{"unclosed bracket before a comment", "id: x\nrules: [a, b   # the rules\ngroups: []\n", "2:8", "this '[' is never closed"},
		{"tab", "id: x\nrevision: 1\ngroups:\n  - name: g\n\tdefinitions: []\n", "5:1", "tab character"},
		{"unclosed quote", "id: x\nrevision: 1\ndescription: \"abc\ngroups: []\n", "3:14", "the quoted text that starts here is never closed"},
		{"key indented too far", "id: x\ngroups:\n  - name: g\n     definitions: []\n", "4:17", "mapping values are not allowed"},
		{"colon in a plain value", "id: x\nrevision: a: b\n", "2:12", "mapping values are not allowed"},
		{"list item among keys", "id: x\n- a\n", "2:1", "did not find expected key"},
		{"stray bracket", "id: x\n]\n", "2:1", "did not find expected key"},
		{"missing comma in a flow list", "rules: [a, \"b\" c]\n", "1:16", "did not find expected ',' or ']'"},
		{"unknown alias", "id: x\nrevision: *r\n", "2:11", "unknown anchor 'r'"},
		{"bad escape", "id: \"a\\qb\"\n", "1:7", "unknown escape"},
		{"control character", "id: x\nrevision: 1\ndescription: a\abc\n", "3:15", "control character U+0007 is not allowed"},
		{"not UTF-8", "id: x\ndescription: caf\xe9\n", "2:17", "byte 0xE9 is not UTF-8"},
		{"not UTF-8 after multi-byte characters", "id: x\ndescription: é—\xff\n", "2:16", "byte 0xFF is not UTF-8"},
		{"error in the second document", "id: a\n---\nid: [\n", "3:5", "this '[' is never closed, before the end of the file"},
		{"file cut short", "id: x\ngroups: [{name: g,\n  definitions: [\n", "3:16", "this '[' is never closed, before the end of the file"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, diags := Parse("p.yaml", []byte(c.text))
			var syntax []string
			for _, d := range diags {
				if strings.HasPrefix(d.Message, "syntax:") {
					syntax = append(syntax, d.String())
				}
			}
			if len(syntax) != 1 {
				t.Fatalf("want one syntax error, got %v", diags)
			}
			want := "p.yaml:" + c.pos + ": error: syntax: "
			if !strings.HasPrefix(syntax[0], want) || !strings.Contains(syntax[0], c.msg) {
				t.Errorf("got  %s\nwant %s…%s…", syntax[0], want, c.msg)
			}
		})
	}
}
