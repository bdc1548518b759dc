package policy

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// The benchmarks run against a generated policy shaped like a large real one:
// about 10,000 definitions in groups of ten, one rule per group, mostly exact
// paths, hashes and bundle ids, with folders, suffixes, anchored regexes,
// negations, version ranges, parent-process criteria and a few percent of
// definitions that no index can pick (publisher, team id, unanchored regex,
// arguments). Those scan entries are spread through the rules, as they would
// be in a policy that grew over time. docs/benchmarks.md records the figures.

// benchDefs is the size of the benchmarked policy.
const benchDefs = 10_000

// benchSeed fixes the generated policy; change it only together with the
// figures in docs/benchmarks.md.
const benchSeed = 1

// Samples genPolicy returns, in this order. Each one is built to be decided
// by a specific place in the policy; TestGenPolicyCompiles checks that it is.
const (
	sampleExactFirst  = iota // exact path, first rule that has one
	sampleExactMiddle        // exact path, first one from the middle rule on
	sampleExactLast          // exact path in the last rule
	sampleSHA256             // sha256, middle
	sampleBundleID           // bundle id with a version range, middle
	samplePrefix             // path starts_with a folder, middle
	sampleSuffix             // path ends_with, middle
	sampleRegexPrefix        // anchored regex, indexed by its literal prefix, middle
	sampleScanLast           // last definition of the last rule, scan list only
	sampleNoMatch            // nothing matches: the default decides
	sampleParentChain        // exact path plus an any-ancestor parent group, 5-deep chain
	numSamples
)

var sampleNames = [numSamples]string{
	sampleExactFirst:  "exact_path/first",
	sampleExactMiddle: "exact_path/middle",
	sampleExactLast:   "exact_path/last_rule",
	sampleSHA256:      "sha256",
	sampleBundleID:    "bundle_id",
	samplePrefix:      "prefix",
	sampleSuffix:      "suffix",
	sampleRegexPrefix: "regex_prefix",
	sampleScanLast:    "scan/last_rule",
	sampleNoMatch:     "no_match",
	sampleParentChain: "parent_chain_5",
}

type genKind uint8

const (
	genUnset         genKind = iota
	genExactBin              // /usr/local/bin/toolN, any type
	genExactApp              // /Applications/AppN.app, bundle
	genSHA256                // sha256
	genSHA1                  // sha1
	genBundleID              // bundle id, bundle
	genBundleVersion         // bundle id and a version range, bundle
	genPrefix                // path starts_with /opt/vendorN/
	genSuffix                // path ends_with /vendorN-helper
	genRegex                 // path regex ^/opt/vendorN/bin/[a-z]+$
	genWildcard              // path wildcard /usr/local/Cellar/toolN/*/bin/toolN
	genNegation              // path starts_with /Applications/VendorN/, publisher not contains VendorN
	genSudoArgs              // sudo: path exact /usr/bin/toolN and args starts_with
	genParent                // path exact /usr/local/bin/scriptN and a parent group
	genScanPublisher         // publisher contains VendorN
	genScanTeamID            // team_id exact
	genScanRegex             // unanchored path regex
	genScanArgs              // args contains, binary
)

// genWeights are per mille. The scan kinds (the last four) add up to 35,
// 3.5% of definitions; parent groups and the broad negations at the end add
// a few more indexed entries.
var genWeights = []struct {
	kind genKind
	w    int
}{
	{genExactBin, 250}, {genExactApp, 120}, {genSHA256, 150}, {genSHA1, 50},
	{genBundleID, 70}, {genBundleVersion, 40}, {genPrefix, 70}, {genSuffix, 60},
	{genRegex, 60}, {genWildcard, 20}, {genNegation, 15}, {genSudoArgs, 25},
	{genParent, 30},
	{genScanPublisher, 12}, {genScanTeamID, 10}, {genScanRegex, 8}, {genScanArgs, 5},
}

