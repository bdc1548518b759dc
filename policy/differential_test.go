package policy

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// The differential tests hold Evaluate (indexes, merged candidate lists) to
// Explain (every rule in order, no indexes) on random policies and facts:
// the indexes may only pick candidates, never change the answer.

// chooser makes the random choices of the generators: math/rand for the
// seeded tests, the fuzzer's bytes for the fuzz target.
type chooser interface {
	intn(n int) int
}

type randChooser struct{ r *rand.Rand }

func (c randChooser) intn(n int) int { return c.r.IntN(n) }

// byteChooser takes one byte per choice and answers 0 once the bytes run out.
type byteChooser struct {
	b []byte
	i int
}

func (c *byteChooser) intn(n int) int {
	if n <= 1 || c.i >= len(c.b) {
		return 0
	}
	v := int(c.b[c.i])
	c.i++
	return v % n
}

func pick[T any](c chooser, xs []T) T { return xs[c.intn(len(xs))] }

func oneIn(c chooser, n int) bool { return c.intn(n) == 0 }

// diffPools are the values policies are built from and facts are drawn
// from, so that many facts match something. Paths share prefixes and
// suffixes on purpose, and include text that is not UTF-8.
type diffPools struct {
	paths, args, bundleIDs, publishers, teamIDs, sources, authURIs, versions []string
	sha1s, sha256s                                                           []string
	users, ugroups                                                           []string
}

