package policyfile

import (
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/policy"
)

// compileText compiles a policy text and returns the engine and every
// diagnostic as one string.
func compileText(t *testing.T, text string) (*policy.Engine, string) {
	t.Helper()
	eng, _, diags := Compile("p.yaml", []byte(text))
	var b strings.Builder
	for _, d := range diags {
		b.WriteString(d.String() + "\n")
	}
	return eng, b.String()
}

// TestPublisherAndSourceMeanContains: a plain string for publisher or
// source is a substring, as the reference documents define them (it meant
// exact, so "Developer ID Application: Google" never matched Google's real
// authority); the other string fields stay exact.
func TestPublisherAndSourceMeanContains(t *testing.T) {
	eng, diags := compileText(t, `id: p
revision: 1
groups:
  - name: google
    definitions:
      - {type: binary, publisher: "Developer ID Application: Google", team_id: EQHXZ8M8AV}
  - name: from-intranet
    definitions:
      - {type: script, source: "intranet.example.com/"}
  - name: exact-publisher
    definitions:
      - {type: binary, publisher: {exact: "Developer ID Application: Google"}}
  - name: plain-team
    definitions:
      - {type: binary, team_id: EQHXZ8}
rules:
  - {group: google, action: allow}
  - {group: from-intranet, action: audit}
  - {group: exact-publisher, action: deny}
  - {group: plain-team, action: deny}
default: deny_notify
`)
	if eng == nil {
		t.Fatalf("does not compile:\n%s", diags)
	}
	real := policy.Subject{Type: policy.Binary, Path: "/opt/chrome", Publisher: "Developer ID Application: Google LLC (EQHXZ8M8AV)", TeamID: "EQHXZ8M8AV"}
	for _, c := range []struct {
		name string
		s    policy.Subject
		want int // rule, 0 for the default
	}{
		{"publisher contains", real, 1},
		{"source contains", policy.Subject{Type: policy.Script, Path: "/tmp/x", Source: "https://intranet.example.com/tools/x.sh"}, 2},
		{"exact publisher stays exact", policy.Subject{Type: policy.Binary, Path: "/opt/y", Publisher: "Developer ID Application: Google"}, 3},
		{"team_id stays exact", policy.Subject{Type: policy.Binary, Path: "/opt/z", TeamID: "EQHXZ8M8AV"}, 0},
	} {
		if d := eng.Evaluate(&policy.Facts{Subject: c.s}); d.Rule != c.want {
			t.Errorf("%s: rule %d (%s), want %d", c.name, d.Rule, d.Action, c.want)
		}
	}
}

// TestLintPublisherTrust: an allow rule that trusts a publisher by
// "contains" without a team id is warned about; with a team id, an exact
// publisher, or a deny rule, it is not.
func TestLintPublisherTrust(t *testing.T) {
	_, diags := compileText(t, `id: p
revision: 1
groups:
  - {name: loose, definitions: [{type: binary, publisher: "Developer ID Application: Google"}]}
  - {name: with-team, definitions: [{type: binary, publisher: "Developer ID Application: Google", team_id: EQHXZ8M8AV}]}
  - {name: exact, definitions: [{type: binary, publisher: {exact: "Developer ID Application: Google LLC (EQHXZ8M8AV)"}}]}
  - {name: denied, definitions: [{type: binary, publisher: "Bad Vendor"}]}
rules:
  - {group: loose, action: allow}
  - {group: with-team, action: allow}
  - {group: exact, action: audit}
  - {group: denied, action: deny}
`)
	if n := strings.Count(diags, "merely contains"); n != 1 || !strings.Contains(diags, `group "loose" definition 1: publisher`) || !strings.Contains(diags, "team_id") {
		t.Errorf("want one warning, for group loose, naming team_id; got:\n%s", diags)
	}
}

// TestRuleWithErrorsStillUsesItsGroup: a rule with a wrong action is an
// error, and its group is not also reported as used by no rule.
func TestRuleWithErrorsStillUsesItsGroup(t *testing.T) {
	_, diags := compileText(t, `id: p
revision: 1
groups:
  - {name: g, definitions: [{path: /usr/bin/x}]}
  - {name: p, definitions: [{path: /usr/bin/sh}]}
  - {name: child, definitions: [{path: /usr/bin/y, parent: {group: p}, sha256: nothex}]}
rules:
  - {group: g, action: denny}
  - {group: child, action: deny}
`)
	if !strings.Contains(diags, `unknown action "denny"`) {
		t.Fatalf("no error for the action:\n%s", diags)
	}
	if strings.Contains(diags, "no rule and no parent criterion uses this group") {
		t.Errorf("a group named by a rule or a parent criterion with errors is reported unused:\n%s", diags)
	}
}

// TestLintNameOnlyAllows: an allow by path or name alone where users can
// put files is warned about; with protected, a hash or a team id, in a
// root-only folder, or for a deny, it is not.
func TestLintNameOnlyAllows(t *testing.T) {
	_, diags := compileText(t, `id: p
revision: 1
groups:
  - name: g
    definitions:
      - {path: {starts_with: /Users/}}
      - {path: {ends_with: /zoom}}
      - {path: /home/ana/Downloads/tool}
      - {path: {starts_with: /Users/}, protected: true}
      - {path: {ends_with: /zoom}, sha256: 0000000000000000000000000000000000000000000000000000000000000000}
      - {type: binary, path: {ends_with: /zoom}, team_id: BJ4HAAB9B3}
      - {path: /usr/bin/zoom}
  - name: denied
    definitions:
      - {path: {starts_with: /tmp/}}
rules:
  - {group: g, action: allow}
  - {group: denied, action: deny}
`)
	for i, want := range []string{
		`group "g" definition 1: rule 1 lets a program run by its path or name alone, under /Users/`,
		`group "g" definition 2: rule 1 lets a program run by its path or name alone, anywhere`,
		`group "g" definition 3: rule 1 lets a program run by its path or name alone, under /home/ana/Downloads/tool`,
	} {
		if !strings.Contains(diags, want) {
			t.Errorf("warning %d missing: %q in\n%s", i+1, want, diags)
		}
	}
	if n := strings.Count(diags, "by its path or name alone"); n != 3 {
		t.Errorf("%d name-only warnings, want 3:\n%s", n, diags)
	}
}