// The parent groups rules refer to through parent criteria; they hold a
// handful of definitions each, as real shell and terminal lists do.
var genParentGroups = []struct {
	name  string
	paths []string
}{
	{"shells", []string{"/bin/zsh", "/bin/bash", "/bin/sh", "/bin/dash", "/bin/ksh", "/bin/tcsh", "/bin/csh", "/opt/homebrew/bin/fish", "/opt/homebrew/bin/bash", "/usr/local/bin/fish"}},
	{"terminals", []string{"/Applications/iTerm.app", "/Applications/Alacritty.app", "/Applications/kitty.app", "/Applications/WezTerm.app", "/Applications/Warp.app", "/System/Applications/Utilities/Terminal.app"}},
	{"ides", []string{"/Applications/Visual Studio Code.app", "/Applications/Xcode.app", "/Applications/IntelliJ IDEA.app", "/Applications/PyCharm.app", "/Applications/Cursor.app"}},
}

// The user the samples run as: a member of engineering, not of admin or
// contractors, so rules scoped to those groups fall either way.
var (
	genUser   = "alice"
	genGroups = []string{"staff", "everyone", "engineering"}
)

func genStr(s string) *string { return &s }

func genHex(r *rand.Rand, digits int) string {
	var b []byte
	for len(b) < digits {
		b = fmt.Appendf(b, "%016x", r.Uint64())
	}
	return string(b[:digits])
}

// genDefinition builds the definition of kind k numbered n. Numbers are
// zero-padded so that no name is a substring of another.
func genDefinition(r *rand.Rand, k genKind, n int) Definition {
	id := fmt.Sprintf("%05d", n)
	switch k {
	case genExactBin:
		return Definition{Path: &StringMatch{Exact: genStr("/usr/local/bin/tool" + id)}}
	case genExactApp:
		return Definition{Type: []string{"bundle"}, Path: &StringMatch{Exact: genStr("/Applications/App" + id + ".app")}}
	case genSHA256:
		return Definition{SHA256: &HashMatch{Value: genHex(r, 64)}}
	case genSHA1:
		return Definition{SHA1: &HashMatch{Value: genHex(r, 40)}}
	case genBundleID:
		return Definition{Type: []string{"bundle"}, BundleID: &StringMatch{Exact: genStr("com.vendor" + id + ".app")}}
	case genBundleVersion:
		return Definition{Type: []string{"bundle"}, BundleID: &StringMatch{Exact: genStr("com.vendor" + id + ".app")},
			Version: &VersionRange{Min: "2.0", Max: "3.9.9"}}
	case genPrefix:
		return Definition{Path: &StringMatch{StartsWith: genStr("/opt/vendor" + id + "/")}}
	case genSuffix:
		return Definition{Path: &StringMatch{EndsWith: genStr("/vendor" + id + "-helper")}}
	case genRegex:
		return Definition{Path: &StringMatch{Regex: genStr("^/opt/vendor" + id + "/bin/[a-z]+$")}}
	case genWildcard:
		return Definition{Path: &StringMatch{Wildcard: genStr("/usr/local/Cellar/tool" + id + "/*/bin/tool" + id)}}
	case genNegation:
		return Definition{Type: []string{"bundle"}, Path: &StringMatch{StartsWith: genStr("/Applications/Vendor" + id + "/")},
			Publisher: &SubstringMatch{Contains: genStr("Vendor" + id), Not: true}}
	case genSudoArgs:
		return Definition{Type: []string{"sudo"}, Path: &StringMatch{Exact: genStr("/usr/bin/tool" + id)},
			Args: &StringMatch{StartsWith: genStr("restart ")}}
	case genParent:
		return Definition{Type: []string{"binary", "script"}, Path: &StringMatch{Exact: genStr("/usr/local/bin/script" + id)},
			Parent: &ParentMatch{Group: genParentGroups[n%len(genParentGroups)].name, AnyAncestor: n%4 != 0}}
	case genScanPublisher:
		return Definition{Type: []string{"binary", "bundle"}, Publisher: &SubstringMatch{Contains: genStr("Vendor" + id)}}
	case genScanTeamID:
		return Definition{Type: []string{"bundle"}, TeamID: &StringMatch{Exact: genStr("Q" + id + "TEAM")}}
	case genScanRegex:
		return Definition{Path: &StringMatch{Regex: genStr(`vendor` + id + `-[0-9]+\.(tmp|bin)$`)}}
	case genScanArgs:
		return Definition{Type: []string{"binary"}, Args: &StringMatch{Contains: genStr("--vendor" + id + "-inject")}}
	}
	panic(fmt.Sprintf("genDefinition: kind %d", k))
}

