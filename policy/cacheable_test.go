package policy

import (
	"strings"
	"testing"
)

func TestEvaluateLazyCacheable(t *testing.T) {
	doc := &Document{ID: "c", Revision: 1,
		Groups: []Group{
			{Name: "other", Definitions: []Definition{{Path: &StringMatch{StartsWith: strPtr("/opt/other/")}}}},
			{Name: "tools", Definitions: []Definition{{Path: &StringMatch{StartsWith: strPtr("/usr/bin/")}}}},
			{Name: "evil-args", Definitions: []Definition{{Type: []string{"binary"}, Path: &StringMatch{Exact: strPtr("/usr/bin/rm")}, Args: &StringMatch{Contains: strPtr("-rf /")}}}},
			{Name: "curl", Definitions: []Definition{{Path: &StringMatch{Exact: strPtr("/usr/bin/curl")}}}},
		},
		Rules: []Rule{
			{Group: "other", Action: "deny", Users: []string{"bob"}},
			{Group: "curl", Action: "deny", Users: []string{"bob"}},
			{Group: "evil-args", Action: "deny"},
			{Group: "tools", Action: "allow", Audit: new(false)},
		},
	}
	e, diags := Compile(doc)
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	for _, tt := range []struct {
		path string
		want bool
	}{
		{"/usr/bin/ls", true},    // a scoped rule on another path does not matter
		{"/usr/bin/curl", false}, // bob would be denied
		{"/usr/bin/rm", false},   // the arguments decide
		{"/opt/x", false},        // the default audits
	} {
		f := &Facts{Subject: Subject{Path: tt.path, Type: Binary}, Event: Exec, User: "alice"}
		loads := 0
		_, got := e.EvaluateLazy(f, func(_ *Facts, n Needs) {
			if n.Args || n.Parents {
				loads++
			}
		})
		if got != tt.want {
			t.Errorf("%s: cacheable = %v, want %v", tt.path, got, tt.want)
		}
		if loads > 0 && !strings.HasSuffix(tt.path, "/rm") {
			t.Errorf("%s: arguments or parents loaded though no definition that could match needs them", tt.path)
		}
	}
}

func TestNeedsSHA1(t *testing.T) {
	plain := &Document{ID: "n", Revision: 1,
		Groups: []Group{{Name: "g", Definitions: []Definition{{SHA256: &HashMatch{Value: strings.Repeat("a", 64)}}}}},
		Rules:  []Rule{{Group: "g", Action: "deny"}},
	}
	if compileOK(t, plain).Needs().SHA1 {
		t.Error("a policy with only SHA-256 criteria needs SHA-1")
	}
	// A SHA-1 criterion anywhere (here in a parent group) needs it.
	withSHA1 := &Document{ID: "n", Revision: 1,
		Groups: []Group{
			{Name: "shells", Definitions: []Definition{{SHA1: &HashMatch{Value: strings.Repeat("b", 40)}}}},
			{Name: "g", Definitions: []Definition{{Type: []string{"binary"}, Path: &StringMatch{Exact: strPtr("/x")}, Parent: &ParentMatch{Group: "shells"}}}},
		},
		Rules: []Rule{{Group: "g", Action: "deny"}},
	}
	if !compileOK(t, withSHA1).Needs().SHA1 {
		t.Error("a policy with a SHA-1 criterion in a parent group does not need SHA-1")
	}
}

func TestNeedsContent(t *testing.T) {
	doc := func(d Definition) *Document {
		return &Document{ID: "n", Revision: 1,
			Groups: []Group{{Name: "g", Definitions: []Definition{d}}},
			Rules:  []Rule{{Group: "g", Action: "allow"}},
		}
	}
	for _, tt := range []struct {
		name string
		def  Definition
		want bool
	}{
		{"path", Definition{Path: &StringMatch{StartsWith: strPtr("/opt/")}}, false},
		{"path, binaries and scripts", Definition{Type: []string{"binary", "script"}, Path: &StringMatch{StartsWith: strPtr("/opt/")}}, false},
		{"sha256", Definition{SHA256: &HashMatch{Value: strings.Repeat("a", 64)}}, true},
		{"sha1", Definition{SHA1: &HashMatch{Value: strings.Repeat("b", 40)}}, true},
		{"binaries only", Definition{Type: []string{"binary"}, Path: &StringMatch{StartsWith: strPtr("/opt/")}}, true},
		{"scripts only", Definition{Type: []string{"script"}, Path: &StringMatch{StartsWith: strPtr("/opt/")}}, true},
	} {
		if got := compileOK(t, doc(tt.def)).Needs().Content; got != tt.want {
			t.Errorf("%s: Needs().Content = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// The user is asked for only before a scoped rule whose definition the
// file matches, and the decision is Evaluate's with the user known.
func TestEvaluateLazyUser(t *testing.T) {
	doc := &Document{ID: "u", Revision: 1,
		Groups: []Group{
			{Name: "other", Definitions: []Definition{{Path: &StringMatch{StartsWith: strPtr("/opt/other/")}}}},
			{Name: "curl", Definitions: []Definition{{Path: &StringMatch{Exact: strPtr("/usr/bin/curl")}}}},
			{Name: "tools", Definitions: []Definition{{Path: &StringMatch{StartsWith: strPtr("/usr/bin/")}}}},
		},
		Rules: []Rule{
			{Group: "other", Action: "deny", Users: []string{"bob"}},
			{Group: "curl", Action: "deny", UserGroups: []string{"contractors"}},
			{Group: "tools", Action: "allow"},
		},
		Default: Default{Action: "deny"},
	}
	e, diags := Compile(doc)
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	if !e.Needs().User {
		t.Error("Needs().User is false for a policy with scoped rules")
	}
	for _, tt := range []struct {
		path, user string
		groups     []string
		asked      bool
	}{
		{"/usr/bin/ls", "bob", nil, false},
		{"/usr/bin/curl", "carol", []string{"contractors"}, true},
		{"/usr/bin/curl", "alice", []string{"staff"}, true},
		{"/opt/other/x", "bob", nil, true},
		{"/opt/other/x", "alice", nil, true},
	} {
		full := &Facts{Subject: Subject{Path: tt.path, Type: Binary}, Event: Exec, User: tt.user, Groups: tt.groups}
		want := e.Evaluate(full)
		f := &Facts{Subject: Subject{Path: tt.path, Type: Binary}, Event: Exec}
		asked := 0
		got, _ := e.EvaluateLazy(f, func(f *Facts, n Needs) {
			if n.User {
				asked++
				f.User, f.Groups = tt.user, tt.groups
			}
		})
		if got.Action != want.Action || got.Rule != want.Rule {
			t.Errorf("%s as %s: lazy %s (rule %d), Evaluate %s (rule %d)", tt.path, tt.user, got.Action, got.Rule, want.Action, want.Rule)
		}
		if (asked > 0) != tt.asked || asked > 1 {
			t.Errorf("%s as %s: the user was asked for %d times, want asked %v (once at most)", tt.path, tt.user, asked, tt.asked)
		}
	}
	plain := &Document{ID: "p", Revision: 1, Groups: doc.Groups, Rules: []Rule{{Group: "tools", Action: "allow"}}}
	if compileOK(t, plain).Needs().User {
		t.Error("Needs().User is true for a policy without scoped rules")
	}
}
