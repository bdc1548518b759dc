package policy

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func pathExact(p string) *StringMatch  { return strCrit(OpExact, p, false) }
func pathPrefix(p string) *StringMatch { return strCrit(OpStartsWith, p, false) }

// decisionAt is the part of a Decision that says who decided.
type decisionAt struct {
	Action     Action
	Rule       int
	Group      string
	Definition int
}

func at(d Decision) decisionAt {
	return decisionAt{Action: d.Action, Rule: d.Rule, Group: d.Group, Definition: d.Definition}
}

func TestFirstMatchWins(t *testing.T) {
	groups := []Group{
		{Name: "local-tools", Definitions: []Definition{{Path: pathPrefix("/usr/local/bin/")}}},
		{Name: "curl", Definitions: []Definition{{Path: pathExact("/usr/local/bin/curl")}, {Path: pathExact("/usr/bin/curl")}}},
		{Name: "everything", Definitions: []Definition{{Path: pathPrefix("/")}}},
	}
	broadFirst := &Document{ID: "p", Revision: 1, Groups: groups, Rules: []Rule{
		{Name: "local-tools", Group: "local-tools", Action: "allow"},
		{Name: "curl", Group: "curl", Action: "deny"},
		{Name: "rest", Group: "everything", Action: "audit"},
	}}
	specificFirst := &Document{ID: "p", Revision: 1, Groups: groups, Rules: []Rule{
		{Name: "curl", Group: "curl", Action: "deny"},
		{Name: "local-tools", Group: "local-tools", Action: "allow"},
		{Name: "rest", Group: "everything", Action: "audit"},
	}}
	tests := []struct {
		name      string
		doc       *Document
		path      string
		want      decisionAt
		traceLen  int
		traceName string // name of the deciding rule in the trace
	}{
		{"broad_first/later_specific_rule_does_not_override", broadFirst, "/usr/local/bin/curl", decisionAt{Allow, 1, "local-tools", 1}, 1, "local-tools"},
		{"broad_first/second_definition_of_second_rule", broadFirst, "/usr/bin/curl", decisionAt{Deny, 2, "curl", 2}, 2, "curl"},
		{"broad_first/falls_through_to_last_rule", broadFirst, "/bin/ls", decisionAt{Audit, 3, "everything", 1}, 3, "rest"},
		{"broad_first/nothing_matches_default", broadFirst, "relative/path", decisionAt{Allow, 0, "", 0}, 3, ""},
		{"specific_first/specific_rule_decides", specificFirst, "/usr/local/bin/curl", decisionAt{Deny, 1, "curl", 1}, 1, "curl"},
		{"specific_first/broad_rule_for_the_rest", specificFirst, "/usr/local/bin/jq", decisionAt{Allow, 2, "local-tools", 1}, 2, "local-tools"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := compileOK(t, tt.doc)
			f := &Facts{Subject: Subject{Type: Binary, Path: tt.path}}
			d := decide(t, e, f)
			if got := at(d); got != tt.want {
				t.Fatalf("decision = %+v, want %+v", got, tt.want)
			}
			if tt.want.Rule > 0 && d.RuleName != tt.traceName {
				t.Errorf("RuleName = %q, want %q", d.RuleName, tt.traceName)
			}
			_, trace := e.Explain(f)
			if len(trace) != tt.traceLen {
				t.Fatalf("trace has %d rules, want %d (Explain stops at the deciding rule): %+v", len(trace), tt.traceLen, trace)
			}
			for i, rt := range trace {
				decided := i+1 == tt.want.Rule
				if rt.Matched != decided {
					t.Errorf("trace[%d] (rule %d) Matched = %v, want %v", i, rt.Rule, rt.Matched, decided)
				}
				if rt.Rule != i+1 {
					t.Errorf("trace[%d].Rule = %d, want %d", i, rt.Rule, i+1)
				}
			}
		})
	}
}

func TestDefinitionsOrAndWithin(t *testing.T) {
	doc := oneRule(
		Definition{Type: []string{"binary"}, Path: pathExact("/opt/a"), Publisher: (*SubstringMatch)(strCrit(OpExact, "Vendor A", false))},
		Definition{Path: pathExact("/opt/b")},
		Definition{Type: []string{"bundle"}, BundleID: strCrit(OpExact, "com.example.c", false), TeamID: strCrit(OpExact, "TEAMC", false)},
	)
	e := compileOK(t, doc)
	tests := []struct {
		name    string
		subject Subject
		wantDef int // 0: no match
	}{
		{"and/both_criteria_hold/definition_1", Subject{Type: Binary, Path: "/opt/a", Publisher: "Vendor A"}, 1},
		{"and/publisher_differs/no_match", Subject{Type: Binary, Path: "/opt/a", Publisher: "Vendor B"}, 0},
		{"and/path_differs/no_match", Subject{Type: Binary, Path: "/opt/x", Publisher: "Vendor A"}, 0},
		{"and/type_differs/no_match", Subject{Type: Script, Path: "/opt/a", Publisher: "Vendor A"}, 0},
		{"or/second_definition", Subject{Type: Binary, Path: "/opt/b"}, 2},
		{"or/second_definition_any_type", Subject{Type: Package, Path: "/opt/b", Publisher: "Vendor A"}, 2},
		{"or/third_definition", Subject{Type: Bundle, Path: "/Applications/C.app", BundleID: "com.example.c", TeamID: "TEAMC"}, 3},
		{"and/third_definition_team_differs/no_match", Subject{Type: Bundle, Path: "/Applications/C.app", BundleID: "com.example.c", TeamID: "OTHER"}, 0},
		{"or/first_listed_definition_reported", Subject{Type: Binary, Path: "/opt/a", Publisher: "Vendor A", BundleID: "com.example.c", TeamID: "TEAMC"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decide(t, e, &Facts{Subject: tt.subject})
			want := decisionAt{Allow, 0, "", 0}
			if tt.wantDef > 0 {
				want = decisionAt{Deny, 1, "g", tt.wantDef}
			}
			if got := at(d); got != want {
				t.Errorf("decision = %+v, want %+v", got, want)
			}
		})
	}
}