// genBase is what every sample program has whatever decides it: hashes that
// are in no definition, a signature, arguments and the user.
func genBase(r *rand.Rand, t AppType, path string) Facts {
	return Facts{
		Subject: Subject{
			Type:      t,
			Path:      path,
			Args:      []string{"--sync", "--quiet"},
			SHA1:      genHex(r, 40),
			SHA256:    genHex(r, 64),
			Publisher: "Developer ID Application: Acme Corp (ABCDE12345)",
			TeamID:    "ABCDE12345",
			SigningID: "com.acme.tool",
		},
		User:    genUser,
		UID:     501,
		Groups:  genGroups,
		Machine: "bench-mac",
		Parents: []Subject{{Type: Binary, Path: "/sbin/launchd"}},
	}
}

// genFacts builds a program that definition d (of kind k, number n) matches.
func genFacts(r *rand.Rand, k genKind, n int, d *Definition) Facts {
	id := fmt.Sprintf("%05d", n)
	switch k {
	case genExactBin:
		return genBase(r, Binary, *d.Path.Exact)
	case genSHA256:
		f := genBase(r, Binary, "/usr/local/libexec/agent"+id)
		f.SHA256 = d.SHA256.Value
		return f
	case genBundleVersion:
		f := genBase(r, Bundle, "/Applications/Vendor"+id+" Suite.app")
		f.Args = nil
		f.BundleID = *d.BundleID.Exact
		f.Version = "3.2.1"
		f.Publisher = "Developer ID Application: Vendor" + id + " Ltd (V" + id + "XY)"
		return f
	case genPrefix:
		return genBase(r, Binary, *d.Path.StartsWith+"lib/sync-agent")
	case genSuffix:
		return genBase(r, Binary, "/Library/Application Support/Vendor"+id+*d.Path.EndsWith)
	case genRegex:
		return genBase(r, Binary, "/opt/vendor"+id+"/bin/sync")
	case genParent:
		f := genBase(r, Binary, *d.Path.Exact)
		// Nearest first; the terminal is the fifth ancestor, so an
		// any-ancestor criterion walks the whole chain.
		f.Parents = []Subject{
			{Type: Binary, Path: "/usr/bin/python3"},
			{Type: Binary, Path: "/usr/bin/make"},
			{Type: Binary, Path: "/usr/local/bin/node"},
			{Type: Binary, Path: "/usr/bin/login"},
			{Type: Bundle, Path: "/System/Applications/Utilities/Terminal.app", BundleID: "com.apple.Terminal"},
			{Type: Binary, Path: "/sbin/launchd"},
		}
		return f
	}
	panic(fmt.Sprintf("genFacts: kind %d", k))
}

