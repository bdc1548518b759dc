package policy

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"unicode"
)

// Helpers shared by the policy tests.

func strPtr(s string) *string { return &s }
func boolPtr(b bool) *bool    { return &b }

// strCrit builds a StringMatch with one operator.
func strCrit(op Op, v string, not bool) *StringMatch {
	m := &StringMatch{Not: not}
	switch op {
	case OpExact:
		m.Exact = &v
	case OpStartsWith:
		m.StartsWith = &v
	case OpEndsWith:
		m.EndsWith = &v
	case OpContains:
		m.Contains = &v
	case OpWildcard:
		m.Wildcard = &v
	case OpRegex:
		m.Regex = &v
	default:
		panic(fmt.Sprintf("strCrit: operator %v", op))
	}
	return m
}

// oneRule is a policy with a single group "g" holding defs and one rule
// that denies it; everything else gets the default (allow).
func oneRule(defs ...Definition) *Document {
	return &Document{
		ID:       "test",
		Revision: 1,
		Groups:   []Group{{Name: "g", Definitions: defs}},
		Rules:    []Rule{{Name: "deny-g", Group: "g", Action: "deny"}},
	}
}

// compileOK compiles doc and fails the test on any error diagnostic.
func compileOK(t testing.TB, doc *Document) *Engine {
	t.Helper()
	e, diags := Compile(doc)
	if diags.HasErrors() {
		t.Fatalf("Compile reported errors:\n%v", diags)
	}
	if e == nil {
		t.Fatalf("Compile returned a nil Engine without errors; diagnostics:\n%v", diags)
	}
	return e
}

// decide evaluates f with Evaluate and with Explain and fails the test if
// the two disagree, so every table test also checks the indexes.
func decide(t testing.TB, e *Engine, f *Facts) Decision {
	t.Helper()
	got := e.Evaluate(f)
	ex, trace := e.Explain(f)
	if got != ex {
		t.Fatalf("Evaluate and Explain disagree for %+v:\nEvaluate: %+v\nExplain:  %+v\ntrace: %+v", f, got, ex, trace)
	}
	return got
}

// ruleMatched reports whether the single rule of a oneRule policy decided.
func ruleMatched(t testing.TB, e *Engine, f *Facts) bool {
	t.Helper()
	d := decide(t, e, f)
	switch {
	case d.Rule == 1 && d.Action == Deny:
		return true
	case d.Rule == 0 && d.Action == Allow:
		return false
	}
	t.Fatalf("unexpected decision %+v", d)
	return false
}

func swapCase(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case unicode.IsUpper(r):
			return unicode.ToLower(r)
		case unicode.IsLower(r):
			return unicode.ToUpper(r)
		}
		return r
	}, s)
}

func negName(not bool) string {
	if not {
		return "negated"
	}
	return "plain"
}

func expectName(match bool) string {
	if match {
		return "expect_match"
	}
	return "expect_no_match"
}

// stringField describes one string criterion: where it goes in a
// Definition, where its value comes from in Facts, and which definition
// type and event make it applicable.
type stringField struct {
	name  string
	types []string
	ftype AppType
	event Event
	base  string // a realistic value; at least 10 bytes, letters throughout
	set   func(d *Definition, m *StringMatch)
	fact  func(f *Facts, v string)
}