func TestUserScope(t *testing.T) {
	type scope struct {
		users, groups, exUsers, exGroups []string
	}
	tests := []struct {
		name   string
		scope  scope
		user   string
		groups []string
		reason string // "" means in scope
	}{
		{"users/listed", scope{users: []string{"alice"}}, "alice", nil, ""},
		{"users/not_listed", scope{users: []string{"alice", "carol"}}, "bob", nil, "user bob is not among users alice, carol"},
		{"users/unknown_user", scope{users: []string{"alice"}}, "", nil, "user (unknown user) is not among users alice"},
		{"users/case_sensitive", scope{users: []string{"alice"}}, "Alice", nil, "user Alice is not among users alice"},
		{"user_groups/member", scope{groups: []string{"admin"}}, "bob", []string{"staff", "admin"}, ""},
		{"user_groups/not_member", scope{groups: []string{"admin"}}, "bob", []string{"staff"}, "user bob is not among user groups admin"},
		{"user_groups/no_groups", scope{groups: []string{"admin", "wheel"}}, "bob", nil, "user bob is not among user groups admin, wheel"},
		{"users_or_groups/by_group", scope{users: []string{"alice"}, groups: []string{"admin"}}, "carol", []string{"admin"}, ""},
		{"users_or_groups/by_name", scope{users: []string{"alice"}, groups: []string{"admin"}}, "alice", nil, ""},
		{"users_or_groups/neither", scope{users: []string{"alice"}, groups: []string{"admin"}}, "dave", []string{"staff"}, "user dave is not among users alice or user groups admin"},
		{"exclude_users/excluded", scope{exUsers: []string{"bob"}}, "bob", nil, "user bob is excluded"},
		{"exclude_users/other_user", scope{exUsers: []string{"bob"}}, "alice", nil, ""},
		{"exclude_users/unknown_user_not_excluded", scope{exUsers: []string{"bob"}}, "", nil, ""},
		{"exclude_user_groups/member", scope{exGroups: []string{"contractors", "interns"}}, "bob", []string{"staff", "interns"}, "user bob is in an excluded group (contractors, interns)"},
		{"exclude_user_groups/not_member", scope{exGroups: []string{"contractors"}}, "bob", []string{"staff"}, ""},
		{"users_and_exclude_users/exclusion_wins", scope{users: []string{"alice", "bob"}, exUsers: []string{"bob"}}, "bob", nil, "user bob is excluded"},
		{"users_and_exclude_users/listed_not_excluded", scope{users: []string{"alice", "bob"}, exUsers: []string{"bob"}}, "alice", nil, ""},
		{"groups_and_exclude_groups/exclusion_wins", scope{groups: []string{"engineering"}, exGroups: []string{"contractors"}}, "eve", []string{"engineering", "contractors"}, "user eve is in an excluded group (contractors)"},
		{"groups_and_exclude_groups/member_not_excluded", scope{groups: []string{"engineering"}, exGroups: []string{"contractors"}}, "eve", []string{"engineering"}, ""},
		{"users_and_exclude_groups/listed_but_group_excluded", scope{users: []string{"alice"}, exGroups: []string{"contractors"}}, "alice", []string{"contractors"}, "user alice is in an excluded group (contractors)"},
		{"groups_and_exclude_users/member_but_excluded", scope{groups: []string{"admin"}, exUsers: []string{"root"}}, "root", []string{"admin"}, "user root is excluded"},
		{"all_four/in_scope", scope{users: []string{"alice"}, groups: []string{"admin"}, exUsers: []string{"bob"}, exGroups: []string{"guests"}}, "carol", []string{"admin"}, ""},
		{"all_four/not_listed", scope{users: []string{"alice"}, groups: []string{"admin"}, exUsers: []string{"bob"}, exGroups: []string{"guests"}}, "carol", []string{"staff"}, "user carol is not among users alice or user groups admin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := &Document{ID: "p", Revision: 1,
				Groups: []Group{{Name: "all", Definitions: []Definition{{Path: pathPrefix("/")}}}},
				Rules: []Rule{
					{Name: "scoped", Group: "all", Action: "deny", Users: tt.scope.users, UserGroups: tt.scope.groups, ExcludeUsers: tt.scope.exUsers, ExcludeGroups: tt.scope.exGroups},
					{Name: "everyone", Group: "all", Action: "audit"},
				},
			}
			e := compileOK(t, doc)
			f := &Facts{Subject: Subject{Type: Binary, Path: "/usr/bin/true"}, User: tt.user, Groups: tt.groups}
			d := decide(t, e, f)
			_, trace := e.Explain(f)
			if tt.reason == "" {
				if d.Rule != 1 || d.Action != Deny {
					t.Fatalf("decision = %+v, want rule 1 (in scope)", at(d))
				}
				if trace[0].OutOfScope != "" {
					t.Errorf("trace says out of scope: %q", trace[0].OutOfScope)
				}
				return
			}
			if d.Rule != 2 || d.Action != Audit {
				t.Fatalf("decision = %+v, want rule 2 (rule 1 out of scope)", at(d))
			}
			if len(trace) != 2 {
				t.Fatalf("trace = %+v, want two rules", trace)
			}
			if trace[0].OutOfScope != tt.reason {
				t.Errorf("OutOfScope = %q, want %q", trace[0].OutOfScope, tt.reason)
			}
			if trace[0].Matched || len(trace[0].Definitions) != 0 {
				t.Errorf("an out-of-scope rule's definitions were looked at: %+v", trace[0])
			}
		})
	}
}