// genPolicy returns a deterministic policy of about nDefs definitions (in
// groups of ten, one rule per group, plus the parent groups) and the sample
// programs listed by the sample constants, in that order.
func genPolicy(nDefs int, seed uint64) (*Document, []Facts) {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	const perGroup = 10
	nGroups := max(nDefs/perGroup, 8)
	doc := &Document{
		ID:          "bench",
		Revision:    1,
		Description: "generated by genPolicy for the benchmarks",
		Default:     Default{Action: "audit"},
	}
	for _, pg := range genParentGroups {
		g := Group{Name: pg.name}
		for _, p := range pg.paths {
			g.Definitions = append(g.Definitions, Definition{Path: &StringMatch{Exact: genStr(p)}})
		}
		doc.Groups = append(doc.Groups, g)
	}

	total := 0
	for _, w := range genWeights {
		total += w.w
	}
	pick := func() genKind {
		x := r.IntN(total)
		for _, w := range genWeights {
			if x < w.w {
				return w.kind
			}
			x -= w.w
		}
		panic("unreachable")
	}

	actions := []string{"allow", "allow", "allow", "allow", "audit", "audit", "deny", "deny_notify", "deny_message", "warning"}
	// slots[gi][j] records how definition j of rule gi's group was made.
	type slot struct {
		kind genKind
		n    int
	}
	slots := make([][]slot, nGroups)
	groupBase := len(doc.Groups)
	n := 0
	for gi := range nGroups {
		g := Group{Name: fmt.Sprintf("apps-%04d", gi)}
		slots[gi] = make([]slot, perGroup)
		for j := range perGroup {
			k := pick()
			slots[gi][j] = slot{k, n}
			g.Definitions = append(g.Definitions, genDefinition(r, k, n))
			n++
		}
		doc.Groups = append(doc.Groups, g)

		rule := Rule{Name: fmt.Sprintf("rule-%04d", gi), Group: g.Name, Action: actions[r.IntN(len(actions))]}
		switch x := r.IntN(100); {
		case x < 8:
			rule.UserGroups = []string{"engineering"}
		case x < 11:
			rule.UserGroups = []string{"contractors"}
		case x < 15:
			rule.ExcludeGroups = []string{"admin"}
		case x < 17:
			rule.Users = []string{"bob", genUser}
		}
		doc.Rules = append(doc.Rules, rule)
	}
	def := func(gi, j int) *Definition { return &doc.Groups[groupBase+gi].Definitions[j] }

	// Broad catch-alls sit near the end, where a real policy keeps them:
	// anything in a shared folder not signed by whom it should be.
	broad := []Definition{
		{Type: []string{"bundle"}, Path: &StringMatch{StartsWith: genStr("/Applications/")}, Publisher: &SubstringMatch{Contains: genStr("Apple"), Not: true}},
		{Type: []string{"binary"}, Path: &StringMatch{StartsWith: genStr("/Users/")}, SigningID: &StringMatch{StartsWith: genStr("com.apple."), Not: true}},
		{Type: []string{"binary", "package"}, Path: &StringMatch{StartsWith: genStr("/private/tmp/")}, TeamID: &StringMatch{Exact: genStr("ABCDE12345"), Not: true}},
		{Type: []string{"bundle", "package"}, Path: &StringMatch{StartsWith: genStr("/Volumes/")}, Publisher: &SubstringMatch{Contains: genStr("Developer ID"), Not: true}},
	}
	for i, d := range broad {
		gi := nGroups - 1 - len(broad) + i
		*def(gi, 0) = d
		slots[gi][0] = slot{}
	}
	// The last rule: an exact path first and a scan-only definition last,
	// the worst place a match can be.
	last := nGroups - 1
	slots[last][0] = slot{genExactBin, n}
	*def(last, 0) = genDefinition(r, genExactBin, n)
	n++
	slots[last][perGroup-1] = slot{}
	*def(last, perGroup-1) = Definition{Type: []string{"binary"}, Publisher: &SubstringMatch{Contains: genStr("Last Vendor Inc")}}
	doc.Rules[last].Users, doc.Rules[last].UserGroups, doc.Rules[last].ExcludeGroups = nil, nil, nil

	// find returns the first in-scope rule from rule index `from` whose
	// group has a definition of kind k, and that definition.
	find := func(k genKind, from int) (int, int) {
		for gi := from; gi < nGroups; gi++ {
			if ug := doc.Rules[gi].UserGroups; len(ug) > 0 && ug[0] == "contractors" {
				continue
			}
			for j, sl := range slots[gi] {
				if sl.kind == k {
					return gi, j
				}
			}
		}
		panic(fmt.Sprintf("genPolicy: no definition of kind %d from rule %d; use more definitions", k, from))
	}
	at := func(k genKind, from int) Facts {
		gi, j := find(k, from)
		return genFacts(r, k, slots[gi][j].n, def(gi, j))
	}

	mid := nGroups / 2
	samples := make([]Facts, numSamples)
	samples[sampleExactFirst] = at(genExactBin, 0)
	samples[sampleExactMiddle] = at(genExactBin, mid)
	samples[sampleExactLast] = at(genExactBin, last)
	samples[sampleSHA256] = at(genSHA256, mid)
	samples[sampleBundleID] = at(genBundleVersion, mid)
	samples[samplePrefix] = at(genPrefix, mid)
	samples[sampleSuffix] = at(genSuffix, mid)
	samples[sampleRegexPrefix] = at(genRegex, mid)
	// Parent: a definition whose parent group is terminals, any ancestor.
	for gi := mid; ; gi++ {
		j := -1
		for jj, sl := range slots[gi] {
			if p := def(gi, jj).Parent; sl.kind == genParent && p.Group == "terminals" && p.AnyAncestor {
				j = jj
				break
			}
		}
		if ug := doc.Rules[gi].UserGroups; j < 0 || len(ug) > 0 && ug[0] == "contractors" {
			continue
		}
		samples[sampleParentChain] = genFacts(r, genParent, slots[gi][j].n, def(gi, j))
		break
	}
	samples[sampleScanLast] = genBase(r, Binary, "/usr/local/libexec/last-tool")
	samples[sampleScanLast].Publisher = "Developer ID Application: Last Vendor Inc (LASTV12345)"
	samples[sampleNoMatch] = genBase(r, Binary, "/usr/local/libexec/unlisted-tool")
	samples[sampleNoMatch].Publisher = "Developer ID Application: Nobody (ZZZZZ99999)"
	return doc, samples
}