var stringFields = []stringField{
	{
		name: "path", ftype: Binary, base: "/Applications/Safari.app",
		set:  func(d *Definition, m *StringMatch) { d.Path = m },
		fact: func(f *Facts, v string) { f.Path = v },
	},
	{
		name: "args", types: []string{"binary"}, ftype: Binary, base: "--install /Volumes/Setup",
		set: func(d *Definition, m *StringMatch) { d.Args = m },
		fact: func(f *Facts, v string) {
			if v != "" {
				f.Args = strings.Split(v, " ")
			}
		},
	},
	{
		name: "bundle_id", types: []string{"bundle"}, ftype: Bundle, base: "com.apple.Safari",
		set:  func(d *Definition, m *StringMatch) { d.BundleID = m },
		fact: func(f *Facts, v string) { f.BundleID = v },
	},
	{
		name: "publisher", types: []string{"binary"}, ftype: Binary, base: "Developer ID Application: Example Corp",
		set:  func(d *Definition, m *StringMatch) { d.Publisher = (*SubstringMatch)(m) },
		fact: func(f *Facts, v string) { f.Publisher = v },
	},
	{
		name: "team_id", types: []string{"binary"}, ftype: Binary, base: "EQHXZ8M8AV",
		set:  func(d *Definition, m *StringMatch) { d.TeamID = m },
		fact: func(f *Facts, v string) { f.TeamID = v },
	},
	{
		name: "signing_id", types: []string{"binary"}, ftype: Binary, base: "com.example.agent",
		set:  func(d *Definition, m *StringMatch) { d.SigningID = m },
		fact: func(f *Facts, v string) { f.SigningID = v },
	},
	{
		name: "source", types: []string{"bundle"}, ftype: Bundle, base: "https://downloads.example.com/Setup.dmg",
		set:  func(d *Definition, m *StringMatch) { d.Source = (*SubstringMatch)(m) },
		fact: func(f *Facts, v string) { f.Source = v },
	},
	{
		name: "auth_uri", types: []string{"system_preference"}, ftype: SystemPreference, event: AuthRequest, base: "system.preferences.network",
		set:  func(d *Definition, m *StringMatch) { d.AuthURI = m },
		fact: func(f *Facts, v string) { f.AuthURI = v },
	},
}

// opCase derives, from a field's base value, a pattern that matches it and
// a value of the same field that the pattern does not match.
type opCase struct {
	name     string
	op       Op
	pattern  func(v string) string
	nonMatch func(v string) string
}