func TestDefaultDecision(t *testing.T) {
	group := []Group{{Name: "g", Definitions: []Definition{{Path: pathExact("/usr/bin/curl")}}}}
	rules := []Rule{{Group: "g", Action: "deny_notify", Audit: boolPtr(false)}}
	tests := []struct {
		name      string
		def       Default
		rules     []Rule
		path      string
		want      Decision
		wantMsg   bool
		wantWarns []string
	}{
		{
			name: "unset/allows_and_audits", rules: rules, path: "/bin/ls",
			want: Decision{Action: Allow, Audit: true, PolicyID: "p", Revision: 7},
		},
		{
			name: "deny/denies_unmatched", def: Default{Action: "deny"}, rules: rules, path: "/bin/ls",
			want: Decision{Action: Deny, Audit: true, PolicyID: "p", Revision: 7},
		},
		{
			name: "deny_message/with_message_and_no_audit", rules: rules, path: "/bin/ls",
			def:     Default{Action: "deny_message", Audit: boolPtr(false), Message: &Message{Title: "Blocked"}},
			want:    Decision{Action: DenyMessage, Audit: false, PolicyID: "p", Revision: 7},
			wantMsg: true,
		},
		{
			name: "deny/rule_still_decides_matches", def: Default{Action: "deny"}, rules: rules, path: "/usr/bin/curl",
			want: Decision{Action: DenyNotify, Rule: 1, Group: "g", Definition: 1, Audit: false, PolicyID: "p", Revision: 7},
		},
		{
			name: "deny/no_rules_warns_and_denies", def: Default{Action: "deny"}, path: "/usr/bin/curl",
			want:      Decision{Action: Deny, Audit: true, PolicyID: "p", Revision: 7},
			wantWarns: []string{"the policy has no rules, so every program gets the default (deny)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := &Document{ID: "p", Revision: 7, Default: tt.def, Groups: group, Rules: tt.rules}
			e, diags := Compile(doc)
			if diags.HasErrors() || e == nil {
				t.Fatalf("Compile: %v", diags)
			}
			for _, w := range tt.wantWarns {
				if !hasDiag(diags, SeverityWarning, w) {
					t.Errorf("no warning containing %q in:\n%v", w, diags)
				}
			}
			d := decide(t, e, &Facts{Subject: Subject{Type: Binary, Path: tt.path}})
			if (d.Message != nil) != tt.wantMsg {
				t.Errorf("Message = %v, want present=%v", d.Message, tt.wantMsg)
			}
			d.Message = nil
			if d != tt.want {
				t.Errorf("decision = %+v\nwant       %+v", d, tt.want)
			}
		})
	}
}

func TestRuleDecisionFields(t *testing.T) {
	doc := &Document{ID: "corp", Revision: 42,
		Groups: []Group{{Name: "sudo", Definitions: []Definition{{Type: []string{"sudo"}, Path: pathExact("/usr/bin/vim")}}}},
		Rules: []Rule{{
			Name: "sudo-vim", Group: "sudo", Action: "elevate", Require: "justification", MinJustification: 10,
			Audit: boolPtr(true), Message: &Message{Title: "Elevate {name}"},
		}},
	}
	e := compileOK(t, doc)
	d := decide(t, e, &Facts{Subject: Subject{Type: SudoCommand, Path: "/usr/bin/vim"}})
	if d.Message == nil {
		t.Fatal("decision has no message")
	}
	d.Message = nil
	want := Decision{Action: Elevate, Require: Justification, Rule: 1, RuleName: "sudo-vim", Group: "sudo", Definition: 1, Audit: true, MinJustification: 10, PolicyID: "corp", Revision: 42}
	if d != want {
		t.Errorf("decision = %+v\nwant       %+v", d, want)
	}
	if e.ID() != "corp" || e.Revision() != 42 {
		t.Errorf("ID, Revision = %q, %d", e.ID(), e.Revision())
	}
}

func subj(t AppType, path string) Subject { return Subject{Type: t, Path: path} }