func TestGenPolicyCompiles(t *testing.T) {
	doc, samples := genPolicy(benchDefs, benchSeed)
	if again, _ := genPolicy(benchDefs, benchSeed); !reflect.DeepEqual(doc, again) {
		t.Fatal("genPolicy is not deterministic: two calls with the same seed differ")
	}
	e, diags := Compile(doc)
	if diags.HasErrors() {
		t.Fatalf("generated policy does not compile:\n%v", diags.Err())
	}
	st := e.Stats()
	t.Logf("%d diagnostics (warnings); stats %+v; scan share %.2f%%", len(diags), st, 100*float64(st.Scan)/float64(st.Entries))
	if st.Entries < benchDefs*9/10 {
		t.Errorf("Stats().Entries = %d, want about %d", st.Entries, benchDefs)
	}
	if st.Scan*20 >= st.Entries {
		t.Errorf("scan list holds %d of %d entries (%.1f%%), want under 5%%", st.Scan, st.Entries, 100*float64(st.Scan)/float64(st.Entries))
	}
	if sum := st.ExactPath + st.Hash + st.BundleID + st.Prefix + st.Suffix + st.Substring + st.Scan; sum != st.Entries {
		t.Errorf("indexes hold %d entries in all, want Entries = %d (each entry in exactly one place)", sum, st.Entries)
	}

	nRules := len(doc.Rules)
	lastGroup := &doc.Groups[len(doc.Groups)-1]
	// Where each sample must be decided: a rule range and a predicate on
	// the deciding definition.
	tests := []struct {
		sample   int
		from, to int // rule range, inclusive; 0, 0 means the default
		kind     func(*Definition) bool
	}{
		{sampleExactFirst, 1, nRules / 10, func(d *Definition) bool { return d.Path != nil && d.Path.Exact != nil }},
		{sampleExactMiddle, nRules / 2, nRules - 1, func(d *Definition) bool { return d.Path != nil && d.Path.Exact != nil }},
		{sampleExactLast, nRules, nRules, func(d *Definition) bool { return d.Path != nil && d.Path.Exact != nil }},
		{sampleSHA256, nRules / 2, nRules - 1, func(d *Definition) bool { return d.SHA256 != nil }},
		{sampleBundleID, nRules / 2, nRules - 1, func(d *Definition) bool { return d.BundleID != nil && d.Version != nil }},
		{samplePrefix, nRules / 2, nRules - 1, func(d *Definition) bool { return d.Path != nil && d.Path.StartsWith != nil }},
		{sampleSuffix, nRules / 2, nRules - 1, func(d *Definition) bool { return d.Path != nil && d.Path.EndsWith != nil }},
		{sampleRegexPrefix, nRules / 2, nRules - 1, func(d *Definition) bool { return d.Path != nil && d.Path.Regex != nil }},
		{sampleScanLast, nRules, nRules, func(d *Definition) bool { return d == &lastGroup.Definitions[len(lastGroup.Definitions)-1] }},
		{sampleNoMatch, 0, 0, nil},
		{sampleParentChain, nRules / 2, nRules - 1, func(d *Definition) bool { return d.Parent != nil && d.Parent.AnyAncestor }},
	}
	if len(samples) != numSamples || len(tests) != numSamples {
		t.Fatalf("genPolicy returned %d samples and the table has %d, want %d", len(samples), len(tests), numSamples)
	}
	groups := map[string]*Group{}
	for i := range doc.Groups {
		groups[doc.Groups[i].Name] = &doc.Groups[i]
	}
	for _, tt := range tests {
		t.Run(sampleNames[tt.sample], func(t *testing.T) {
			f := &samples[tt.sample]
			got := e.Evaluate(f)
			want, _ := e.Explain(f)
			if got != want {
				t.Fatalf("Evaluate = %+v\nExplain  = %+v", got, want)
			}
			if got.Rule < tt.from || got.Rule > tt.to {
				t.Fatalf("decided by rule %d (group %q definition %d), want a rule in [%d, %d]", got.Rule, got.Group, got.Definition, tt.from, tt.to)
			}
			if tt.kind == nil {
				return
			}
			d := &groups[got.Group].Definitions[got.Definition-1]
			if !tt.kind(d) {
				t.Fatalf("decided by group %q definition %d, which is not the kind this sample is for: %+v", got.Group, got.Definition, *d)
			}
		})
	}
}

