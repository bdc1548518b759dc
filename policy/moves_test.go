package policy

import (
	"strings"
	"testing"
)

// movesPolicy denies program starts by default, stops deleting Keep.app
// and allows installing only bundles from one vendor.
func movesPolicy() *Document {
	return &Document{
		ID: "moves", Revision: 3, Default: Default{Action: "deny"},
		Groups: []Group{
			{Name: "keep", Definitions: []Definition{{Type: []string{"bundle"}, BundleID: strCrit(OpExact, "com.example.keep", false), Delete: boolPtr(true)}}},
			{Name: "vendor", Definitions: []Definition{{Type: []string{"bundle"}, TeamID: strCrit(OpExact, "ABCDE12345", false), Install: boolPtr(true)}}},
			{Name: "any-install", Definitions: []Definition{{Type: []string{"bundle"}, Install: boolPtr(true)}}},
		},
		Rules: []Rule{
			{Group: "keep", Action: "deny_notify"},
			{Group: "vendor", Action: "allow"},
			{Group: "any-install", Action: "deny"},
		},
	}
}

func TestAMoveNoRuleNamesIsAllowedWhateverTheDefault(t *testing.T) {
	e := compileOK(t, movesPolicy())
	// No rule names deleting Other.app: allowed and not recorded, though
	// the default denies program starts.
	d := decide(t, e, &Facts{Subject: Subject{Type: Bundle, Path: "/Applications/Other.app", BundleID: "com.example.other"}, Event: Delete})
	if d.Action != Allow || d.Rule != 0 || d.Audit {
		t.Errorf("delete of Other.app: %+v, want allow by no rule, unrecorded", d)
	}
	// The same bundle started is a program start: the default applies.
	d = decide(t, e, &Facts{Subject: Subject{Type: Bundle, Path: "/Applications/Other.app", BundleID: "com.example.other"}, Event: Exec})
	if d.Action != Deny || d.Rule != 0 {
		t.Errorf("exec of Other.app: %+v, want the default deny", d)
	}
}

func TestMoveRulesDecideInstallsAndDeletes(t *testing.T) {
	e := compileOK(t, movesPolicy())
	for _, tt := range []struct {
		name string
		f    Facts
		want Action
		rule int
	}{
		{"deleting Keep.app is denied", Facts{Subject: Subject{Type: Bundle, Path: "/Applications/Keep.app", BundleID: "com.example.keep"}, Event: Delete}, DenyNotify, 1},
		{"installing Keep.app is not a delete", Facts{Subject: Subject{Type: Bundle, Path: "/Applications/Keep.app", BundleID: "com.example.keep"}, Event: Install}, Deny, 3},
		{"the vendor's bundle installs", Facts{Subject: Subject{Type: Bundle, Path: "/Applications/V.app", TeamID: "ABCDE12345"}, Event: Install}, Allow, 2},
		{"a bundle known by its path alone is not the vendor's", Facts{Subject: Subject{Type: Bundle, Path: "/Applications/V.app"}, Event: Install}, Deny, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(t, e, &tt.f)
			if d.Action != tt.want || d.Rule != tt.rule {
				t.Errorf("got %s by rule %d, want %s by rule %d", d.Action, d.Rule, tt.want, tt.rule)
			}
		})
	}
	if n := e.Needs(); !n.Install || !n.Delete {
		t.Errorf("Needs = %+v, want Install and Delete", n)
	}
	if n := compileOK(t, oneRule(Definition{Type: []string{"binary"}})).Needs(); n.Install || n.Delete {
		t.Errorf("a policy without move definitions needs %+v", n)
	}
}

func TestAMoveCannotBeAskedAbout(t *testing.T) {
	for _, action := range []string{"warning", "justification", "approval", "approval_offline", "elevate"} {
		t.Run(action, func(t *testing.T) {
			doc := movesPolicy()
			doc.Rules[0].Action = action
			_, diags := Compile(doc)
			if !diags.HasErrors() || !strings.Contains(diags.Error(), "action "+action+" cannot apply to the delete definition 1 of group \"keep\"") {
				t.Errorf("diagnostics:\n%v", diags)
			}
		})
	}
	// A group of program definitions keeps every action.
	doc := oneRule(Definition{Type: []string{"binary"}, Path: strCrit(OpExact, "/bin/x", false)})
	doc.Rules[0].Action = "approval"
	compileOK(t, doc)
}