func newDiffPools(extra ...string) *diffPools {
	p := &diffPools{
		paths: []string{
			"/usr/bin/curl", "/usr/bin/cu", "/usr/bin/curl.sh", "/usr/local/bin/curl", "/usr/local/bin/jq",
			"/bin/zsh", "/bin/bash", "/bin/sh", "/Applications/Safari.app", "/Applications/Safari.app/Contents/MacOS/Safari",
			"/Applications/Xcode.app", "/System/Applications/Utilities/Terminal.app", "/tmp/x.sh", "/tmp/café.sh",
			"/tmp/\xffbad", "/tmp/\xfe\xff.sh", "/opt/vendor/bin/tool", "/opt/vendor/bin/tool.sh", "relative/tool", "",
			"/Users/ann/Downloads/Setup *?.app", `/opt/back\slash`,
		},
		args:       []string{"-la /Applications", "-rf /", "--version", "-c echo hi", "", "install --force"},
		bundleIDs:  []string{"com.apple.Safari", "com.apple.dt.Xcode", "com.example.tool", "com.example.tool.helper", ""},
		publishers: []string{"Software Signing", "Developer ID Application: Example Corp (TEAM1)", "Apple Mac OS Application Signing", ""},
		teamIDs:    []string{"TEAM1", "EQHXZ8M8AV", ""},
		sources:    []string{"https://downloads.example.com/Setup.dmg", "https://evil.example.net/x.pkg", ""},
		authURIs:   []string{"system.install.software", "system.preferences.network", "system.privilege.admin", ""},
		versions:   []string{"1.0", "1.0b2", "1.0.1", "2.3.1", "10.2", "10.10", "10.10rc1"},
		sha1s: []string{
			"da39a3ee5e6b4b0d3255bfef95601890afd80709",
			"2fd4e1c67a2d28fced849ee1bb76e7391b93eb12",
			"de9f2c7fd25e1b3afad3e85a0bd17d9b100db4b3",
		},
		sha256s: []string{
			"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			"d7a8fbb307d7809469ca9abcb0082e4f8d5651e46d3cdb762d02d0bf37c9e592",
			"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		},
		users:   []string{"alice", "bob", "root", "carol"},
		ugroups: []string{"admin", "staff", "engineering", "contractors"},
	}
	for _, x := range extra {
		p.paths = append(p.paths, x, "/tmp/"+x)
		p.args = append(p.args, x)
		p.bundleIDs = append(p.bundleIDs, x)
		p.publishers = append(p.publishers, x)
		p.authURIs = append(p.authURIs, x)
		if strings.TrimSpace(x) != "" {
			p.versions = append(p.versions, x)
		}
	}
	return p
}

// diffSubstr returns a non-empty byte slice of v, or "" if v is empty.
func diffSubstr(c chooser, v string) string {
	if v == "" {
		return ""
	}
	i := c.intn(len(v))
	j := i + 1 + c.intn(len(v)-i)
	return v[i:j]
}

// diffWildcard turns v into a wildcard pattern that v matches: some runes
// become '?', some runs '*', the rest is escaped where needed.
func diffWildcard(c chooser, v string) string {
	var b strings.Builder
	if oneIn(c, 4) {
		b.WriteByte('*')
	}
	for i := 0; i < len(v); {
		_, size := utf8.DecodeRuneInString(v[i:])
		switch c.intn(8) {
		case 0:
			b.WriteByte('?')
		case 1:
			b.WriteByte('*')
			i += c.intn(len(v) - i)
			_, size = utf8.DecodeRuneInString(v[i:])
			if i >= len(v) {
				size = 0
			}
		default:
			if strings.ContainsAny(v[i:i+size], `*?\`) {
				b.WriteByte('\\')
			}
			b.WriteString(v[i : i+size])
		}
		i += size
	}
	if oneIn(c, 4) {
		b.WriteByte('*')
	}
	return b.String()
}

// diffRegex turns v into a regular expression that often matches it.
// Bytes that are not UTF-8 become U+FFFD, which matches them.
func diffRegex(c chooser, v string) string {
	v = strings.ToValidUTF8(v, "\uFFFD")
	q := regexp.QuoteMeta
	cut := func() (string, string) {
		if v == "" {
			return "", ""
		}
		k := c.intn(len(v) + 1)
		for k < len(v) && !utf8.RuneStart(v[k]) {
			k++
		}
		return v[:k], v[k:]
	}
	pre, suf := cut()
	switch c.intn(9) {
	case 0:
		return "^" + q(pre)
	case 1:
		return q(suf) + "$"
	case 2:
		return "^" + q(v) + "$"
	case 3:
		return "^" + q(pre) + ".*" + q(suf) + "$"
	case 4:
		return q(pre) // unanchored
	case 5:
		return "(?i)^" + q(strings.ToUpper(pre))
	case 6:
		return "^(" + q(pre) + "|" + q(suf) + ")"
	case 7:
		return "^" + q(pre) + "[^/]*$"
	default:
		return `^\Q` + strings.ReplaceAll(pre, `\E`, "") + `\E.+`
	}
}

// diffString builds a string criterion from one of values.
func diffString(c chooser, values []string) *StringMatch {
	v := pick(c, values)
	op := Op(1 + c.intn(6))
	var pat string
	switch op {
	case OpExact:
		pat = v
	case OpStartsWith:
		if v != "" {
			pat = v[:1+c.intn(len(v))]
		}
	case OpEndsWith:
		if v != "" {
			pat = v[c.intn(len(v)):]
		}
	case OpContains:
		pat = diffSubstr(c, v)
	case OpWildcard:
		pat = diffWildcard(c, v)
	case OpRegex:
		pat = diffRegex(c, v)
	}
	if pat == "" {
		op, pat = OpExact, v
	}
	return strCrit(op, pat, oneIn(c, 4))
}

func diffHash(c chooser, values []string) *HashMatch {
	v := pick(c, values)
	if oneIn(c, 3) {
		v = strings.ToUpper(v)
	}
	return &HashMatch{Value: v, Not: oneIn(c, 5)}
}

// diffDefinition builds a valid definition for group gi; parent criteria
// refer only to groups with a lower index, so parents never form a cycle.
func diffDefinition(c chooser, p *diffPools, gi int) Definition {
	var d Definition
	allowed := allTypes &^ typeBit(TypeUnknown)
	restrict := func(f field) bool {
		if allowed&fieldTypes[f] == 0 {
			return false
		}
		allowed &= fieldTypes[f]
		return true
	}
	// The event first: it decides which of auth_uri, install and delete
	// may appear.
	switch c.intn(10) {
	case 0:
		if restrict(fieldAuthURI) {
			d.AuthURI = diffString(c, p.authURIs)
		}
	case 1:
		if restrict(fieldInstall) {
			d.Install = boolPtr(true)
		}
	case 2:
		if restrict(fieldDelete) {
			d.Delete = boolPtr(true)
		}
	}
	for n := c.intn(4); n > 0; n-- {
		switch c.intn(14) {
		case 0, 1, 2, 3:
			if d.Path == nil && restrict(fieldPath) {
				d.Path = diffString(c, p.paths)
			}
		case 4:
			if d.Args == nil && restrict(fieldArgs) {
				d.Args = diffString(c, p.args)
			}
		case 5:
			if d.SHA1 == nil && restrict(fieldSHA1) {
				d.SHA1 = diffHash(c, p.sha1s)
			}
		case 6:
			if d.SHA256 == nil && restrict(fieldSHA256) {
				d.SHA256 = diffHash(c, p.sha256s)
			}
		case 7:
			if d.BundleID == nil && restrict(fieldBundleID) {
				d.BundleID = diffString(c, p.bundleIDs)
			}
		case 8:
			if d.Version == nil && restrict(fieldVersion) {
				lo, hi := pick(c, p.versions), pick(c, p.versions)
				if CompareVersions(lo, hi) > 0 {
					lo, hi = hi, lo
				}
				switch c.intn(3) {
				case 0:
					lo = ""
				case 1:
					hi = ""
				}
				d.Version = &VersionRange{Min: lo, Max: hi, Not: oneIn(c, 4)}
			}
		case 9:
			if d.Publisher == nil && restrict(fieldPublisher) {
				d.Publisher = (*SubstringMatch)(diffString(c, p.publishers))
			}
		case 10:
			if d.TeamID == nil && restrict(fieldTeamID) {
				d.TeamID = diffString(c, p.teamIDs)
			}
		case 11:
			if d.Source == nil && restrict(fieldSource) {
				d.Source = (*SubstringMatch)(diffString(c, p.sources))
			}
		default:
			if d.Parent == nil && gi > 0 && restrict(fieldParent) {
				d.Parent = &ParentMatch{Group: fmt.Sprintf("g%d", c.intn(gi)), AnyAncestor: oneIn(c, 2), Not: oneIn(c, 4)}
			}
		}
	}
	all := allTypes &^ typeBit(TypeUnknown)
	if allowed == all && oneIn(c, 2) {
		return d // no type list: every type
	}
	for t := Binary; t <= SystemPreference; t++ {
		if allowed.has(t) && oneIn(c, 2) {
			d.Type = append(d.Type, t.String())
		}
	}
	if len(d.Type) == 0 {
		for t := Binary; t <= SystemPreference; t++ {
			if allowed.has(t) {
				d.Type = append(d.Type, t.String())
				break
			}
		}
	}
	return d
}

func diffNames(c chooser, pool []string) []string {
	var out []string
	for n := 1 + c.intn(2); n > 0; n-- {
		out = append(out, pick(c, pool))
	}
	return out
}

// diffPolicy builds a random valid policy: a few groups of a few
// definitions and rules in random order, several per group, some scoped.
func diffPolicy(c chooser, p *diffPools) *Document {
	doc := &Document{ID: "diff", Revision: 1, Default: Default{Action: pick(c, []string{"", "deny", "audit", "warning"})}}
	ng := 1 + c.intn(6)
	for gi := 0; gi < ng; gi++ {
		g := Group{Name: fmt.Sprintf("g%d", gi)}
		for nd := 1 + c.intn(4); nd > 0; nd-- {
			g.Definitions = append(g.Definitions, diffDefinition(c, p, gi))
		}
		doc.Groups = append(doc.Groups, g)
	}
	actions := []string{"allow", "audit", "deny", "deny_notify", "deny_message", "warning", "justification", "approval", "elevate"}
	// An install or delete is only allowed or denied (checkMoveAction).
	moveActions := actions[:5]
	for nr := 1 + c.intn(10); nr > 0; nr-- {
		gi := c.intn(ng)
		acts := actions
		if slices.ContainsFunc(doc.Groups[gi].Definitions, func(d Definition) bool { return d.Install != nil || d.Delete != nil }) {
			acts = moveActions
		}
		// Elevate only on sudo commands (checkElevate).
		allSudo := !slices.ContainsFunc(doc.Groups[gi].Definitions, func(d Definition) bool { return !slices.Equal(d.Type, []string{"sudo"}) })
		if !allSudo {
			acts = slices.DeleteFunc(slices.Clone(acts), func(a string) bool { return a == "elevate" })
		}
		r := Rule{Name: fmt.Sprintf("r%d", len(doc.Rules)+1), Group: fmt.Sprintf("g%d", gi), Action: pick(c, acts)}
		if oneIn(c, 2) {
			switch c.intn(5) {
			case 0:
				r.Users = diffNames(c, p.users)
			case 1:
				r.UserGroups = diffNames(c, p.ugroups)
			case 2:
				r.ExcludeUsers = diffNames(c, p.users)
			case 3:
				r.ExcludeGroups = diffNames(c, p.ugroups)
			default:
				r.Users = diffNames(c, p.users)
				r.UserGroups = diffNames(c, p.ugroups)
				r.ExcludeUsers = diffNames(c, p.users)
				r.ExcludeGroups = diffNames(c, p.ugroups)
			}
		}
		doc.Rules = append(doc.Rules, r)
	}
	return doc
}

// diffMutate returns v or a near miss of it.
func diffMutate(c chooser, v string) string {
	switch c.intn(10) {
	case 0:
		return v + pick(c, []string{"x", "/", ".sh", "é"})
	case 1:
		if v != "" {
			return v[:c.intn(len(v))]
		}
	case 2:
		return swapCase(v)
	case 3:
		return pick(c, []string{"/", "/x", "\xff", "日本", "*", "?"}) + v
	}
	return v
}

func diffSubject(c chooser, p *diffPools) Subject {
	s := Subject{
		Type: AppType(c.intn(int(SystemPreference) + 1)),
		Path: diffMutate(c, pick(c, p.paths)),
	}
	if oneIn(c, 2) {
		if a := diffMutate(c, pick(c, p.args)); a != "" {
			s.Args = strings.Split(a, " ")
		}
	}
	if oneIn(c, 3) {
		s.SHA1 = pick(c, p.sha1s)
	}
	if oneIn(c, 3) {
		s.SHA256 = pick(c, p.sha256s)
	}
	if oneIn(c, 2) {
		s.BundleID = diffMutate(c, pick(c, p.bundleIDs))
	}
	if oneIn(c, 2) {
		s.Version = diffMutate(c, pick(c, p.versions))
	}
	if oneIn(c, 2) {
		s.Publisher = diffMutate(c, pick(c, p.publishers))
	}
	if oneIn(c, 2) {
		s.TeamID = pick(c, p.teamIDs)
	}
	if oneIn(c, 3) {
		s.Source = pick(c, p.sources)
	}
	return s
}

func diffFacts(c chooser, p *diffPools) *Facts {
	f := &Facts{Subject: diffSubject(c, p)}
	switch c.intn(8) {
	case 0:
		f.Event = AuthRequest
		f.AuthURI = diffMutate(c, pick(c, p.authURIs))
	case 1:
		f.Event = Install
	case 2:
		f.Event = Delete
	case 3:
		f.Event = EventUnset
	default:
		f.Event = Exec
	}
	if !oneIn(c, 5) {
		f.User = pick(c, p.users)
	}
	for n := c.intn(3); n > 0; n-- {
		f.Groups = append(f.Groups, pick(c, p.ugroups))
	}
	for n := c.intn(5); n > 0; n-- {
		f.Parents = append(f.Parents, diffSubject(c, p))
	}
	return f
}

// checkAgree fails if Evaluate and Explain disagree on f, or if Explain's
// trace does not account for its own decision.
func checkAgree(t testing.TB, e *Engine, doc *Document, f *Facts) Decision {
	t.Helper()
	got := e.Evaluate(f)
	want, trace := e.Explain(f)
	if got != want {
		t.Fatalf("Evaluate and Explain disagree\nEvaluate: %+v\nExplain:  %+v\nfacts: %+v\npolicy: %s\ntrace: %+v", at(got), at(want), f, dumpDoc(doc), trace)
	}
	// EvaluateLazy, handed facts without arguments and parents, must load
	// each at most once and reach the same decision.
	lazy := *f
	var calls [2]int
	lz, cacheable := e.EvaluateLazy(&lazy, func(lf *Facts, n Needs) {
		if n.Args {
			calls[0]++
			lf.Args = f.Args
		}
		if n.Parents {
			calls[1]++
			lf.Parents = f.Parents
		}
	})
	if cacheable {
		checkCacheable(t, e, doc, f, got)
	}
	if lz != got || calls[0] > 1 || calls[1] > 1 {
		t.Fatalf("EvaluateLazy = %+v (loads args %d, parents %d times), Evaluate = %+v\nfacts: %+v\npolicy: %s", at(lz), calls[0], calls[1], at(got), f, dumpDoc(doc))
	}
	if want.Rule == 0 {
		if len(trace) != len(doc.Rules) {
			t.Fatalf("default decision after %d of %d rules", len(trace), len(doc.Rules))
		}
	} else if len(trace) != want.Rule || !trace[len(trace)-1].Matched {
		t.Fatalf("decision by rule %d but trace ends at %+v", want.Rule, trace[len(trace)-1])
	}
	for _, rt := range trace[:len(trace)-boolInt(want.Rule > 0)] {
		if rt.Matched {
			t.Fatalf("rule %d matched in the trace but rule %d decided", rt.Rule, want.Rule)
		}
	}
	return got
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// dumpDoc prints a generated policy compactly for failure messages.
func dumpDoc(doc *Document) string {
	var b strings.Builder
	sm := func(name string, m *StringMatch) {
		if m == nil {
			return
		}
		for _, o := range []struct {
			n string
			v *string
		}{{"exact", m.Exact}, {"starts_with", m.StartsWith}, {"ends_with", m.EndsWith}, {"contains", m.Contains}, {"wildcard", m.Wildcard}, {"regex", m.Regex}} {
			if o.v != nil {
				fmt.Fprintf(&b, " %s{%s %q not=%v}", name, o.n, *o.v, m.Not)
			}
		}
	}
	fmt.Fprintf(&b, "default=%q\n", doc.Default.Action)
	for _, g := range doc.Groups {
		fmt.Fprintf(&b, "group %s\n", g.Name)
		for i, d := range g.Definitions {
			fmt.Fprintf(&b, "  def %d type=%v", i+1, d.Type)
			sm("path", d.Path)
			sm("args", d.Args)
			sm("bundle_id", d.BundleID)
			sm("publisher", (*StringMatch)(d.Publisher))
			sm("team_id", d.TeamID)
			sm("source", (*StringMatch)(d.Source))
			sm("auth_uri", d.AuthURI)
			if d.SHA1 != nil {
				fmt.Fprintf(&b, " sha1{%s not=%v}", d.SHA1.Value, d.SHA1.Not)
			}
			if d.SHA256 != nil {
				fmt.Fprintf(&b, " sha256{%s not=%v}", d.SHA256.Value, d.SHA256.Not)
			}
			if d.Version != nil {
				fmt.Fprintf(&b, " version{%q..%q not=%v}", d.Version.Min, d.Version.Max, d.Version.Not)
			}
			if d.Parent != nil {
				fmt.Fprintf(&b, " parent{%s any=%v not=%v}", d.Parent.Group, d.Parent.AnyAncestor, d.Parent.Not)
			}
			if d.Install != nil || d.Delete != nil {
				fmt.Fprintf(&b, " install=%v delete=%v", d.Install != nil && *d.Install, d.Delete != nil && *d.Delete)
			}
			b.WriteByte('\n')
		}
	}
	for i, r := range doc.Rules {
		fmt.Fprintf(&b, "rule %d %s -> %s users=%v groups=%v ex_users=%v ex_groups=%v\n", i+1, r.Group, r.Action, r.Users, r.UserGroups, r.ExcludeUsers, r.ExcludeGroups)
	}
	return b.String()
}

func TestEvaluateMatchesExplain(t *testing.T) {
	const (
		policiesPerSeed = 60
		factsPerPolicy  = 150
	)
	var total, decidedByRule int
	var stats Stats
	for seed := uint64(1); seed <= 8; seed++ {
		t.Run(fmt.Sprintf("seed_%d", seed), func(t *testing.T) {
			c := randChooser{rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))}
			pools := newDiffPools()
			for i := 0; i < policiesPerSeed; i++ {
				doc := diffPolicy(c, pools)
				e, diags := Compile(doc)
				if diags.HasErrors() {
					t.Fatalf("policy %d does not compile (a generator bug):\n%v\n%s", i, diags, dumpDoc(doc))
				}
				s := e.Stats()
				stats.ExactPath += s.ExactPath
				stats.Hash += s.Hash
				stats.BundleID += s.BundleID
				stats.Prefix += s.Prefix
				stats.Suffix += s.Suffix
				stats.Scan += s.Scan
				for j := 0; j < factsPerPolicy; j++ {
					d := checkAgree(t, e, doc, diffFacts(c, pools))
					total++
					if d.Rule > 0 {
						decidedByRule++
					}
				}
			}
		})
	}
	t.Logf("%d facts, %d decided by a rule; index entries: %+v", total, decidedByRule, stats)
	// The comparison means little unless rules decide often and every
	// index holds entries.
	if decidedByRule*4 < total {
		t.Errorf("only %d of %d facts were decided by a rule; the generator no longer produces matches", decidedByRule, total)
	}
	if stats.ExactPath == 0 || stats.Hash == 0 || stats.BundleID == 0 || stats.Prefix == 0 || stats.Suffix == 0 || stats.Scan == 0 {
		t.Errorf("some index was never used: %+v", stats)
	}
}

// TestEvaluateMatchesExplainFound holds inputs that once made Evaluate and
// Explain disagree.
func TestEvaluateMatchesExplainFound(t *testing.T) {
	tests := []struct {
		name  string
		def   Definition
		facts Facts
		want  bool
	}{
		{
			// An empty exact bundle id must not be looked up only for
			// subjects that have a bundle id.
			name:  "bundle_id_exact_empty",
			def:   Definition{Type: []string{"bundle"}, BundleID: strCrit(OpExact, "", false)},
			facts: Facts{Subject: Subject{Type: Bundle, Path: "/Applications/NoID.app"}},
			want:  true,
		},
		{
			// U+FFFD in a regex also matches a byte that is not UTF-8, so
			// it cannot be part of the literal prefix the index uses.
			name:  "regex_replacement_char_prefix",
			def:   Definition{Path: strCrit(OpRegex, "^/tmp/\uFFFDbad$", false)},
			facts: Facts{Subject: Subject{Type: Binary, Path: "/tmp/\xffbad"}},
			want:  true,
		},
		{
			name:  "regex_replacement_char_suffix",
			def:   Definition{Path: strCrit(OpRegex, "\uFFFD\\.sh$", false)},
			facts: Facts{Subject: Subject{Type: Script, Path: "/tmp/\xfe\xff.sh"}},
			want:  true,
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

func FuzzEvaluateMatchesExplain(f *testing.F) {
	f.Add([]byte{}, "")
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, "/tmp/\xffbad")
	f.Add([]byte("policy bytes drive every choice"), "com.example.*")
	f.Add([]byte{5, 3, 0, 0, 1, 4, 2, 0, 7, 7, 1, 9, 12, 13, 200, 100, 50}, "é?\\")
	f.Fuzz(func(t *testing.T, data []byte, extra string) {
		pools := newDiffPools(extra)
		doc := diffPolicy(&byteChooser{b: data}, pools)
		e, diags := Compile(doc)
		if diags.HasErrors() {
			t.Fatalf("generated policy does not compile (a generator bug):\n%v\n%s", diags, dumpDoc(doc))
		}
		h := fnv.New64a()
		h.Write(data)
		h.Write([]byte(extra))
		c := randChooser{rand.New(rand.NewPCG(h.Sum64(), uint64(len(data))))}
		for i := 0; i < 40; i++ {
			checkAgree(t, e, doc, diffFacts(c, pools))
		}
		// The fuzzer's own string as the value of every field.
		s := Subject{Type: Bundle, Path: extra, BundleID: extra, Publisher: extra, Version: extra, Args: []string{extra}}
		for _, ev := range []Event{Exec, AuthRequest, Install} {
			checkAgree(t, e, doc, &Facts{Subject: s, Event: ev, AuthURI: extra, Parents: []Subject{s, s}})
		}
	})
}

// checkCacheable holds a cacheable decision to its promise: the same for
// every user, any arguments and any parent chain the test can make up.
func checkCacheable(t testing.TB, e *Engine, doc *Document, f *Facts, want Decision) {
	t.Helper()
	if want.Action != Allow || want.Audit {
		t.Fatalf("cacheable decision %+v is not a plain allow", at(want))
	}
	for _, v := range []Facts{
		{User: "someone-else"}, {User: "root", Groups: []string{"wheel", "admin", "staff"}},
		{Subject: Subject{Args: []string{"--anything", "-rf", "/"}}}, {Parents: []Subject{{Path: "/bin/sh", Type: Binary}, {Path: "/usr/bin/sudo", Type: Binary}}},
	} {
		g := *f
		g.User, g.Groups, g.Args, g.Parents = f.User, f.Groups, f.Args, f.Parents
		if v.User != "" {
			g.User, g.Groups = v.User, v.Groups
		}
		if v.Args != nil {
			g.Args = v.Args
		}
		if v.Parents != nil {
			g.Parents = v.Parents
		}
		if got := e.Evaluate(&g); got != want {
			t.Fatalf("decision marked cacheable changes with user/args/parents: %+v became %+v\nfacts: %+v\npolicy: %s", at(want), at(got), g, dumpDoc(doc))
		}
	}
}