func TestParentProcess(t *testing.T) {
	var (
		zsh      = subj(Binary, "/bin/zsh")
		bash     = subj(Binary, "/bin/bash")
		python   = subj(Binary, "/usr/bin/python3")
		login    = subj(Binary, "/usr/bin/login")
		launchd  = subj(Binary, "/sbin/launchd")
		terminal = subj(Bundle, "/System/Applications/Utilities/Terminal.app")
		zshAsSh  = subj(Script, "/bin/zsh") // same path, wrong type
	)
	// parentDoc: group "shells" (zsh, bash), and group "target" (curl with
	// the given parent criterion).
	parentDoc := func(p ParentMatch) *Document {
		return &Document{ID: "p", Revision: 1,
			Groups: []Group{
				{Name: "shells", Definitions: []Definition{
					{Type: []string{"binary"}, Path: pathExact("/bin/zsh")},
					{Type: []string{"binary"}, Path: pathExact("/bin/bash")},
				}},
				{Name: "target", Definitions: []Definition{{Type: []string{"binary"}, Path: pathExact("/usr/bin/curl"), Parent: &p}}},
			},
			Rules: []Rule{{Group: "target", Action: "deny"}},
		}
	}
	// nestedDoc: curl whose parent is in "shell-in-terminal", a shell whose
	// parent is in "terminals".
	nestedDoc := func(anyAncestor bool) *Document {
		return &Document{ID: "p", Revision: 1,
			Groups: []Group{
				{Name: "target", Definitions: []Definition{{Type: []string{"binary"}, Path: pathExact("/usr/bin/curl"), Parent: &ParentMatch{Group: "shell-in-terminal", AnyAncestor: anyAncestor}}}},
				{Name: "shell-in-terminal", Definitions: []Definition{{Type: []string{"binary"}, Path: pathPrefix("/bin/"), Parent: &ParentMatch{Group: "terminals", AnyAncestor: anyAncestor}}}},
				{Name: "terminals", Definitions: []Definition{{Type: []string{"bundle"}, Path: strCrit(OpEndsWith, "/Terminal.app", false)}}},
			},
			Rules: []Rule{{Group: "target", Action: "deny"}},
		}
	}
	chain := func(n int, at map[int]Subject) []Subject {
		out := make([]Subject, n)
		for i := range out {
			out[i] = subj(Binary, fmt.Sprintf("/usr/libexec/p%d", i))
		}
		for i, s := range at {
			out[i] = s
		}
		return out
	}
	direct := parentDoc(ParentMatch{Group: "shells"})
	anyAnc := parentDoc(ParentMatch{Group: "shells", AnyAncestor: true})
	notDirect := parentDoc(ParentMatch{Group: "shells", Not: true})
	notAny := parentDoc(ParentMatch{Group: "shells", AnyAncestor: true, Not: true})

	tests := []struct {
		name    string
		doc     *Document
		parents []Subject
		want    bool
		failed  string // for no match: a substring of Explain's failure
	}{
		{"direct/shell_parent/expect_match", direct, []Subject{zsh, login, launchd}, true, ""},
		{"direct/second_definition_of_parent_group/expect_match", direct, []Subject{bash}, true, ""},
		{"direct/shell_grandparent_only/expect_no_match", direct, []Subject{python, zsh, launchd}, false, `direct parent in group "shells": got /usr/bin/python3`},
		{"direct/empty_chain/expect_no_match", direct, nil, false, `direct parent in group "shells": no parent process known`},
		{"direct/parent_type_excluded_by_group/expect_no_match", direct, []Subject{zshAsSh}, false, "direct parent"},
		{"any_ancestor/shell_grandparent/expect_match", anyAnc, []Subject{python, zsh, launchd}, true, ""},
		{"any_ancestor/shell_last/expect_match", anyAnc, []Subject{python, login, bash}, true, ""},
		{"any_ancestor/no_shell/expect_no_match", anyAnc, []Subject{python, login, launchd}, false, "any ancestor in group \"shells\": got /usr/bin/python3 ← /usr/bin/login ← /sbin/launchd"},
		{"any_ancestor/empty_chain/expect_no_match", anyAnc, nil, false, "no parent process known"},
		{"negated_direct/shell_parent/expect_no_match", notDirect, []Subject{zsh}, false, `direct parent not in group "shells"`},
		{"negated_direct/shell_grandparent/expect_match", notDirect, []Subject{python, zsh}, true, ""},
		{"negated_direct/empty_chain/expect_match", notDirect, nil, true, ""},
		{"negated_any/shell_grandparent/expect_no_match", notAny, []Subject{python, zsh}, false, `any ancestor not in group "shells"`},
		{"negated_any/no_shell/expect_match", notAny, []Subject{python, launchd}, true, ""},
		{"negated_any/empty_chain/expect_match", notAny, nil, true, ""},
		{"nested_direct/shell_in_terminal/expect_match", nestedDoc(false), []Subject{zsh, terminal, launchd}, true, ""},
		{"nested_direct/shell_without_terminal/expect_no_match", nestedDoc(false), []Subject{zsh, login, terminal}, false, "shell-in-terminal"},
		{"nested_direct/non_shell_in_terminal/expect_no_match", nestedDoc(false), []Subject{python, terminal}, false, "shell-in-terminal"},
		{"nested_direct/shell_with_no_parent/expect_no_match", nestedDoc(false), []Subject{zsh}, false, "shell-in-terminal"},
		{"nested_any/terminal_far_above_shell/expect_match", nestedDoc(true), []Subject{python, bash, login, terminal, launchd}, true, ""},
		{"nested_any/terminal_below_shell/expect_no_match", nestedDoc(true), []Subject{python, terminal, bash, launchd}, false, "shell-in-terminal"},
		{"nested_any/terminal_is_the_program_not_an_ancestor/expect_no_match", nestedDoc(true), []Subject{bash}, false, "shell-in-terminal"},
		{"long_chain/any_ancestor_at_64th_parent/expect_match", anyAnc, chain(100, map[int]Subject{63: zsh}), true, ""},
		{"long_chain/any_ancestor_at_65th_parent_clamped/expect_no_match", anyAnc, chain(100, map[int]Subject{64: zsh}), false, "any ancestor"},
		{"long_chain/any_ancestor_65th_of_65/expect_no_match", anyAnc, chain(65, map[int]Subject{64: zsh}), false, "any ancestor"},
		{"long_chain/any_ancestor_far_beyond_clamp/expect_no_match", anyAnc, chain(10000, map[int]Subject{9999: zsh}), false, "any ancestor"},
		{"long_chain/negated_any_beyond_clamp/expect_match", notAny, chain(10000, map[int]Subject{5000: zsh}), true, ""},
		{"long_chain/nested_any_terminal_within_clamp/expect_match", nestedDoc(true), chain(200, map[int]Subject{10: zsh, 63: terminal}), true, ""},
		{"long_chain/nested_any_terminal_beyond_clamp/expect_no_match", nestedDoc(true), chain(200, map[int]Subject{10: zsh, 64: terminal}), false, "shell-in-terminal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := compileOK(t, tt.doc)
			f := &Facts{Subject: subj(Binary, "/usr/bin/curl"), Parents: tt.parents}
			d := decide(t, e, f)
			if got := d.Rule == 1; got != tt.want {
				t.Fatalf("matched = %v, want %v (decision %+v)", got, tt.want, at(d))
			}
			if tt.want {
				return
			}
			_, trace := e.Explain(f)
			failed := strings.Join(trace[0].Definitions[0].Failed, "; ")
			if !strings.Contains(failed, tt.failed) {
				t.Errorf("Explain failure %q does not mention %q", failed, tt.failed)
			}
		})
	}
}

func hasDiag(ds Diagnostics, sev Severity, substr string) bool {
	for _, d := range ds {
		if d.Severity == sev && strings.Contains(d.String(), substr) {
			return true
		}
	}
	return false
}

// lintBase is a valid policy the lint cases break one thing at a time.
func lintBase() *Document {
	return &Document{
		ID: "corp", Revision: 3,
		Groups: []Group{
			{Name: "shells", Definitions: []Definition{{Type: []string{"binary"}, Path: pathExact("/bin/zsh")}}},
			{Name: "tools", Definitions: []Definition{{Type: []string{"binary"}, Path: pathPrefix("/usr/local/bin/")}}},
		},
		Rules: []Rule{{Name: "tools", Group: "tools", Action: "deny"}},
	}
}