var opCases = []opCase{
	{"exact", OpExact, func(v string) string { return v }, func(v string) string { return v + "x" }},
	{"starts_with", OpStartsWith, func(v string) string { return v[:len(v)/2] }, func(v string) string { return "x" + v }},
	{"ends_with", OpEndsWith, func(v string) string { return v[len(v)/2:] }, func(v string) string { return v + "x" }},
	{"contains", OpContains, func(v string) string { return v[2 : len(v)-2] }, func(v string) string { return v[:len(v)/2] }},
	{"wildcard_star", OpWildcard, func(v string) string { return v[:2] + "*" + v[len(v)-2:] }, func(v string) string { return v + "x" }},
	{"wildcard_question", OpWildcard, func(v string) string { return "?" + v[1:] }, func(v string) string { return v[1:] }},
	{"wildcard_escaped", OpWildcard, func(v string) string { return `\` + v[:1] + "?" + v[2:] }, func(v string) string { return v[:1] + v[2:] }},
	{"regex_anchored", OpRegex, func(v string) string {
		return "^" + regexp.QuoteMeta(v[:3]) + ".*" + regexp.QuoteMeta(v[len(v)-2:]) + "$"
	}, func(v string) string { return "x" + v }},
	{"regex_unanchored", OpRegex, func(v string) string { return regexp.QuoteMeta(v[2 : len(v)-2]) }, func(v string) string { return v[:len(v)/2] }},
}

// TestStringCriteria is the cross product of every string criterion, every
// operator, negation, and four kinds of fact: the value the pattern was made
// from, a different value, the same value in swapped case (matching is
// case-sensitive) and an empty value (an unsigned program, say).
func TestStringCriteria(t *testing.T) {
	type factKind struct {
		name    string
		value   func(oc opCase, v string) string
		matches bool // whether the operator (before negation) matches
	}
	kinds := []factKind{
		{"matching_value", func(_ opCase, v string) string { return v }, true},
		{"different_value", func(oc opCase, v string) string { return oc.nonMatch(v) }, false},
		{"swapped_case", func(_ opCase, v string) string { return swapCase(v) }, false},
		{"empty_value", func(opCase, string) string { return "" }, false},
	}
	n := 0
	for _, sf := range stringFields {
		for _, oc := range opCases {
			for _, not := range []bool{false, true} {
				for _, k := range kinds {
					want := k.matches != not
					name := fmt.Sprintf("%s/%s/%s/%s/%s", sf.name, oc.name, negName(not), k.name, expectName(want))
					n++
					t.Run(name, func(t *testing.T) {
						def := Definition{Type: sf.types}
						sf.set(&def, strCrit(oc.op, oc.pattern(sf.base), not))
						e := compileOK(t, oneRule(def))
						f := &Facts{Subject: Subject{Type: sf.ftype}, Event: sf.event}
						value := k.value(oc, sf.base)
						sf.fact(f, value)
						if got := ruleMatched(t, e, f); got != want {
							t.Errorf("%s %s %q (not=%v) against %q: matched=%v, want %v", sf.name, oc.op, oc.pattern(sf.base), not, value, got, want)
						}
					})
				}
			}
		}
		// An empty exact value is how a policy says "has no value", for
		// example an unsigned program or a bundle without an identifier.
		for _, not := range []bool{false, true} {
			for _, value := range []string{"", sf.base} {
				want := (value == "") != not
				kind := "empty_value"
				if value != "" {
					kind = "nonempty_value"
				}
				name := fmt.Sprintf("%s/exact_empty/%s/%s/%s", sf.name, negName(not), kind, expectName(want))
				n++
				t.Run(name, func(t *testing.T) {
					def := Definition{Type: sf.types}
					sf.set(&def, strCrit(OpExact, "", not))
					e := compileOK(t, oneRule(def))
					f := &Facts{Subject: Subject{Type: sf.ftype}, Event: sf.event}
					sf.fact(f, value)
					if got := ruleMatched(t, e, f); got != want {
						t.Errorf("%s exact \"\" (not=%v) against %q: matched=%v, want %v", sf.name, not, value, got, want)
					}
				})
			}
		}
	}
	if n < 500 {
		t.Errorf("only %d cases generated; the cross product shrank", n)
	}
}

// TestStringCriteriaExamples are hand-picked rows for behaviour the cross
// product does not spell out.
func TestStringCriteriaExamples(t *testing.T) {
	tests := []struct {
		name  string
		def   Definition
		facts Facts
		want  bool
	}{
		{
			name:  "publisher/contains/plain/unsigned_program/expect_no_match",
			def:   Definition{Type: []string{"binary"}, Publisher: (*SubstringMatch)(strCrit(OpContains, "Apple", false))},
			facts: Facts{Subject: Subject{Type: Binary, Path: "/tmp/unsigned", Publisher: ""}},
			want:  false,
		},
		{
			name:  "publisher/contains/negated/unsigned_program/expect_match",
			def:   Definition{Type: []string{"binary"}, Publisher: (*SubstringMatch)(strCrit(OpContains, "Apple", true))},
			facts: Facts{Subject: Subject{Type: Binary, Path: "/tmp/unsigned", Publisher: ""}},
			want:  true,
		},
		{
			name:  "publisher/contains/plain/lower_case_value/expect_no_match",
			def:   Definition{Type: []string{"binary"}, Publisher: (*SubstringMatch)(strCrit(OpContains, "Apple", false))},
			facts: Facts{Subject: Subject{Type: Binary, Publisher: "apple inc."}},
			want:  false,
		},
		{
			name:  "args/exact/plain/joined_with_single_spaces/expect_match",
			def:   Definition{Type: []string{"binary"}, Args: strCrit(OpExact, "-la /Applications", false)},
			facts: Facts{Subject: Subject{Type: Binary, Path: "/bin/ls", Args: []string{"-la", "/Applications"}}},
			want:  true,
		},
		{
			name:  "args/exact/plain/argv0_is_not_part_of_args/expect_no_match",
			def:   Definition{Type: []string{"binary"}, Args: strCrit(OpExact, "ls -la /Applications", false)},
			facts: Facts{Subject: Subject{Type: Binary, Path: "/bin/ls", Args: []string{"-la", "/Applications"}}},
			want:  false,
		},
		{
			name:  "args/contains/plain/spans_two_arguments/expect_match",
			def:   Definition{Type: []string{"binary"}, Args: strCrit(OpContains, "-rf /", false)},
			facts: Facts{Subject: Subject{Type: Binary, Path: "/bin/rm", Args: []string{"-rf", "/", "--no-preserve-root"}}},
			want:  true,
		},
		{
			name:  "args/regex/plain/no_arguments/expect_match_of_empty",
			def:   Definition{Type: []string{"binary"}, Args: strCrit(OpRegex, "^$", false)},
			facts: Facts{Subject: Subject{Type: Binary, Path: "/bin/ls"}},
			want:  true,
		},
		{
			name:  "path/regex/plain/unanchored_matches_inside/expect_match",
			def:   Definition{Path: strCrit(OpRegex, "Safari", false)},
			facts: Facts{Subject: Subject{Type: Bundle, Path: "/tmp/evil/Safari.app"}},
			want:  true,
		},
		{
			name:  "path/regex/plain/case_insensitive_flag/expect_match",
			def:   Definition{Path: strCrit(OpRegex, "(?i)^/applications/", false)},
			facts: Facts{Subject: Subject{Type: Bundle, Path: "/Applications/Safari.app"}},
			want:  true,
		},
		{
			name:  "path/wildcard/plain/question_mark_is_one_multibyte_rune/expect_match",
			def:   Definition{Path: strCrit(OpWildcard, "/tmp/caf?.sh", false)},
			facts: Facts{Subject: Subject{Type: Script, Path: "/tmp/café.sh"}},
			want:  true,
		},
		{
			name:  "path/wildcard/plain/question_mark_is_not_two_runes/expect_no_match",
			def:   Definition{Path: strCrit(OpWildcard, "/tmp/caf?.sh", false)},
			facts: Facts{Subject: Subject{Type: Script, Path: "/tmp/cafee.sh"}},
			want:  false,
		},
		{
			name:  "path/wildcard/plain/star_crosses_slashes/expect_match",
			def:   Definition{Path: strCrit(OpWildcard, "/Users/*/Downloads/*.app", false)},
			facts: Facts{Subject: Subject{Type: Bundle, Path: "/Users/ann/Downloads/x/y/Tool.app"}},
			want:  true,
		},
		{
			name:  "path/wildcard/plain/escaped_star_is_literal/expect_no_match",
			def:   Definition{Path: strCrit(OpWildcard, `/tmp/\*`, false)},
			facts: Facts{Subject: Subject{Type: Binary, Path: "/tmp/anything"}},
			want:  false,
		},
		{
			name:  "path/wildcard/plain/escaped_star_matches_star/expect_match",
			def:   Definition{Path: strCrit(OpWildcard, `/tmp/\*`, false)},
			facts: Facts{Subject: Subject{Type: Binary, Path: "/tmp/*"}},
			want:  true,
		},
		{
			name:  "path/wildcard/plain/escaped_backslash/expect_match",
			def:   Definition{Path: strCrit(OpWildcard, `C:\\*.exe`, false)},
			facts: Facts{Subject: Subject{Type: Binary, Path: `C:\tool.exe`}},
			want:  true,
		},
		{
			name:  "path/wildcard/negated/star_alone_matches_everything/expect_no_match",
			def:   Definition{Path: strCrit(OpWildcard, "*", true)},
			facts: Facts{Subject: Subject{Type: Binary, Path: ""}},
			want:  false,
		},
		{
			name:  "path/exact/plain/trailing_slash_differs/expect_no_match",
			def:   Definition{Path: strCrit(OpExact, "/Applications/Safari.app", false)},
			facts: Facts{Subject: Subject{Type: Bundle, Path: "/Applications/Safari.app/"}},
			want:  false,
		},
		{
			name: "path+publisher/and/plain/both_hold/expect_match",
			def: Definition{
				Type:      []string{"bundle"},
				Path:      strCrit(OpStartsWith, "/Applications/", false),
				Publisher: (*SubstringMatch)(strCrit(OpExact, "Software Signing", false)),
			},
			facts: Facts{Subject: Subject{Type: Bundle, Path: "/Applications/Mail.app", Publisher: "Software Signing"}},
			want:  true,
		},
		{
			name: "path+publisher/and/plain/one_fails/expect_no_match",
			def: Definition{
				Type:      []string{"bundle"},
				Path:      strCrit(OpStartsWith, "/Applications/", false),
				Publisher: (*SubstringMatch)(strCrit(OpExact, "Software Signing", false)),
			},
			facts: Facts{Subject: Subject{Type: Bundle, Path: "/Applications/Mail.app", Publisher: "Developer ID Application: X"}},
			want:  false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := compileOK(t, oneRule(tt.def))
			if got := ruleMatched(t, e, &tt.facts); got != tt.want {
				t.Errorf("matched = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestHashCriteria(t *testing.T) {
	const (
		sha1  = "da39a3ee5e6b4b0d3255bfef95601890afd80709"
		sha1b = "0000000000000000000000000000000000000001"
		sha2  = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
		sha2b = "0000000000000000000000000000000000000000000000000000000000000001"
	)
	type hashField struct {
		name       string
		lower, alt string
		set        func(d *Definition, h *HashMatch)
		fact       func(f *Facts, v string)
	}
	fields := []hashField{
		{"sha1", sha1, sha1b, func(d *Definition, h *HashMatch) { d.SHA1 = h }, func(f *Facts, v string) { f.SHA1 = v }},
		{"sha256", sha2, sha2b, func(d *Definition, h *HashMatch) { d.SHA256 = h }, func(f *Facts, v string) { f.SHA256 = v }},
	}
	spellings := []struct {
		name string
		conv func(string) string
	}{
		{"lower_case_policy", func(s string) string { return s }},
		{"upper_case_policy", strings.ToUpper},
		{"mixed_case_padded_policy", func(s string) string { return " " + strings.ToUpper(s[:7]) + s[7:] + "\t" }},
	}
	for _, hf := range fields {
		for _, sp := range spellings {
			for _, not := range []bool{false, true} {
				for _, fk := range []struct {
					name    string
					value   string
					matches bool
				}{
					{"same_hash", hf.lower, true},
					{"other_hash", hf.alt, false},
					{"no_hash", "", false},
				} {
					want := fk.matches != not
					name := fmt.Sprintf("%s/%s/%s/%s/%s", hf.name, sp.name, negName(not), fk.name, expectName(want))
					t.Run(name, func(t *testing.T) {
						def := Definition{}
						hf.set(&def, &HashMatch{Value: sp.conv(hf.lower), Not: not})
						e := compileOK(t, oneRule(def))
						f := &Facts{Subject: Subject{Type: Binary, Path: "/usr/bin/x"}}
						hf.fact(f, fk.value)
						if got := ruleMatched(t, e, f); got != want {
							t.Errorf("matched = %v, want %v", got, want)
						}
					})
				}
			}
		}
	}
}

func TestVersionCriterion(t *testing.T) {
	ranges := []struct {
		name     string
		min, max string
	}{
		{"min_only", "10.2", ""},
		{"max_only", "", "10.10"},
		{"min_and_max", "10.2", "10.10"},
	}
	versions := []struct {
		v            string
		inMin, inMax bool // v >= 10.2, v <= 10.10
	}{
		{"9.9", false, true},
		{"10.1", false, true},
		{"10.2", true, true},
		{"10.2.0", true, true},
		{"10.3b1", true, true},
		{"10.10", true, true},
		{"10.10.1", true, false},
		{"10.11", true, false},
		{"11", true, false},
		{"10.10b1", true, true},
		{"", false, false}, // a subject without a version never satisfies a range
	}
	for _, r := range ranges {
		for _, v := range versions {
			in := v.v != "" && (r.min == "" || v.inMin) && (r.max == "" || v.inMax)
			for _, not := range []bool{false, true} {
				want := in != not
				vname := v.v
				if vname == "" {
					vname = "no_version"
				}
				name := fmt.Sprintf("version/%s/%s/%s/%s", r.name, negName(not), vname, expectName(want))
				t.Run(name, func(t *testing.T) {
					def := Definition{Type: []string{"bundle"}, Version: &VersionRange{Min: r.min, Max: r.max, Not: not}}
					e := compileOK(t, oneRule(def))
					f := &Facts{Subject: Subject{Type: Bundle, Path: "/Applications/Foo.app", Version: v.v}}
					if got := ruleMatched(t, e, f); got != want {
						t.Errorf("version %q in [%q, %q] not=%v: matched=%v, want %v", v.v, r.min, r.max, not, got, want)
					}
				})
			}
		}
	}
}

// TestEventCriteria: auth_uri makes a definition match only authorization
// requests, install/delete only bundle moves, and everything else only
// program starts.
func TestEventCriteria(t *testing.T) {
	authDef := Definition{Type: []string{"binary", "bundle"}, AuthURI: strCrit(OpExact, "system.install.software", false)}
	authNotDef := Definition{Type: []string{"binary", "bundle"}, AuthURI: strCrit(OpExact, "system.install.software", true)}
	plainDef := Definition{Type: []string{"bundle"}, Path: strCrit(OpStartsWith, "/Applications/", false)}
	installDef := Definition{Type: []string{"bundle"}, Path: strCrit(OpStartsWith, "/Applications/", false), Install: boolPtr(true)}
	deleteDef := Definition{Type: []string{"bundle"}, Delete: boolPtr(true)}
	installFalseDef := Definition{Type: []string{"bundle"}, Install: boolPtr(false)}
	deleteFalseDef := Definition{Type: []string{"bundle"}, Delete: boolPtr(false)}

	app := Subject{Type: Bundle, Path: "/Applications/Foo.app"}
	tests := []struct {
		name  string
		def   Definition
		ev    Event
		uri   string
		want  bool
		trace string // a substring Explain must give as the failure, when want is false
	}{
		{"auth_uri/exact/plain/auth_request_same_uri/expect_match", authDef, AuthRequest, "system.install.software", true, ""},
		{"auth_uri/exact/plain/auth_request_other_uri/expect_no_match", authDef, AuthRequest, "system.preferences", false, `auth_uri exact "system.install.software": got "system.preferences"`},
		{"auth_uri/exact/plain/exec_with_uri/expect_no_match", authDef, Exec, "system.install.software", false, "event is exec, the definition matches auth_request"},
		{"auth_uri/exact/plain/unset_event/expect_no_match", authDef, EventUnset, "system.install.software", false, "event is exec"},
		{"auth_uri/exact/plain/install_event/expect_no_match", authDef, Install, "system.install.software", false, "event is install"},
		{"auth_uri/exact/negated/auth_request_other_uri/expect_match", authNotDef, AuthRequest, "system.preferences", true, ""},
		{"auth_uri/exact/negated/auth_request_same_uri/expect_no_match", authNotDef, AuthRequest, "system.install.software", false, "auth_uri not exact"},
		{"auth_uri/exact/negated/exec_is_not_an_auth_request/expect_no_match", authNotDef, Exec, "", false, "event is exec"},
		{"no_auth_uri/exec/expect_match", plainDef, Exec, "", true, ""},
		{"no_auth_uri/unset_event_is_exec/expect_match", plainDef, EventUnset, "", true, ""},
		{"no_auth_uri/auth_request/expect_no_match", plainDef, AuthRequest, "system.install.software", false, "event is auth_request, the definition matches exec"},
		{"no_install/install_event/expect_no_match", plainDef, Install, "", false, "event is install"},
		{"install/true/install_event/expect_match", installDef, Install, "", true, ""},
		{"install/true/exec/expect_no_match", installDef, Exec, "", false, "event is exec, the definition matches install"},
		{"install/true/delete_event/expect_no_match", installDef, Delete, "", false, "event is delete"},
		{"install/true/auth_request/expect_no_match", installDef, AuthRequest, "system.install.software", false, "event is auth_request"},
		{"delete/true/delete_event/expect_match", deleteDef, Delete, "", true, ""},
		{"delete/true/install_event/expect_no_match", deleteDef, Install, "", false, "event is install, the definition matches delete"},
		{"delete/true/exec/expect_no_match", deleteDef, Exec, "", false, "event is exec"},
		{"install/false/exec/expect_match", installFalseDef, Exec, "", true, ""},
		{"install/false/install_event/expect_no_match", installFalseDef, Install, "", false, "event is install"},
		{"delete/false/exec/expect_match", deleteFalseDef, Exec, "", true, ""},
		{"delete/false/delete_event/expect_no_match", deleteFalseDef, Delete, "", false, "event is delete"},
	}
	// A package matches in the request to install it.
	pkg := Subject{Type: Package, Path: "/Users/u/Downloads/Tool.pkg", SHA256: strings.Repeat("a", 64)}
	pkgDef := Definition{Type: []string{"package"}, SHA256: &HashMatch{Value: strings.Repeat("a", 64)}}
	anyDef := Definition{SHA256: &HashMatch{Value: strings.Repeat("a", 64)}}
	pkgTests := []struct {
		name  string
		def   Definition
		ev    Event
		uri   string
		want  bool
		trace string
	}{
		{"package/install_right/expect_match", pkgDef, AuthRequest, InstallSoftwareRight, true, ""},
		{"package/any_type_definition/install_right/expect_match", anyDef, AuthRequest, InstallSoftwareRight, true, ""},
		{"package/other_right/expect_no_match", pkgDef, AuthRequest, "system.privilege.admin", false, "event is auth_request, the definition matches exec, and for a package its system.install.software request"},
		{"package/exec/expect_match", pkgDef, Exec, "", true, ""},
		{"package/install_event/expect_no_match", pkgDef, Install, "", false, "event is install"},
	}
	for _, tt := range pkgTests {
		t.Run(tt.name, func(t *testing.T) {
			e := compileOK(t, oneRule(tt.def))
			f := &Facts{Subject: pkg, Event: tt.ev, AuthURI: tt.uri}
			if got := ruleMatched(t, e, f); got != tt.want {
				t.Fatalf("matched = %v, want %v", got, tt.want)
			}
			if !tt.want {
				_, trace := e.Explain(f)
				if !strings.Contains(fmt.Sprint(trace), tt.trace) {
					t.Errorf("trace %v lacks %q", trace, tt.trace)
				}
			}
		})
	}
	// A binary is never matched by the install right.
	bin := Subject{Type: Binary, Path: "/usr/bin/x", SHA256: strings.Repeat("a", 64)}
	if e := compileOK(t, oneRule(anyDef)); ruleMatched(t, e, &Facts{Subject: bin, Event: AuthRequest, AuthURI: InstallSoftwareRight}) {
		t.Error("a binary matched a definition without auth_uri in an install-right request")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := compileOK(t, oneRule(tt.def))
			f := &Facts{Subject: app, Event: tt.ev, AuthURI: tt.uri}
			if got := ruleMatched(t, e, f); got != tt.want {
				t.Fatalf("matched = %v, want %v", got, tt.want)
			}
			if tt.want {
				return
			}
			_, trace := e.Explain(f)
			if len(trace) != 1 || len(trace[0].Definitions) != 1 {
				t.Fatalf("trace = %+v, want one rule with one definition", trace)
			}
			failed := strings.Join(trace[0].Definitions[0].Failed, "; ")
			if !strings.Contains(failed, tt.trace) {
				t.Errorf("Explain failure %q does not mention %q", failed, tt.trace)
			}
		})
	}
}

// TestTypeLists: a type list restricts a definition to those application
// types; no list means every type, including one that could not be
// determined.
func TestTypeLists(t *testing.T) {
	lists := []struct {
		name  string
		types []string
		has   func(AppType) bool
	}{
		{"binary", []string{"binary"}, func(a AppType) bool { return a == Binary }},
		{"script", []string{"script"}, func(a AppType) bool { return a == Script }},
		{"binary+script", []string{"binary", "script"}, func(a AppType) bool { return a == Binary || a == Script }},
		{"every_named_type", TypeNames(), func(a AppType) bool { return a != TypeUnknown }},
		{"no_type", nil, func(AppType) bool { return true }},
	}
	all := append([]AppType{TypeUnknown}, Binary, Bundle, Script, Package, SudoCommand, SystemPreference)
	for _, l := range lists {
		for _, at := range all {
			want := l.has(at)
			t.Run(fmt.Sprintf("type/%s/subject_%s/%s", l.name, at, expectName(want)), func(t *testing.T) {
				e := compileOK(t, oneRule(Definition{Type: l.types, Path: strCrit(OpStartsWith, "/", false)}))
				f := &Facts{Subject: Subject{Type: at, Path: "/usr/local/bin/thing"}}
				if got := ruleMatched(t, e, f); got != want {
					t.Errorf("matched = %v, want %v", got, want)
				}
			})
		}
	}
}
