package policy

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// Facts that load could not gather (the arguments of a task that could not
// be read, a parent chain that could not be) are decided by the rule's
// action, never as empty values that let a deny rule slip.

func TestEvaluateLazyUnavailable(t *testing.T) {
	doc := &Document{ID: "u", Revision: 1,
		Groups: []Group{
			{Name: "shells", Definitions: []Definition{{Path: &StringMatch{Exact: strPtr("/bin/sh")}}}},
			{Name: "safe-tool", Definitions: []Definition{{Type: []string{"binary"}, Path: &StringMatch{Exact: strPtr("/opt/tool")}, Args: &StringMatch{Exact: strPtr("--safe")}}}},
			{Name: "tool", Definitions: []Definition{{Path: &StringMatch{Exact: strPtr("/opt/tool")}}}},
			{Name: "evil", Definitions: []Definition{{Type: []string{"binary"}, Path: &StringMatch{Exact: strPtr("/usr/bin/rm")}, Args: &StringMatch{Contains: strPtr("--evil")}}}},
			{Name: "unsafe-curl", Definitions: []Definition{{Type: []string{"binary"}, Path: &StringMatch{Exact: strPtr("/usr/bin/curl")}, Args: &StringMatch{Contains: strPtr("--insecure"), Not: true}}}},
			{Name: "child-of-shell", Definitions: []Definition{{Type: []string{"binary"}, Path: &StringMatch{Exact: strPtr("/usr/bin/nc")}, Parent: &ParentMatch{Group: "shells"}}}},
			// Arguments known and not matching rule this out, whatever the
			// parents.
			{Name: "both", Definitions: []Definition{{Type: []string{"binary"}, Path: &StringMatch{Exact: strPtr("/usr/bin/ssh")}, Args: &StringMatch{Contains: strPtr("-R")}, Parent: &ParentMatch{Group: "shells"}}}},
		},
		Rules: []Rule{
			{Group: "safe-tool", Action: "allow"},
			{Group: "tool", Action: "deny"},
			{Group: "evil", Action: "deny"},
			{Group: "unsafe-curl", Action: "warning"},
			{Group: "child-of-shell", Action: "deny_notify"},
			{Group: "both", Action: "deny"},
		},
	}
	e := compileOK(t, doc)
	args := func(a ...string) []string { return a }
	for _, tt := range []struct {
		name        string
		path        string
		args        []string // loaded when available
		unavailable Needs
		action      Action
		rule        int
		without     Needs
	}{
		{name: "evil args read", path: "/usr/bin/rm", args: args("-f", "--evil"), action: Deny, rule: 3},
		{name: "fine args read", path: "/usr/bin/rm", args: args("-f", "x"), action: Allow},
		{name: "args unavailable: the deny rule matches", path: "/usr/bin/rm", unavailable: Needs{Args: true}, action: Deny, rule: 3, without: Needs{Args: true}},
		{name: "args unavailable: the allow rule is skipped", path: "/opt/tool", unavailable: Needs{Args: true}, action: Deny, rule: 2, without: Needs{Args: true}},
		{name: "safe args read", path: "/opt/tool", args: args("--safe"), action: Allow, rule: 1},
		{name: "args unavailable: a negated criterion matches too", path: "/usr/bin/curl", unavailable: Needs{Args: true}, action: Warning, rule: 4, without: Needs{Args: true}},
		{name: "parents unavailable: the deny rule matches", path: "/usr/bin/nc", unavailable: Needs{Parents: true}, action: DenyNotify, rule: 5, without: Needs{Parents: true}},
		{name: "parents unavailable, args known and not matching", path: "/usr/bin/ssh", args: args("-L", "1:x:2"), unavailable: Needs{Parents: true}, action: Allow},
		{name: "parents unavailable, args known and matching", path: "/usr/bin/ssh", args: args("-R", "1:x:2"), unavailable: Needs{Parents: true}, action: Deny, rule: 6, without: Needs{Parents: true}},
		{name: "a program no definition with arguments could match", path: "/usr/bin/ls", unavailable: Needs{Args: true, Parents: true}, action: Allow},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &Facts{Subject: Subject{Path: tt.path, Type: Binary}, Event: Exec, User: "alice"}
			d, cacheable := e.EvaluateLazy(f, func(f *Facts, n Needs) {
				if n.Args {
					f.Args = tt.args
					f.Unavailable.Args = tt.unavailable.Args
				}
				if n.Parents {
					f.Unavailable.Parents = tt.unavailable.Parents
				}
			})
			if d.Action != tt.action || d.Rule != tt.rule || d.Unavailable != tt.without {
				t.Errorf("EvaluateLazy = %s by rule %d without %+v, want %s by rule %d without %+v", d.Action, d.Rule, d.Unavailable, tt.action, tt.rule, tt.without)
			}
			if cacheable && tt.without != (Needs{}) {
				t.Error("a decision made without some facts is cacheable")
			}
		})
	}
	// Evaluate has every fact it is given: Unavailable means nothing to it.
	f := &Facts{Subject: Subject{Path: "/usr/bin/rm", Type: Binary}, Event: Exec, Unavailable: Needs{Args: true}}
	if d := e.Evaluate(f); d.Action != Allow || d.Unavailable != (Needs{}) {
		t.Errorf("Evaluate on facts marked unavailable = %s without %+v, want the default", d.Action, d.Unavailable)
	}
}

