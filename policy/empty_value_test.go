package policy

import (
	"fmt"
	"strings"
	"testing"
)

// TestEmptyValueSemantics pins what docs/policy.md says: a value the
// program lacks is empty; it fails every operator but exact "", which
// matches exactly the programs without it, and the trace says so.
func TestEmptyValueSemantics(t *testing.T) {
	empty := ""
	for _, c := range []struct {
		name  string
		not   bool
		args  []string
		match bool
		trace string
	}{
		{"no args match exact empty", false, nil, true, ""},
		{"args fail exact empty", false, []string{"-v"}, false, `args exact "": got "-v"`},
		{"no args fail not exact empty", true, nil, false, `args not exact "": the program has no args`},
		{"args match not exact empty", true, []string{"-v"}, true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := compileOK(t, oneRule(Definition{Type: []string{"binary"}, Args: &StringMatch{Exact: &empty, Not: c.not}}))
			f := &Facts{Subject: Subject{Type: Binary, Path: "/usr/bin/x", Args: c.args}}
			if got := ruleMatched(t, e, f); got != c.match {
				t.Fatalf("matched = %v, want %v", got, c.match)
			}
			if !c.match {
				if _, tr := e.Explain(f); !strings.Contains(fmt.Sprint(tr), c.trace) {
					t.Errorf("trace %v lacks %q", tr, c.trace)
				}
			}
		})
	}
	// The same for a missing publisher: exact "" is "unsigned".
	e := compileOK(t, oneRule(Definition{Type: []string{"binary"}, Publisher: &SubstringMatch{Exact: &empty}}))
	if !ruleMatched(t, e, &Facts{Subject: Subject{Type: Binary, Path: "/x"}}) ||
		ruleMatched(t, e, &Facts{Subject: Subject{Type: Binary, Path: "/x", Publisher: "Developer ID Application: A"}}) {
		t.Error(`publisher {exact: ""} must match exactly the unsigned programs`)
	}
}
