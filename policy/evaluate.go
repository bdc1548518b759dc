package policy

import (
	"slices"
	"strings"
)

// maxParents bounds how much of a parent chain is looked at. Real chains
// are a handful of processes; a caller passing more is cut off here so a
// nested any_ancestor criterion cannot cost more than this bound allows.
const maxParents = 64 // at most 255: lineage packs the position into 8 bits

// Decision is the outcome for one event. It refers to the compiled policy
// and does not allocate.
type Decision struct {
	Action Action `json:"action"`
	// Require is what an elevate action asks of the user first (Unset: nothing).
	Require Action `json:"require,omitempty"`
	// Unavailable is what EvaluateLazy decided without (of the facts load
	// could not gather, Facts.Unavailable): a definition that needed it
	// and whose other criteria matched was taken to match, if its rule
	// does not allow, or skipped, if it does. (Here, it fills what would
	// be padding.)
	Unavailable Needs `json:"-"`
	// Rule is the 1-based index of the deciding rule; 0 means the default.
	Rule       int    `json:"rule"`
	RuleName   string `json:"rule_name,omitempty"`
	Group      string `json:"group,omitempty"`
	Definition int    `json:"definition,omitempty"`
	// Audit says whether the decision should be written to the audit log.
	Audit            bool `json:"audit"`
	MinJustification int  `json:"min_justification,omitempty"`
	// Approvers is how many approvals the console needs (0: one).
	Approvers int              `json:"approvers,omitempty"`
	Message   *MessageTemplate `json:"-"`
	PolicyID  string           `json:"policy_id"`
	Revision  int64            `json:"policy_revision"`
}

// MarshalText makes actions readable in JSON.
func (a Action) MarshalText() ([]byte, error) {
	if a == ActionUnset {
		return []byte(""), nil
	}
	return []byte(a.String()), nil
}

func (e *Engine) decision(r *rule, d *definition) Decision {
	out := Decision{
		Action:           r.action,
		Require:          r.require,
		Rule:             r.index,
		RuleName:         r.name,
		Audit:            r.audit,
		MinJustification: int(r.minJust),
		Approvers:        int(r.approvers),
		Message:          r.message,
		PolicyID:         e.id,
		Revision:         e.revision,
	}
	if d != nil {
		out.Group = d.group.name
		out.Definition = int(d.index)
	}
	return out
}

// fallbackFor is the decision when no rule matches an event of kind ev.
func (e *Engine) fallbackFor(ev Event) *rule {
	if ev == Install || ev == Delete {
		return &e.moveFallback
	}
	return &e.fallback
}

// Evaluate returns the decision for f: the first rule, in order, whose group
// matches and whose scope includes the user, or the default. It does not
// allocate unless a definition matches on arguments or an unusually large
// number of indexed candidates apply.
func (e *Engine) Evaluate(f *Facts) Decision { return e.evaluate(f, nil) }

// EvaluateLazy is Evaluate for a caller that has not gathered the costly
// per-event facts (f.Args and f.Parents are taken as unknown). Before the
// first definition that looks at them and whose other criteria all match,
// it calls load once with what is needed; load fills f.Args and/or
// f.Parents. The user (f.UID, f.User, f.Groups) may be left for load too:
// it is asked for (Needs.User) before the first scoped rule whose
// definition the file matches; a caller that filled it can ignore that. Its decision is the one Evaluate would give on the completed
// facts; most events never need load at all.
//
// When a fact cannot be had, load says so in f.Unavailable instead (and
// may leave a partial value, for the record). A definition that needs it
// is then not matched on an empty value — which would let an exec run
// because its arguments could not be read — but by its rule's action:
// whatever else the definition asks must match, and then it matches if
// the rule does not allow (deny, a notice, a request) and is skipped if
// the rule allows (allow, audit, elevate). So the decision never allows
// what the complete facts would deny; it may deny what they would allow,
// or make another kind of denial. d.Unavailable says which facts it was
// made without.
//
// cacheable reports that the decision is a plain allow (action allow, not
// audited) that no other user, argument list or parent chain could have
// changed: no rule was skipped for being out of the user's scope, no
// argument or parent criterion was looked at, and the deciding rule is not
// scoped. Such an answer may be cached by the kernel for the file.
func (e *Engine) EvaluateLazy(f *Facts, load func(f *Facts, n Needs)) (d Decision, cacheable bool) {
	if load == nil {
		return e.evaluateDep(f, nil)
	}
	f.Args, f.Parents, f.Unavailable = nil, nil, Needs{}
	f.Protection, f.ProtectionDetail = ProtectionUnknown, ""
	return e.evaluateDep(f, load)
}