// TestEvaluateSamplesDoNotAllocate holds the allocation target of the
// benchmarks: no sample, indexed or not, allocates.
func TestEvaluateSamplesDoNotAllocate(t *testing.T) {
	doc, samples := genPolicy(benchDefs, benchSeed)
	e, diags := Compile(doc)
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	for i, name := range sampleNames {
		f := &samples[i]
		if n := testing.AllocsPerRun(20, func() { benchSink = e.Evaluate(f) }); n != 0 {
			t.Errorf("%s: Evaluate allocates %v times per call, want 0", name, n)
		}
	}
}

// TestMatchArgs compares the stack-buffer join of matchArgs with matching
// the joined string, at the edges the buffer introduces.
func TestMatchArgs(t *testing.T) {
	long := []string{"--data", strings.Repeat("x", 600), "--end"}
	argLists := [][]string{nil, {""}, {"-c"}, {"-rf", "/"}, {"-rf", "/", "--no-preserve-root"}, {"a", "", "b"}, long}
	lits := []string{"", "-rf", "-rf /", "/ --", "root", "f /", "a  b", "--end", "x --end", "-c", "zzz"}
	for _, op := range []Op{OpExact, OpStartsWith, OpEndsWith, OpContains, OpWildcard, OpRegex} {
		for _, lit := range lits {
			if op == OpRegex {
				lit = regexp.QuoteMeta(lit)
			}
			m, err := compileString(op, lit)
			if err != nil {
				t.Fatalf("compileString(%v, %q): %v", op, lit, err)
			}
			for _, args := range argLists {
				if got, want := m.matchArgs(args), m.match(strings.Join(args, " ")); got != want {
					t.Errorf("%v %q on %q: matchArgs = %v, match of the joined string = %v", op, lit, args, got, want)
				}
			}
		}
	}
}

// benchSink keeps results alive so the compiler cannot drop the work.
var benchSink Decision

func BenchmarkEvaluate(b *testing.B) {
	doc, samples := genPolicy(benchDefs, benchSeed)
	e, diags := Compile(doc)
	if diags.HasErrors() {
		b.Fatal(diags.Err())
	}
	for i, name := range sampleNames {
		f := &samples[i]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				benchSink = e.Evaluate(f)
			}
		})
	}
}

func BenchmarkExplain(b *testing.B) {
	doc, samples := genPolicy(benchDefs, benchSeed)
	e, diags := Compile(doc)
	if diags.HasErrors() {
		b.Fatal(diags.Err())
	}
	f := &samples[sampleExactMiddle]
	b.ReportAllocs()
	for b.Loop() {
		benchSink, _ = e.Explain(f)
	}
}

func BenchmarkCompile(b *testing.B) {
	doc, _ := genPolicy(benchDefs, benchSeed)
	b.ReportAllocs()
	for b.Loop() {
		if e, diags := Compile(doc); e == nil {
			b.Fatal(diags.Err())
		}
	}
}