// TestUnavailableNeverAllowsADeny: on random policies and facts, a
// decision made without the arguments, the parents or both never allows
// what the complete facts deny, and differs from it only when it says what
// it was made without.
func TestUnavailableNeverAllowsADeny(t *testing.T) {
	var total, denied, changed int
	for seed := uint64(1); seed <= 4; seed++ {
		t.Run(fmt.Sprintf("seed_%d", seed), func(t *testing.T) {
			c := randChooser{rand.New(rand.NewPCG(seed, 0x51ed270b5a7c9d3f))}
			pools := newDiffPools()
			for range 60 {
				doc := diffPolicy(c, pools)
				e, diags := Compile(doc)
				if diags.HasErrors() {
					t.Fatalf("generated policy does not compile:\n%v", diags)
				}
				for range 100 {
					f := diffFacts(c, pools)
					full := e.Evaluate(f)
					for _, miss := range []Needs{{Args: true}, {Parents: true}, {Args: true, Parents: true}} {
						lazy := *f
						d, _ := e.EvaluateLazy(&lazy, func(lf *Facts, n Needs) {
							if n.Args && !miss.Args {
								lf.Args = f.Args
							}
							if n.Parents && !miss.Parents {
								lf.Parents = f.Parents
							}
							lf.Unavailable.Args = lf.Unavailable.Args || n.Args && miss.Args
							lf.Unavailable.Parents = lf.Unavailable.Parents || n.Parents && miss.Parents
						})
						total++
						if !full.Action.Allows() {
							denied++
							if d.Action.Allows() {
								t.Fatalf("without %+v: %s by rule %d, but the complete facts deny (%s by rule %d)\nfacts: %+v\npolicy: %s",
									miss, d.Action, d.Rule, full.Action, full.Rule, f, dumpDoc(doc))
							}
						}
						plain := d
						plain.Unavailable = Needs{}
						if plain != full {
							changed++
							if d.Unavailable == (Needs{}) {
								t.Fatalf("without %+v: %+v, complete facts %+v, and the decision does not say what it lacked\nfacts: %+v\npolicy: %s",
									miss, at(d), at(full), f, dumpDoc(doc))
							}
						}
					}
				}
			}
		})
	}
	t.Logf("%d decisions without some facts, %d where the complete facts deny; %d differ from the complete decision", total, denied, changed)
	if denied == 0 || changed == 0 {
		t.Error("the generator no longer makes decisions that facts could change")
	}
}

func TestNeedsParentFacts(t *testing.T) {
	for _, tt := range []struct {
		name   string
		parent Definition
		want   bool
	}{
		{"path", Definition{Path: &StringMatch{Exact: strPtr("/bin/sh")}}, false},
		{"path of a binary", Definition{Type: []string{"binary"}, Path: &StringMatch{Exact: strPtr("/bin/sh")}}, false},
		{"hash", Definition{SHA256: &HashMatch{Value: "ab" + fmt.Sprintf("%062d", 0)}}, true},
		{"publisher", Definition{Type: []string{"binary"}, Publisher: &SubstringMatch{Contains: strPtr("Example")}}, true},
		{"a bundle", Definition{Type: []string{"bundle"}, Path: &StringMatch{StartsWith: strPtr("/Applications/")}}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc := &Document{ID: "n", Revision: 1,
				Groups: []Group{
					{Name: "parents", Definitions: []Definition{tt.parent}},
					{Name: "g", Definitions: []Definition{{Type: []string{"binary"}, Path: &StringMatch{Exact: strPtr("/x")}, Parent: &ParentMatch{Group: "parents"}}}},
				},
				Rules: []Rule{{Group: "g", Action: "deny"}},
			}
			if got := compileOK(t, doc).Needs().ParentFacts; got != tt.want {
				t.Errorf("Needs().ParentFacts = %v, want %v", got, tt.want)
			}
		})
	}
}