func (e *Engine) evaluate(f *Facts, load func(*Facts, Needs)) Decision {
	d, _ := e.evaluateDep(f, load)
	return d
}

func (e *Engine) evaluateDep(f *Facts, load func(*Facts, Needs)) (Decision, bool) {
	var buf [64]int32
	cands := buf[:0]
	s := &f.Subject
	if s.SHA256 != "" {
		cands = append(cands, e.sha256[s.SHA256]...)
	}
	if s.SHA1 != "" {
		cands = append(cands, e.sha1[s.SHA1]...)
	}
	cands = append(cands, e.exactPath[s.Path]...)
	if s.BundleID != "" {
		cands = append(cands, e.bundleID[s.BundleID]...)
	}
	cands = e.prefix.collect(s.Path, cands)
	cands = e.suffix.collect(s.Path, cands)
	for fl, x := range e.substr {
		if x == nil {
			continue
		}
		switch {
		case field(fl) == fieldArgs && load != nil:
			// Arguments not read yet: every entry filed under an argument
			// literal is a candidate until they are.
			cands = x.all(cands)
		case field(fl) == fieldArgs:
			cands = x.collectArgs(s.Args, cands)
		default:
			cands = x.collect(substrValue(field(fl), f), cands)
		}
	}
	slices.Sort(cands)

	lin := lineage{chain: clampParents(f.Parents)}
	var loaded Needs
	var without Needs // unavailable facts a definition needed (Decision.Unavailable)
	dep := false      // the outcome depended on the user, arguments or parents
	// Merge the sorted candidates with the scan list; the first entry that
	// fully matches is the answer.
	i, j := 0, 0
	last := int32(-1)
	for i < len(cands) || j < len(e.scan) {
		var id int32
		if j >= len(e.scan) || (i < len(cands) && cands[i] < e.scan[j]) {
			id = cands[i]
			i++
		} else {
			id = e.scan[j]
			j++
		}
		if id == last {
			continue // a substring index may name an entry twice
		}
		last = id
		en := &e.entries[id]
		d := en.def
		ev := f.Event.normal()
		if load == nil {
			if !en.rule.inScope(f) {
				continue
			}
			if d.matches(s, ev, f.AuthURI, &lin, 0) {
				return e.decision(en.rule, d), false
			}
			continue
		}
		// The file's own facts first: a definition they rule out does not
		// make the outcome depend on the user or the process.
		if !d.matchesExcept(s, ev, f.AuthURI, &lin, known(loaded, f.Unavailable)) {
			continue
		}
		if en.rule.scope != nil && !loaded.User {
			load(f, Needs{User: true})
			loaded.User = true
		}
		if !en.rule.inScope(f) {
			dep = true
			continue
		}
		if d.needs.Args && !loaded.Args || d.needs.Parents && !loaded.Parents || d.needs.Protection && !loaded.Protection {
			dep = true
			want := Needs{Args: d.needs.Args && !loaded.Args, Parents: d.needs.Parents && !loaded.Parents,
				Protection: d.needs.Protection && !loaded.Protection}
			load(f, want)
			loaded.Args = loaded.Args || want.Args
			loaded.Parents = loaded.Parents || want.Parents
			loaded.Protection = loaded.Protection || want.Protection
			if want.Parents {
				lin = lineage{chain: clampParents(f.Parents)}
			}
		}
		if d.needs.Args || d.needs.Parents || d.needs.Protection {
			// The folders above a file can change without the file:
			// a decision on its protection is never the kernel's to keep.
			dep = true
		}
		if miss := (Needs{Args: d.needs.Args && f.Unavailable.Args, Parents: d.needs.Parents && f.Unavailable.Parents}); miss.Args || miss.Parents {
			// Fail closed, per rule: what is known must match, and then
			// the rule's action decides in place of what is not.
			if !d.matchesExcept(s, ev, f.AuthURI, &lin, known(loaded, f.Unavailable)) {
				continue
			}
			without.Args = without.Args || miss.Args
			without.Parents = without.Parents || miss.Parents
			if en.rule.action.Permits() {
				continue
			}
			out := e.decision(en.rule, d)
			out.Unavailable = without
			return out, false
		}
		if d.matches(s, ev, f.AuthURI, &lin, 0) {
			out := e.decision(en.rule, d)
			out.Unavailable = without
			return out, !dep && en.rule.scope == nil && out.Action == Allow && !out.Audit
		}
	}
	if load == nil {
		return e.decision(e.fallbackFor(f.Event.normal()), nil), false
	}
	out := e.decision(e.fallbackFor(f.Event.normal()), nil)
	out.Unavailable = without
	return out, !dep && out.Action == Allow && !out.Audit
}

