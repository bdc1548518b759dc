package policy

import "testing"

// TestTwoSubstringCriteriaOfDifferentFields: a definition with required
// literals in two fields (team id and source) is found by Evaluate. The
// index took the longer literal (source's) but filed it under the other
// field (team id), so Evaluate never saw the entry while Explain matched
// it: found by FuzzEvaluateMatchesExplain.
func TestTwoSubstringCriteriaOfDifferentFields(t *testing.T) {
	def := Definition{Type: []string{"binary", "package"}, TeamID: strCrit(OpExact, "TEAM1", false),
		Source: (*SubstringMatch)(strCrit(OpExact, "https://downloads.example.com/Setup.dmg", false))}
	e := compileOK(t, &Document{ID: "p", Revision: 1, Default: Default{Action: "deny"},
		Groups: []Group{{Name: "g", Definitions: []Definition{def}}},
		Rules:  []Rule{{Group: "g", Action: "allow"}}})
	f := &Facts{Subject: Subject{Type: Binary, Path: "/opt/x", TeamID: "TEAM1", Source: "https://downloads.example.com/Setup.dmg"}}
	if d := e.Evaluate(f); d.Rule != 1 {
		t.Errorf("Evaluate: rule %d (%s), want rule 1: the definition matches", d.Rule, d.Action)
	}
}