func TestLint(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(d *Document)
		sev    Severity
		want   []string // substrings of one diagnostic's String()
	}{
		{"error/parent_cycle_self", func(d *Document) {
			d.Groups[0].Definitions[0].Parent = &ParentMatch{Group: "shells"}
		}, SeverityError, []string{`group "shells" definition 1: parent`, `parent groups form a cycle ("shells" → "shells")`}},
		{"error/parent_cycle_two_groups", func(d *Document) {
			d.Groups[0].Definitions[0].Parent = &ParentMatch{Group: "tools"}
			d.Groups[1].Definitions[0].Parent = &ParentMatch{Group: "shells", AnyAncestor: true}
		}, SeverityError, []string{`cycle ("shells" → "tools" → "shells")`}},
		{"error/parent_cycle_through_negation", func(d *Document) {
			d.Groups[0].Definitions[0].Parent = &ParentMatch{Group: "tools", Not: true}
			d.Groups[1].Definitions[0].Parent = &ParentMatch{Group: "shells"}
		}, SeverityError, []string{`cycle ("shells" → "tools" → "shells")`}},
		{"error/unknown_group_in_rule", func(d *Document) { d.Rules[0].Group = "tool" }, SeverityError,
			[]string{`rule 1 "tools"`, `unknown group "tool"; did you mean "tools"?`}},
		{"error/unknown_group_far_from_any", func(d *Document) { d.Rules[0].Group = "zzzzzzzz" }, SeverityError,
			[]string{`unknown group "zzzzzzzz"`}},
		{"error/unknown_group_in_parent", func(d *Document) {
			d.Groups[1].Definitions[0].Parent = &ParentMatch{Group: "shell"}
		}, SeverityError, []string{`group "tools" definition 1: parent`, `unknown group "shell"; did you mean "shells"?`}},
		{"error/parent_without_group", func(d *Document) {
			d.Groups[1].Definitions[0].Parent = &ParentMatch{}
		}, SeverityError, []string{"parent names no group"}},
		{"error/unknown_action", func(d *Document) { d.Rules[0].Action = "dney" }, SeverityError,
			[]string{`unknown action "dney"; did you mean "deny"?`, "valid actions: allow, audit, deny"}},
		{"error/unknown_default_action", func(d *Document) { d.Default.Action = "alow" }, SeverityError,
			[]string{"default", `unknown action "alow"; did you mean "allow"?`}},
		{"error/rule_without_action", func(d *Document) { d.Rules[0].Action = "" }, SeverityError, []string{"the rule has no action"}},
		{"error/rule_without_group", func(d *Document) { d.Rules[0].Group = "" }, SeverityError, []string{"the rule names no group"}},
		{"error/criterion_not_valid_for_type", func(d *Document) {
			d.Groups[1].Definitions[0].Type = []string{"script"}
			d.Groups[1].Definitions[0].Publisher = (*SubstringMatch)(strCrit(OpContains, "Apple", false))
		}, SeverityError, []string{`group "tools" definition 1: publisher`, "publisher does not apply to type script"}},
		{"error/criterion_needs_type", func(d *Document) {
			d.Groups[1].Definitions[0].Type = nil
			d.Groups[1].Definitions[0].BundleID = strCrit(OpExact, "com.x", false)
		}, SeverityError, []string{"bundle_id applies only to bundle; add `type: [bundle]`"}},
		{"error/version_on_binary", func(d *Document) {
			d.Groups[1].Definitions[0].Version = &VersionRange{Min: "1"}
		}, SeverityError, []string{"version does not apply to type binary"}},
		{"error/unknown_type", func(d *Document) { d.Groups[1].Definitions[0].Type = []string{"binay"} }, SeverityError,
			[]string{`unknown application type "binay"; did you mean "binary"?`}},
		{"error/two_operators", func(d *Document) {
			d.Groups[1].Definitions[0].Path = &StringMatch{Exact: strPtr("/a"), StartsWith: strPtr("/b")}
		}, SeverityError, []string{"2 operators (exact and starts_with)", "exactly one"}},
		{"error/three_operators", func(d *Document) {
			d.Groups[1].Definitions[0].Path = &StringMatch{EndsWith: strPtr("/a"), Wildcard: strPtr("/b*"), Regex: strPtr("c")}
		}, SeverityError, []string{"3 operators (ends_with and wildcard)"}},
		{"error/no_operator", func(d *Document) { d.Groups[1].Definitions[0].Path = &StringMatch{Not: true} }, SeverityError,
			[]string{"no operator"}},
		{"error/empty_contains", func(d *Document) { d.Groups[1].Definitions[0].Path = strCrit(OpContains, "", false) }, SeverityError,
			[]string{"contains with an empty value matches everything"}},
		{"error/bad_regex", func(d *Document) { d.Groups[1].Definitions[0].Path = strCrit(OpRegex, "^/usr/(bin", false) }, SeverityError,
			[]string{`group "tools" definition 1: path`, "bad regular expression: missing closing )"}},
		{"error/bad_wildcard_trailing_backslash", func(d *Document) {
			d.Groups[1].Definitions[0].Path = strCrit(OpWildcard, `/usr/local/*\`, false)
		}, SeverityError, []string{`bad wildcard: a trailing \ escapes nothing`}},
		{"error/sha1_bad_length", func(d *Document) { d.Groups[1].Definitions[0].SHA1 = &HashMatch{Value: "abc123"} }, SeverityError,
			[]string{`"abc123" is not a sha1 hash; expected 40 hexadecimal digits`}},
		{"error/sha1_not_hex", func(d *Document) {
			d.Groups[1].Definitions[0].SHA1 = &HashMatch{Value: strings.Repeat("g", 40)}
		}, SeverityError, []string{"is not a sha1 hash"}},
		{"error/sha256_given_sha1_length", func(d *Document) {
			d.Groups[1].Definitions[0].SHA256 = &HashMatch{Value: strings.Repeat("a", 40)}
		}, SeverityError, []string{"is not a sha256 hash; expected 64 hexadecimal digits"}},
		{"error/version_min_above_max", func(d *Document) {
			d.Groups[1].Definitions[0].Type = []string{"bundle"}
			d.Groups[1].Definitions[0].Version = &VersionRange{Min: "10.10", Max: "10.9"}
		}, SeverityError, []string{`min "10.10" is above max "10.9"`}},
		{"error/version_without_bounds", func(d *Document) {
			d.Groups[1].Definitions[0].Type = []string{"bundle"}
			d.Groups[1].Definitions[0].Version = &VersionRange{Not: true}
		}, SeverityError, []string{"version needs min, max or both"}},
		{"error/auth_uri_on_package", func(d *Document) {
			d.Groups[1].Definitions[0].Type = []string{"package"}
			d.Groups[1].Definitions[0].AuthURI = strCrit(OpExact, "system.install.software", false)
		}, SeverityError, []string{"package definitions always match the system.install.software request"}},
		{"error/install_and_delete", func(d *Document) {
			d.Groups[1].Definitions[0].Type = []string{"bundle"}
			d.Groups[1].Definitions[0].Install = boolPtr(true)
			d.Groups[1].Definitions[0].Delete = boolPtr(true)
		}, SeverityError, []string{"install and delete are both true"}},
		{"error/install_and_auth_uri", func(d *Document) {
			d.Groups[1].Definitions[0].Type = []string{"bundle"}
			d.Groups[1].Definitions[0].Install = boolPtr(true)
			d.Groups[1].Definitions[0].AuthURI = strCrit(OpExact, "system.x", false)
		}, SeverityError, []string{"one event is never both"}},
		{"error/install_on_binary", func(d *Document) { d.Groups[1].Definitions[0].Install = boolPtr(true) }, SeverityError,
			[]string{"install does not apply to type binary"}},
		{"error/duplicate_group", func(d *Document) {
			d.Groups[1].Pos = Pos{File: "p.yaml", Line: 9}
			d.Groups = append(d.Groups, Group{Pos: Pos{File: "p.yaml", Line: 20}, Name: "tools", Definitions: []Definition{{Path: pathExact("/x")}}})
		}, SeverityError, []string{`p.yaml:20: error: group "tools": duplicate group name; the first is at p.yaml:9`}},
		{"error/group_without_name", func(d *Document) { d.Groups[0].Name = "" }, SeverityError, []string{"group 1", "the group has no name"}},
		{"error/group_without_definitions", func(d *Document) { d.Groups[0].Definitions = nil }, SeverityError,
			[]string{`group "shells"`, "the group has no definitions"}},
		{"error/missing_id", func(d *Document) { d.ID = " " }, SeverityError, []string{"id", "the policy has no id"}},
		{"error/missing_revision", func(d *Document) { d.Revision = 0 }, SeverityError, []string{"the policy has no revision (got 0)"}},
		{"error/negative_revision", func(d *Document) { d.Revision = -2 }, SeverityError, []string{"(got -2)"}},
		{"error/unknown_placeholder", func(d *Document) { d.Rules[0].Message = &Message{Title: "Blocked", Body: "{paht} is blocked"} }, SeverityError,
			[]string{"message: body", "unknown placeholder {paht}; did you mean \"path\"?"}},
		{"error/unknown_placeholder_in_default", func(d *Document) { d.Default.Message = &Message{Title: "{nmae}"} }, SeverityError,
			[]string{"default message: title", "unknown placeholder {nmae}"}},
		{"error/unclosed_placeholder", func(d *Document) { d.Rules[0].Message = &Message{Title: "Blocked {path"} }, SeverityError,
			[]string{"unclosed { at character 9; write {{ for a literal brace"}},
		{"error/non_http_url", func(d *Document) { d.Rules[0].Message = &Message{Title: "x", URL: "ftp://help.example.com/"} }, SeverityError,
			[]string{"message: url", `"ftp://help.example.com/" is not an http(s) URL`}},
		{"error/javascript_url", func(d *Document) { d.Rules[0].Message = &Message{Title: "x", URL: "javascript:alert(1)"} }, SeverityError,
			[]string{"is not an http(s) URL"}},
		{"error/require_without_elevate", func(d *Document) { d.Rules[0].Require = "approval" }, SeverityError,
			[]string{"require applies only to action elevate; for action deny remove it"}},
		{"error/unknown_require", func(d *Document) { d.Rules[0].Action = "elevate"; d.Rules[0].Require = "aproval" }, SeverityError,
			[]string{`unknown require "aproval"; did you mean "approval"?`}},
		{"error/negative_min_justification", func(d *Document) { d.Rules[0].MinJustification = -1 }, SeverityError,
			[]string{"min_justification must be 0 or more, got -1"}},
		{"error/audit_action_with_audit_false", func(d *Document) { d.Rules[0].Action = "audit"; d.Rules[0].Audit = boolPtr(false) }, SeverityError,
			[]string{"contradicts itself"}},
		{"error/empty_user_name", func(d *Document) { d.Rules[0].Users = []string{"alice", " "} }, SeverityError,
			[]string{"users has an empty name"}},
		{"error/empty_excluded_group_name", func(d *Document) { d.Rules[0].ExcludeGroups = []string{""} }, SeverityError,
			[]string{"exclude_user_groups has an empty name"}},
		{"warning/no_rules", func(d *Document) { d.Rules = nil }, SeverityWarning,
			[]string{"rules", "the policy has no rules, so every program gets the default (allow)"}},
		{"warning/shadowed_rule", func(d *Document) {
			d.Rules = append(d.Rules, Rule{Group: "tools", Action: "audit"})
		}, SeverityWarning, []string{"rule 2", `this rule can never match: rule 1 already takes every program in group "tools" for every user`}},
		{"warning/scoped_rule_shadowed_by_unscoped", func(d *Document) {
			d.Rules = append(d.Rules, Rule{Group: "tools", Action: "audit", Users: []string{"alice"}})
		}, SeverityWarning, []string{"rule 2", "this rule can never match: rule 1"}},
		{"warning/shadowed_after_scoped_rule", func(d *Document) {
			d.Rules = []Rule{
				{Group: "tools", Action: "allow", Users: []string{"alice"}},
				{Group: "tools", Action: "deny"},
				{Group: "tools", Action: "audit"},
			}
		}, SeverityWarning, []string{"rule 3", "this rule can never match: rule 2 already takes"}},
		{"warning/unanchored_path_regex", func(d *Document) { d.Groups[1].Definitions[0].Path = strCrit(OpRegex, "bin/curl$", false) }, SeverityWarning,
			[]string{`regex "bin/curl$" is not anchored with ^`}},
		{"warning/definition_matches_everything", func(d *Document) { d.Groups[1].Definitions = []Definition{{}} }, SeverityWarning,
			[]string{"the definition has no type and no criteria, so it matches every program"}},
		{"warning/message_without_text", func(d *Document) { d.Rules[0].Message = &Message{URL: "https://help.example.com/"} }, SeverityWarning,
			[]string{"the message has neither title nor body"}},
		{"warning/min_justification_without_effect", func(d *Document) { d.Rules[0].MinJustification = 5 }, SeverityWarning,
			[]string{"min_justification has no effect on action deny"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := lintBase()
			tt.mutate(doc)
			e, diags := Compile(doc)
			found := false
			for _, d := range diags {
				s := d.String()
				all := d.Severity == tt.sev
				for _, w := range tt.want {
					all = all && strings.Contains(s, w)
				}
				found = found || all
			}
			if !found {
				t.Errorf("no %s diagnostic containing all of %q; got:\n%v", tt.sev, tt.want, diags)
			}
			switch tt.sev {
			case SeverityError:
				if e != nil {
					t.Errorf("Compile returned an Engine despite errors")
				}
				if diags.Err() == nil {
					t.Errorf("Diagnostics.Err() = nil despite errors")
				}
			case SeverityWarning:
				if diags.HasErrors() {
					t.Errorf("unexpected errors:\n%v", diags)
				}
				if e == nil {
					t.Errorf("Compile returned no Engine for a policy with only warnings")
				}
				if diags.Err() != nil {
					t.Errorf("Diagnostics.Err() = %v for warnings only", diags.Err())
				}
			}
		})
	}
}

func TestLintCleanPolicy(t *testing.T) {
	doc := lintBase()
	doc.Rules = append(doc.Rules,
		Rule{Group: "shells", Action: "allow", Users: []string{"alice"}},
		Rule{Group: "shells", Action: "audit"},
	)
	e, diags := Compile(doc)
	if len(diags) != 0 || e == nil {
		t.Errorf("a clean policy got diagnostics (or no Engine):\n%v", diags)
	}
}

// TestCompileReportsAllErrors: one pass finds every error, not just the
// first, and reports them sorted by position.
func TestCompileReportsAllErrors(t *testing.T) {
	line := func(n int) Pos { return Pos{File: "bad.yaml", Line: n, Col: 3} }
	doc := &Document{
		Pos: line(1),
		// missing id and revision
		Groups: []Group{
			{Pos: line(5), Name: "tools", Definitions: []Definition{
				{Pos: line(6), Type: []string{"binary"}, Path: &StringMatch{Pos: line(7), Regex: strPtr("(unclosed")}},
				{Pos: line(8), Type: []string{"binary"}, SHA256: &HashMatch{Pos: line(9), Value: "1234"}},
				{Pos: line(10), Type: []string{"bundle"}, Version: &VersionRange{Pos: line(11), Min: "3", Max: "2"}},
			}},
			{Pos: line(12), Name: "tools", Definitions: []Definition{{Path: pathExact("/x")}}},
		},
		Rules: []Rule{
			{Pos: line(20), Group: "tols", Action: "deny"},
			{Pos: line(21), Group: "tools", Action: "blok"},
		},
	}
	e, diags := Compile(doc)
	if e != nil {
		t.Error("Compile returned an Engine despite errors")
	}
	wants := []string{
		"the policy has no id",
		"the policy has no revision",
		"bad regular expression",
		"is not a sha256 hash",
		`min "3" is above max "2"`,
		"duplicate group name",
		`unknown group "tols"; did you mean "tools"?`,
		`unknown action "blok"`,
	}
	errs := 0
	for _, d := range diags {
		if d.Severity == SeverityError {
			errs++
		}
	}
	if errs < len(wants) {
		t.Errorf("got %d errors, want at least %d:\n%v", errs, len(wants), diags)
	}
	for _, w := range wants {
		if !hasDiag(diags, SeverityError, w) {
			t.Errorf("missing error %q in:\n%v", w, diags)
		}
	}
	for i := 1; i < len(diags); i++ {
		if diags[i-1].Pos.Line > diags[i].Pos.Line {
			t.Errorf("diagnostics not sorted by line: %v before %v", diags[i-1], diags[i])
		}
	}
	if got := strings.Count(diags.Error(), "\n") + 1; got != len(diags) {
		t.Errorf("Error() has %d lines, want one per diagnostic (%d)", got, len(diags))
	}
}

func TestMessageRender(t *testing.T) {
	doc := &Document{ID: "corp", Revision: 12,
		Default: Default{Action: "deny_message", Message: &Message{Title: "{name} is not allowed", Body: "Rule {rule}, group '{group}'"}},
		Groups:  []Group{{Name: "apps", Definitions: []Definition{{Type: []string{"bundle"}, Path: pathPrefix("/Applications/")}}}},
		Rules: []Rule{{
			Name: "ask", Group: "apps", Action: "justification",
			Message: &Message{
				Title: "{name} needs a reason",
				Body: "path={path} name={name} sha1={sha1} sha256={sha256} bundle_id={bundle_id} version={version} publisher={publisher} " +
					"team_id={team_id} signing_id={signing_id} source={source} user={user} machine={machine} rule={rule} group={group} " +
					"action={action} policy={policy} revision={revision} {{literal}} }} }",
				URL: "https://help.example.com/req?app={name}&path={path}&user={user}&v={version}#{{x}",
			},
		}},
	}
	e := compileOK(t, doc)
	f := &Facts{
		Subject: Subject{
			Type: Bundle, Path: "/Applications/My App.app", SHA1: "s1", SHA256: "s256", BundleID: "com.example.my",
			Version: "1.2 beta", Publisher: "Example & Co", TeamID: "TEAM1", SigningID: "com.example.sign",
			Source: "https://dl.example.com/a?b=c",
		},
		User: "ann lee&x=1", Machine: "mac-01",
	}
	d := decide(t, e, f)
	got := d.Message.Render(&d, f)
	want := RenderedMessage{
		Title: "My App.app needs a reason",
		Body: "path=/Applications/My App.app name=My App.app sha1=s1 sha256=s256 bundle_id=com.example.my version=1.2 beta " +
			"publisher=Example & Co team_id=TEAM1 signing_id=com.example.sign source=https://dl.example.com/a?b=c " +
			"user=ann lee&x=1 machine=mac-01 rule=ask group=apps action=justification policy=corp revision=12 {literal} } }",
		URL: "https://help.example.com/req?app=My+App.app&path=%2FApplications%2FMy+App.app&user=ann+lee%26x%3D1&v=1.2+beta#{x}",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("rule message:\n got  %+v\n want %+v", got, want)
	}

	// The default's message: {rule} is 0 and {group} empty.
	f2 := &Facts{Subject: Subject{Type: Binary, Path: "/usr/bin/curl"}}
	d2 := decide(t, e, f2)
	got2 := d2.Message.Render(&d2, f2)
	want2 := RenderedMessage{Title: "curl is not allowed", Body: "Rule 0, group ''"}
	if got2 != want2 {
		t.Errorf("default message:\n got  %+v\n want %+v", got2, want2)
	}

	// An unnamed rule renders its number; a program without a path has no name.
	doc.Rules[0].Name = ""
	e = compileOK(t, doc)
	f3 := &Facts{Subject: Subject{Type: Bundle, Path: "/Applications/X.app"}}
	d3 := decide(t, e, f3)
	if got := d3.Message.Render(&d3, f3); !strings.Contains(got.Body, " rule=1 ") {
		t.Errorf("unnamed rule: body %q does not contain rule=1", got.Body)
	}
	d4 := Decision{}
	if got := d.Message.Render(&d4, &Facts{}); got.Title != " needs a reason" {
		t.Errorf("no path: title %q, want %q", got.Title, " needs a reason")
	}

	var none *MessageTemplate
	if got := none.Render(&d, f); got != (RenderedMessage{}) {
		t.Errorf("nil template rendered %+v", got)
	}
}

func TestApproversIsForApprovalsOnly(t *testing.T) {
	doc := oneRule(Definition{Type: []string{"binary"}, Path: strCrit(OpExact, "/opt/x", false)})
	doc.Rules[0].Action, doc.Rules[0].Approvers = "approval", 2
	if d := decide(t, compileOK(t, doc), &Facts{Subject: Subject{Type: Binary, Path: "/opt/x"}}); d.Approvers != 2 {
		t.Errorf("decision asks %d approvers, want 2", d.Approvers)
	}
	for _, tt := range []struct {
		action  string
		require string
		n       int
		want    string
	}{
		{"deny", "", 2, "approvers applies to approval"},
		{"justification", "", 2, "approvers applies to approval"},
		{"elevate", "justification", 2, "approvers applies to approval"},
		{"approval", "", 11, "approvers must be 1 to 10"},
		{"approval", "", -1, "approvers must be 1 to 10"},
	} {
		doc.Rules[0].Action, doc.Rules[0].Require, doc.Rules[0].Approvers = tt.action, tt.require, tt.n
		if _, diags := Compile(doc); !diags.HasErrors() || !strings.Contains(diags.Error(), tt.want) {
			t.Errorf("%s/%s approvers %d: %v", tt.action, tt.require, tt.n, diags)
		}
	}
	doc.Rules[0].Action, doc.Rules[0].Require, doc.Rules[0].Approvers = "elevate", "approval", 3
	doc.Groups[0].Definitions[0].Type = []string{"sudo"}
	compileOK(t, doc)
}

// The elevate bug: "elevate after approval" on a program let it run at
// once (Allows counted elevate as an allow). Elevate is a lint error on
// anything but sudo commands, with the fix in the message, and never an
// allow at an exec.
func TestElevateAppliesOnlyToSudoCommands(t *testing.T) {
	for _, types := range [][]string{{"binary"}, nil, {"sudo", "script"}} {
		doc := oneRule(Definition{Type: types, Path: strCrit(OpExact, "/usr/bin/apt", false)})
		doc.Rules[0].Action, doc.Rules[0].Require = "elevate", "approval"
		_, diags := Compile(doc)
		if !diags.HasErrors() || !strings.Contains(diags.Error(), "action elevate applies only to sudo commands") || !strings.Contains(diags.Error(), "add `type: sudo`") {
			t.Errorf("elevate on types %q: %v, want an error saying to add type: sudo", types, diags)
		}
	}
	doc := oneRule(Definition{Type: []string{"sudo"}, Path: strCrit(OpExact, "/usr/bin/apt", false)})
	doc.Rules[0].Action, doc.Rules[0].Require = "elevate", "approval"
	e := compileOK(t, doc)
	d := decide(t, e, &Facts{Subject: Subject{Type: SudoCommand, Path: "/usr/bin/apt"}})
	if d.Action != Elevate || d.Require != Approval || d.Action.Allows() || !d.Action.Permits() {
		t.Errorf("sudo apt: %+v (allows %v), want elevate requiring approval that does not allow at an exec", d, d.Action.Allows())
	}
	// The same program started without sudo is not this rule's.
	if d := decide(t, e, &Facts{Subject: Subject{Type: Binary, Path: "/usr/bin/apt"}}); d.Action == Elevate {
		t.Errorf("apt run without sudo decided %v", d.Action)
	}
}