// known is what of the loaded facts criteria can be matched on: not what
// load could not gather.
func known(loaded, unavailable Needs) Needs {
	loaded.Args = loaded.Args && !unavailable.Args
	loaded.Parents = loaded.Parents && !unavailable.Parents
	return loaded
}

// matchesExcept is matches with the argument and parent criteria not yet
// loaded skipped (taken as matching).
func (d *definition) matchesExcept(s *Subject, ev Event, authURI string, l *lineage, loaded Needs) bool {
	if !d.types.has(s.Type) || !d.handles(s.Type, ev, authURI) {
		return false
	}
	for k := range d.crit {
		c := &d.crit[k]
		if c.field == fieldArgs && !loaded.Args || c.field == fieldParent && !loaded.Parents || c.field == fieldProtected && !loaded.Protection {
			continue
		}
		if !c.eval(s, authURI, l, 0) {
			return false
		}
	}
	return true
}

// substrValue is the value of a string field Evaluate indexes.
func substrValue(fl field, f *Facts) string {
	s := &f.Subject
	switch fl {
	case fieldPath:
		return s.Path
	case fieldBundleID:
		return s.BundleID
	case fieldPublisher:
		return s.Publisher
	case fieldTeamID:
		return s.TeamID
	case fieldSigningID:
		return s.SigningID
	case fieldSource:
		return s.Source
	case fieldAuthURI:
		return f.AuthURI
	}
	return ""
}

// collectArgs looks the arguments up joined by single spaces, as args
// criteria see them, in a stack buffer; a command line longer than the
// buffer makes every entry a candidate rather than allocating.
func (x *substrIndex) collectArgs(args []string, out []int32) []int32 {
	if x.n == 0 {
		return out
	}
	var buf [1024]byte
	b := buf[:0]
	for i, a := range args {
		if len(b)+len(a)+1 > len(buf) {
			return x.all(out)
		}
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, a...)
	}
	return x.collect(unsafeString(b), out)
}

func clampParents(p []Subject) []Subject {
	if len(p) > maxParents {
		return p[:maxParents]
	}
	return p
}

func (r *rule) inScope(f *Facts) bool {
	sc := r.scope
	if sc == nil {
		return true
	}
	if slices.Contains(sc.exUsers, f.User) {
		return false
	}
	for _, g := range sc.exGroups {
		if slices.Contains(f.Groups, g) {
			return false
		}
	}
	if len(sc.users) == 0 && len(sc.groups) == 0 {
		return true
	}
	if slices.Contains(sc.users, f.User) {
		return true
	}
	for _, g := range sc.groups {
		if slices.Contains(f.Groups, g) {
			return true
		}
	}
	return false
}

// lineage is the parent chain of one evaluation. The parents of the
// subject being matched are chain[next:], passed alongside.
//
// Nested parent groups (group A wants a parent in group B, whose
// definitions want a parent in group C, each possibly any_ancestor) would
// cost chain-length to the power of the nesting depth if evaluated
// naively; a local user controls the chain, so results of nested group
// checks are memoized per (group, chain position), which bounds the work by
// groups × chain × definitions. The memo is made only when nesting occurs,
// so ordinary evaluations do not allocate.
type lineage struct {
	chain []Subject
	depth int
	memo  map[uint32]bool
}

// groupMatchesAt reports whether chain[j], with its own parents
// chain[j+1:], matches group g.
func (l *lineage) groupMatchesAt(g *group, j int) bool {
	key := uint32(g.id)<<8 | uint32(j) // j < maxParents ≤ 255
	if l.depth > 0 {
		if v, ok := l.memo[key]; ok {
			return v
		}
	}
	l.depth++
	matched := false
	for _, d := range g.defs {
		if d.matches(&l.chain[j], Exec, "", l, j+1) {
			matched = true
			break
		}
	}
	l.depth--
	if l.depth > 0 {
		if l.memo == nil {
			l.memo = make(map[uint32]bool)
		}
		l.memo[key] = matched
	}
	return matched
}

// InstallSoftwareRight is the authorization right macOS asks for to install
// a package (Installer.app, installer(8)).
const InstallSoftwareRight = "system.install.software"

// handles reports whether d applies to an event ev of a subject of type t.
// A package is installed, not executed: a definition that matches program
// starts matches a package in the request to install it, the
// system.install.software authorization request that names it.
func (d *definition) handles(t AppType, ev Event, authURI string) bool {
	return d.event == ev || d.event == Exec && t == Package && ev == AuthRequest && authURI == InstallSoftwareRight
}

func (d *definition) matches(s *Subject, ev Event, authURI string, l *lineage, next int) bool {
	if !d.types.has(s.Type) || !d.handles(s.Type, ev, authURI) {
		return false
	}
	for k := range d.crit {
		if !d.crit[k].eval(s, authURI, l, next) {
			return false
		}
	}
	return true
}

func (c *criterion) eval(s *Subject, authURI string, l *lineage, next int) bool {
	var ok bool
	switch c.field {
	case fieldPath:
		ok = c.str.match(s.Path)
	case fieldArgs:
		ok = c.str.matchArgs(s.Args)
	case fieldSHA1:
		ok = s.SHA1 == c.hash
	case fieldSHA256:
		ok = s.SHA256 == c.hash
	case fieldBundleID:
		ok = c.str.match(s.BundleID)
	case fieldVersion:
		ok = s.Version != "" &&
			(c.ver.min == "" || CompareVersions(s.Version, c.ver.min) >= 0) &&
			(c.ver.max == "" || CompareVersions(s.Version, c.ver.max) <= 0)
	case fieldPublisher:
		ok = c.str.match(s.Publisher)
	case fieldTeamID:
		ok = c.str.match(s.TeamID)
	case fieldSigningID:
		ok = c.str.match(s.SigningID)
	case fieldSource:
		ok = c.str.match(s.Source)
	case fieldAuthURI:
		ok = c.str.match(authURI)
	case fieldProtected:
		ok = s.Protection == Protected
	case fieldParent:
		if c.anyAncestor {
			for j := next; j < len(l.chain); j++ {
				if l.groupMatchesAt(c.parent, j) {
					ok = true
					break
				}
			}
		} else if next < len(l.chain) {
			ok = l.groupMatchesAt(c.parent, next)
		}
	}
	return ok != c.not
}

// matchArgs matches the arguments joined by single spaces. Evaluate runs
// every args criterion it passes on the scan list, not only the deciding
// one, so the literal operators join into a stack buffer instead of
// allocating a string each time. Wildcards, regexes (whose matchers keep
// their input) and command lines longer than the buffer join on the heap.
func (m *stringMatcher) matchArgs(args []string) bool {
	n := len(args) - 1
	for _, a := range args {
		n += len(a)
	}
	var buf [512]byte
	if len(args) < 2 || n > len(buf) || m.op == OpWildcard || m.op == OpRegex {
		return m.match(strings.Join(args, " ")) // does not allocate for fewer than two
	}
	b := buf[:0]
	for i, a := range args {
		if i > 0 {
			b = append(b, ' ')
		}
		b = append(b, a...)
	}
	// string(b) in a comparison does not allocate.
	lit := m.lit
	switch m.op {
	case OpExact:
		return string(b) == lit
	case OpStartsWith:
		return len(b) >= len(lit) && string(b[:len(lit)]) == lit
	case OpEndsWith:
		return len(b) >= len(lit) && string(b[len(b)-len(lit):]) == lit
	case OpContains:
		for i := 0; i+len(lit) <= len(b); i++ {
			if string(b[i:i+len(lit)]) == lit {
				return true
			}
		}
		return false
	}
	return m.match(string(b))
}
