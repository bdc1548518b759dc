package policy

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Engine is a compiled policy. It is immutable and safe for concurrent use;
// swap a new one in atomically to reload.
type Engine struct {
	id       string
	revision int64

	rules    []rule
	admin    []adminEntry // admin_sessions, in order
	fallback rule         // the default decision; index 0
	// moveFallback decides an install or delete no rule names: allowed,
	// not recorded. The default is for program starts and authorization
	// requests; applied to bundle moves, a deny default would stop every
	// app's updater.
	moveFallback rule
	groups       []group // by id

	// entries flatten (rule, definition) pairs in evaluation order: rule
	// order first, then definition order within the rule's group. An entry's
	// position is its priority; the lowest matching position wins.
	entries []entry

	exactPath map[string][]int32
	sha1      map[string][]int32
	sha256    map[string][]int32
	bundleID  map[string][]int32
	prefix    affixIndex
	suffix    affixIndex
	// substr indexes required literals per field (see substrIndex); nil
	// for fields no entry is filed under.
	substr [len(fieldNames)]*substrIndex
	// scan holds entries no index can pick; they are checked in order.
	scan []int32

	needs Needs
}

// Needs says which per-exec facts a policy looks at, so the enforcer can
// skip gathering the costly ones (arguments from /proc, the parent chain)
// when no criterion uses them.
type Needs struct {
	Args    bool
	Parents bool
	// Source: a criterion looks at the download source, which lives in an
	// extended attribute that can change without the file's contents.
	Source bool
	// SHA1: a criterion compares SHA-1 hashes (of the program or of a
	// parent). Without one, callers need not compute SHA-1 at all.
	SHA1 bool
	// Protection: a criterion looks at whether users could have put the
	// program where it is (Subject.Protection), which is read from the
	// folders above it for each event.
	Protection bool
	// ParentFacts: a group used by a parent criterion looks at more of a
	// parent than its path (a hash, a signature, a type other than
	// binary), so a chain known by its paths alone cannot decide it.
	ParentFacts bool
	// User: a rule is scoped to users or groups, so who runs the program
	// can decide it. EvaluateLazy asks for the user (Facts.UID, User,
	// Groups) before the first scoped rule it must look at.
	User bool
	// Content: a criterion looks at what the file holds — a hash, a
	// signature or version read from it, or a type (binary, script) that
	// not every definition allows alike — so an allow is a statement about
	// the bytes decided, and a file its owner can rewrite must be held
	// unchanged until the exec has them.
	Content bool
	// Signature: a criterion looks at the code signature (publisher, team
	// id, signing id), which is read from a Mach-O file and verified there
	// (facts/codesign) unless the kernel reports it.
	Signature bool
	// Install and Delete: a definition matches the install of a bundle
	// into /Applications, or its deletion from there, so the source must
	// hold those moves (otherwise every one is allowed unasked).
	Install, Delete bool
}

// contentField reports whether a criterion on f is decided by the file's
// contents.
func contentField(f field) bool {
	switch f {
	case fieldSHA1, fieldSHA256, fieldPublisher, fieldTeamID, fieldSigningID, fieldVersion, fieldBundleID:
		return true
	}
	return false
}

// Needs reports which per-exec facts the policy uses.
func (e *Engine) Needs() Needs { return e.needs }

// The compiled structs below are kept small and their rarely used parts
// behind pointers: a 10,000-rule policy has about 20,000 definitions and as
// many criteria, resident for the daemon's lifetime. Source positions are
// kept only where Explain reports them (definitions); the compiler takes
// the others from the Document.

type rule struct {
	index   int // 1-based; 0 is the default
	name    string
	group   *group
	message *MessageTemplate
	scope   *ruleScope // nil: every user
	minJust int32
	// approvers is how many approvals the console needs (0: one).
	approvers int32
	action    Action
	require   Action
	audit     bool
}

// ruleScope lists the users a rule applies to (or excludes).
type ruleScope struct {
	users, groups, exUsers, exGroups []string
}

type group struct {
	id   int // position in the document; keys lineage's memo
	name string
	defs []*definition
}

type field uint8

const (
	fieldUnset field = iota
	fieldPath
	fieldArgs
	fieldSHA1
	fieldSHA256
	fieldBundleID
	fieldVersion
	fieldPublisher
	fieldTeamID
	fieldSigningID
	fieldSource
	fieldParent
	fieldAuthURI
	fieldInstall
	fieldDelete
	fieldProtected
)

var fieldNames = [...]string{"", "path", "args", "sha1", "sha256", "bundle_id", "version", "publisher", "team_id", "signing_id", "source", "parent", "auth_uri", "install", "delete", "protected"}

func (f field) String() string { return fieldNames[f] }

type typeSet uint8

func typeBit(t AppType) typeSet { return 1 << t }

func (s typeSet) has(t AppType) bool { return s&typeBit(t) != 0 }

func typesOf(ts ...AppType) typeSet {
	var s typeSet
	for _, t := range ts {
		s |= typeBit(t)
	}
	return s
}

// allTypes includes TypeUnknown: a definition without a type list matches
// programs whose type could not be determined.
const allTypes typeSet = 1<<(SystemPreference+1) - 1

// fieldTypes says which application types each criterion applies to, as the
// reference application-definition document lists them. One deliberate
// extension: source also applies to binaries, scripts and packages, because
// both macOS (kMDItemWhereFroms) and Linux (user.xdg.origin.url) record the
// download URL on any downloaded file.
var fieldTypes = map[field]typeSet{
	fieldPath:      typesOf(Binary, Bundle, Package, SystemPreference, SudoCommand, Script),
	fieldArgs:      typesOf(Binary, Script, SudoCommand),
	fieldSHA1:      typesOf(Binary, Bundle, Package, SystemPreference, SudoCommand, Script),
	fieldSHA256:    typesOf(Binary, Bundle, Package, SystemPreference, SudoCommand, Script),
	fieldBundleID:  typesOf(Bundle),
	fieldVersion:   typesOf(Bundle, SystemPreference),
	fieldPublisher: typesOf(Binary, Bundle, Package, SystemPreference, SudoCommand),
	fieldTeamID:    typesOf(Binary, Bundle, Package, SystemPreference, SudoCommand),
	fieldSigningID: typesOf(Binary, Bundle, Package, SystemPreference, SudoCommand),
	fieldSource:    typesOf(Bundle, SystemPreference, Binary, Script, Package),
	fieldParent:    typesOf(Binary, Bundle, SudoCommand, Script),
	fieldAuthURI:   typesOf(Binary, Bundle, SystemPreference),
	fieldInstall:   typesOf(Bundle),
	fieldDelete:    typesOf(Bundle),
	fieldProtected: allTypes,
}

func (s typeSet) names() string {
	var out []string
	for t := Binary; t <= SystemPreference; t++ {
		if s.has(t) {
			out = append(out, t.String())
		}
	}
	return strings.Join(out, ", ")
}

type definition struct {
	group *group
	pos   Pos
	// crit is ordered cheapest first for Evaluate; Explain reports in the
	// same order.
	crit  []criterion
	index int32 // 1-based within the group
	types typeSet
	event Event
	// needs says whether crit looks at the arguments or the parent chain,
	// which EvaluateLazy gathers only for definitions that need them.
	needs Needs
}

// criterion is one test of a definition; which of str, hash, ver and
// parent is set depends on field.
type criterion struct {
	field       field
	not         bool
	anyAncestor bool // parent criteria
	str         *stringMatcher
	hash        string
	ver         *versionRange
	parent      *group
}

type versionRange struct {
	min, max string // "" when open
}

type entry struct {
	rule *rule
	def  *definition
}

// cost orders criteria so cheap ones reject first.
func (c *criterion) cost() int {
	switch c.field {
	case fieldSHA1, fieldSHA256:
		return 0
	case fieldVersion:
		return 2
	case fieldParent:
		return 4
	case fieldProtected:
		return 5 // a stat of every folder above the file
	}
	if c.str != nil && (c.str.op == OpRegex || c.str.op == OpWildcard) {
		return 3
	}
	if c.field == fieldArgs {
		return 3 // joins the arguments
	}
	return 1
}

// ID returns the policy id.
func (e *Engine) ID() string { return e.id }

// Revision returns the policy revision.
func (e *Engine) Revision() int64 { return e.revision }

// Stats describes the compiled policy's size and how its indexes split it.
type Stats struct {
	Rules, Groups, Entries                          int
	ExactPath, Hash, BundleID, Prefix, Suffix, Scan int
	// Substring counts entries filed under a required literal.
	Substring int
}

// Stats reports sizes, for logs and benchmarks.
func (e *Engine) Stats() Stats {
	s := Stats{Rules: len(e.rules), Groups: len(e.groups), Entries: len(e.entries), Scan: len(e.scan)}
	count := func(m map[string][]int32) (n int) {
		for _, v := range m {
			n += len(v)
		}
		return n
	}
	s.ExactPath = count(e.exactPath)
	s.Hash = count(e.sha1) + count(e.sha256)
	s.BundleID = count(e.bundleID)
	s.Prefix = e.prefix.count()
	s.Suffix = e.suffix.count()
	for _, x := range e.substr {
		if x != nil {
			s.Substring += x.n
		}
	}
	return s
}

// compiler gathers diagnostics while building an Engine.
type compiler struct {
	doc   *Document
	diags Diagnostics
	// groups by name, while compiling; the Engine keeps them by id.
	groups map[string]*group
}

func (c *compiler) errorf(pos Pos, where, format string, args ...any) {
	c.diags = append(c.diags, Diagnostic{Pos: pos, Severity: SeverityError, Where: where, Message: fmt.Sprintf(format, args...)})
}

func (c *compiler) warnf(pos Pos, where, format string, args ...any) {
	c.diags = append(c.diags, Diagnostic{Pos: pos, Severity: SeverityWarning, Where: where, Message: fmt.Sprintf(format, args...)})
}

// Compile checks a document and builds its Engine. It reports every problem
// it finds, not just the first; the Engine is nil when any is an error.
func Compile(doc *Document) (*Engine, Diagnostics) {
	c := &compiler{doc: doc, groups: make(map[string]*group, len(doc.Groups))}
	e := &Engine{
		id:        doc.ID,
		revision:  doc.Revision,
		exactPath: map[string][]int32{},
		sha1:      map[string][]int32{},
		sha256:    map[string][]int32{},
		bundleID:  map[string][]int32{},
		prefix:    affixIndex{},
		suffix:    affixIndex{suffix: true},
	}
	if strings.TrimSpace(doc.ID) == "" {
		c.errorf(doc.Pos, "id", "the policy has no id; add `id: <name>` so every decision can name the policy that made it")
	}
	if doc.Revision < 1 {
		c.errorf(doc.Pos, "revision", "the policy has no revision (got %d); add `revision: 1` and raise it on every change", doc.Revision)
	}

	// Groups first (by name), so definitions can refer to any group.
	groupNames := make([]string, 0, len(doc.Groups))
	firstPos := map[string]Pos{}
	for i := range doc.Groups {
		g := &doc.Groups[i]
		where := fmt.Sprintf("group %d", i+1)
		if g.Name == "" {
			c.errorf(g.Pos, where, "the group has no name; add `name: <name>`")
			continue
		}
		if p, dup := firstPos[g.Name]; dup {
			c.errorf(g.Pos, fmt.Sprintf("group %q", g.Name), "duplicate group name; the first is at %s; rename one of them", p)
			continue
		}
		firstPos[g.Name] = g.Pos
		groupNames = append(groupNames, g.Name)
		c.groups[g.Name] = &group{id: len(groupNames) - 1, name: g.Name}
	}
	for i := range doc.Groups {
		g := &doc.Groups[i]
		cg := c.groups[g.Name]
		if cg == nil || len(cg.defs) > 0 || firstPos[g.Name] != g.Pos {
			continue
		}
		if len(g.Definitions) == 0 {
			c.errorf(g.Pos, fmt.Sprintf("group %q", g.Name), "the group has no definitions, so it can never match; add at least one definition")
		}
		for j := range g.Definitions {
			if d := c.definition(e, cg, j+1, &g.Definitions[j], groupNames); d != nil {
				cg.defs = append(cg.defs, d)
			}
		}
	}
	c.checkParentCycles(e)

	// The default decision.
	e.fallback = rule{action: Allow, audit: true}
	e.moveFallback = rule{action: Allow}
	if doc.Default.Action != "" {
		if a, ok := c.action(doc.Default.Action, doc.Default.Pos, "default"); ok {
			e.fallback.action = a
		}
	}
	if doc.Default.Audit != nil {
		e.fallback.audit = *doc.Default.Audit
	}
	e.fallback.message = c.message(doc.Default.Message, "default message")

	if len(doc.Rules) == 0 {
		c.warnf(doc.Pos, "rules", "the policy has no rules, so every program gets the default (%s); add rules or remove this policy", e.fallback.action)
	}
	unscoped := map[string]int{}
	e.rules = make([]rule, 0, len(doc.Rules))
	for i := range doc.Rules {
		r := c.rule(e, i+1, &doc.Rules[i], groupNames)
		if r == nil {
			continue
		}
		if prev, ok := unscoped[r.group.name]; ok {
			c.warnf(doc.Rules[i].Pos, fmt.Sprintf("rule %d", i+1), "this rule can never match: rule %d already takes every program in group %q for every user; move it above rule %d or scope the earlier rule", prev, r.group.name, prev)
		} else if r.scope == nil {
			unscoped[r.group.name] = r.index
		}
		c.checkMoveAction(r, ruleName(i+1, &doc.Rules[i]))
		c.checkElevate(r, ruleName(i+1, &doc.Rules[i]))
		e.rules = append(e.rules, *r)
		e.needs.User = e.needs.User || r.scope != nil
	}
	c.checkPublisherTrust(e)
	c.checkNameOnlyAllows(e)
	c.adminSessions(e)

	c.checkUnused()
	parentGroups := map[*group]bool{}
	for _, g := range c.groups {
		for _, d := range g.defs {
			for _, cr := range d.crit {
				d.needs.Args = d.needs.Args || cr.field == fieldArgs
				d.needs.Parents = d.needs.Parents || cr.field == fieldParent
				d.needs.Protection = d.needs.Protection || cr.field == fieldProtected
				if cr.field == fieldParent {
					parentGroups[cr.parent] = true
				}
			}
			e.needs.Args = e.needs.Args || d.needs.Args
			e.needs.Parents = e.needs.Parents || d.needs.Parents
			e.needs.Protection = e.needs.Protection || d.needs.Protection
			for _, cr := range d.crit {
				e.needs.Source = e.needs.Source || cr.field == fieldSource
				e.needs.SHA1 = e.needs.SHA1 || cr.field == fieldSHA1
				e.needs.Content = e.needs.Content || contentField(cr.field)
				e.needs.Signature = e.needs.Signature || cr.field == fieldPublisher || cr.field == fieldTeamID || cr.field == fieldSigningID
			}
			e.needs.Content = e.needs.Content || d.types.has(Binary) != d.types.has(Script)
			e.needs.Install = e.needs.Install || d.event == Install
			e.needs.Delete = e.needs.Delete || d.event == Delete
		}
	}
	for g := range parentGroups {
		for _, d := range g.defs {
			// A parent's protection is never read (its criterion fails
			// on every parent), so paths alone lose nothing there.
			e.needs.ParentFacts = e.needs.ParentFacts || !d.types.has(Binary) ||
				slices.ContainsFunc(d.crit, func(cr criterion) bool {
					return cr.field != fieldPath && cr.field != fieldParent && cr.field != fieldProtected
				})
		}
	}

	c.diags.Sort()
	if c.diags.HasErrors() {
		return nil, c.diags
	}
	e.compact(c.groups)
	e.buildIndexes()
	return e, c.diags
}

func (c *compiler) action(s string, pos Pos, where string) (Action, bool) {
	a, ok := ParseAction(s)
	if !ok {
		c.errorf(pos, where, "unknown action %q%s; valid actions: %s", s, didYouMean(s, ActionNames()), strings.Join(ActionNames(), ", "))
	}
	return a, ok
}

// ruleName names rule index (1-based) for diagnostics.
func ruleName(index int, r *Rule) string {
	if r.Name != "" {
		return fmt.Sprintf("rule %d %q", index, r.Name)
	}
	return fmt.Sprintf("rule %d", index)
}

// checkMoveAction refuses a rule that would ask about an install or a
// delete: those are answered while the file operation waits in the kernel,
// and there is no program to relaunch once someone answers, so only allow,
// audit and the deny actions apply to them.
func (c *compiler) checkMoveAction(r *rule, where string) {
	switch r.action {
	case Allow, Audit, Deny, DenyNotify, DenyMessage:
		return
	}
	for _, d := range r.group.defs {
		if d.event == Install || d.event == Delete {
			c.errorf(d.pos, where, "action %s cannot apply to the %s definition %d of group %q: an install or delete is allowed or denied while it waits, with no program to relaunch after an answer; give such definitions their own group and a rule with action allow, audit or deny",
				r.action, d.event, d.index, r.group.name)
			return
		}
	}
}

// checkElevate refuses elevate where it cannot apply: it runs a sudo
// command as root once its requirement is met, so every definition of its
// group must be of type sudo (admin sessions have their own section). On
// any other program it would be an allow that ignores its requirement.
func (c *compiler) checkElevate(r *rule, where string) {
	if r.action != Elevate {
		return
	}
	for _, d := range r.group.defs {
		if d.event != Exec || d.types&^typeBit(SudoCommand) != 0 {
			c.errorf(d.pos, where, "action elevate applies only to sudo commands, and definition %d of group %q also matches other programs: add `type: sudo` to it (a command run with `gatehouse sudo`), or use allow, justification or approval for programs that run without sudo; admin sessions are granted under admin_sessions",
				d.index, r.group.name)
			return
		}
	}
}

func (c *compiler) rule(e *Engine, index int, r *Rule, groupNames []string) *rule {
	where := ruleName(index, r)
	out := &rule{index: index, name: r.Name, audit: true, minJust: int32(min(r.MinJustification, math.MaxInt32))}
	ok := true
	if r.Group == "" {
		c.errorf(r.Pos, where, "the rule names no group; add `group: <group name>`")
		ok = false
	} else if g := c.groups[r.Group]; g == nil {
		c.errorf(r.Pos, where, "unknown group %q%s", r.Group, didYouMean(r.Group, groupNames))
		ok = false
	} else {
		out.group = g
	}
	if r.Action == "" {
		c.errorf(r.Pos, where, "the rule has no action; add `action: <%s>`", strings.Join(ActionNames(), "|"))
		ok = false
	} else if a, good := c.action(r.Action, r.Pos, where); good {
		out.action = a
	} else {
		ok = false
	}
	if r.Audit != nil {
		out.audit = *r.Audit
		if out.action == Audit && !*r.Audit {
			c.errorf(r.Pos, where, "action audit with `audit: false` contradicts itself; use action allow to run without logging")
		}
	}
	switch r.Require {
	case "", "none":
	case "justification":
		out.require = Justification
	case "approval":
		out.require = Approval
	case "approval_offline":
		out.require = ApprovalOffline
	default:
		c.errorf(r.Pos, where, "unknown require %q%s; use none, justification, approval or approval_offline", r.Require, didYouMean(r.Require, []string{"none", "justification", "approval", "approval_offline"}))
	}
	if r.Require != "" && out.action != Elevate && out.action != ActionUnset {
		c.errorf(r.Pos, where, "require applies only to action elevate; for action %s remove it", out.action)
	}
	switch {
	case r.Approvers < 0 || r.Approvers > 10:
		c.errorf(r.Pos, where, "approvers must be 1 to 10, got %d", r.Approvers)
	case r.Approvers > 0 && !takesApproval(out.action, out.require):
		c.errorf(r.Pos, where, "approvers applies to approval, approval_offline and elevate with require: approval; for action %s remove it", out.action)
	default:
		out.approvers = int32(r.Approvers)
	}
	if r.MinJustification < 0 {
		c.errorf(r.Pos, where, "min_justification must be 0 or more, got %d", r.MinJustification)
	} else if r.MinJustification > 0 && !takesJustification(out.action, out.require) {
		c.warnf(r.Pos, where, "min_justification has no effect on action %s; it applies to justification, approval and elevate with require", out.action)
	}
	out.message = c.message(r.Message, where+": message")
	scope := func(list []string, key string) []string {
		for _, u := range list {
			if strings.TrimSpace(u) == "" {
				c.errorf(r.Pos, where, "%s has an empty name; remove it", key)
			}
		}
		return list
	}
	sc := ruleScope{
		users:    scope(r.Users, "users"),
		groups:   scope(r.UserGroups, "user_groups"),
		exUsers:  scope(r.ExcludeUsers, "exclude_users"),
		exGroups: scope(r.ExcludeGroups, "exclude_user_groups"),
	}
	if len(sc.users)+len(sc.groups)+len(sc.exUsers)+len(sc.exGroups) > 0 {
		out.scope = &sc
	}
	if !ok {
		return nil
	}
	return out
}

// takesApproval reports whether a rule's decision goes to approvers.
func takesApproval(a, require Action) bool {
	switch a {
	case Approval, ApprovalOffline:
		return true
	case Elevate:
		return require == Approval || require == ApprovalOffline
	}
	return false
}

func takesJustification(a, require Action) bool {
	switch a {
	case Justification, Approval, ApprovalOffline:
		return true
	case Elevate:
		return require != ActionUnset
	}
	return false
}

func (c *compiler) definition(e *Engine, g *group, index int, d *Definition, groupNames []string) *definition {
	where := fmt.Sprintf("group %q definition %d", g.name, index)
	out := &definition{group: g, index: int32(index), pos: d.Pos, event: Exec}
	ok := true
	if len(d.Type) == 0 {
		out.types = allTypes
	}
	for _, tn := range d.Type {
		t, good := ParseType(tn)
		if !good {
			c.errorf(d.Pos, where+": type", "unknown application type %q%s; valid types: %s", tn, didYouMean(tn, TypeNames()), strings.Join(TypeNames(), ", "))
			ok = false
			continue
		}
		out.types |= typeBit(t)
	}
	checkTypes := func(f field, pos Pos) bool {
		valid := fieldTypes[f]
		bad := out.types &^ valid &^ typeBit(TypeUnknown)
		if bad == 0 {
			return true
		}
		if len(d.Type) == 0 {
			c.errorf(pos, where+": "+f.String(), "%s applies only to %s; add `type: [%s]` to the definition", f, valid.names(), valid.names())
		} else {
			c.errorf(pos, where+": "+f.String(), "%s does not apply to type %s (it applies to %s); remove the criterion or the type", f, bad.names(), valid.names())
		}
		return false
	}
	addStr := func(f field, m *StringMatch) {
		if m == nil {
			return
		}
		if !checkTypes(f, m.Pos) {
			ok = false
			return
		}
		sm, err := c.stringMatch(m, where+": "+f.String())
		if err {
			ok = false
			return
		}
		if f == fieldPath && sm.op == OpRegex && !regexAnchoredStart(sm.lit) {
			c.warnf(m.Pos, where+": path", "regex %q is not anchored with ^, so it also matches any path that merely contains a match (one under /tmp, say); start it with ^ to match from the beginning", sm.lit)
		}
		out.crit = append(out.crit, criterion{field: f, not: m.Not, str: sm})
	}
	addHash := func(f field, h *HashMatch, hexLen int) {
		if h == nil {
			return
		}
		if !checkTypes(f, h.Pos) {
			ok = false
			return
		}
		v := strings.ToLower(strings.TrimSpace(h.Value))
		if len(v) != hexLen || strings.Trim(v, "0123456789abcdef") != "" {
			c.errorf(h.Pos, where+": "+f.String(), "%q is not a %s hash; expected %d hexadecimal digits", h.Value, f, hexLen)
			ok = false
			return
		}
		out.crit = append(out.crit, criterion{field: f, not: h.Not, hash: v})
	}
	addStr(fieldPath, d.Path)
	addStr(fieldArgs, d.Args)
	addHash(fieldSHA1, d.SHA1, 40)
	addHash(fieldSHA256, d.SHA256, 64)
	addStr(fieldBundleID, d.BundleID)
	if v := d.Version; v != nil {
		if checkTypes(fieldVersion, v.Pos) {
			switch {
			case v.Min == "" && v.Max == "":
				c.errorf(v.Pos, where+": version", "version needs min, max or both")
				ok = false
			case v.Min != "" && v.Max != "" && CompareVersions(v.Min, v.Max) > 0:
				c.errorf(v.Pos, where+": version", "min %q is above max %q, so nothing can match; swap them", v.Min, v.Max)
				ok = false
			default:
				out.crit = append(out.crit, criterion{field: fieldVersion, not: v.Not, ver: &versionRange{min: v.Min, max: v.Max}})
			}
		} else {
			ok = false
		}
	}
	addStr(fieldPublisher, (*StringMatch)(d.Publisher))
	addStr(fieldTeamID, d.TeamID)
	addStr(fieldSigningID, d.SigningID)
	addStr(fieldSource, (*StringMatch)(d.Source))
	if p := d.Parent; p != nil {
		pg := c.groups[p.Group]
		switch {
		case !checkTypes(fieldParent, p.Pos):
			ok = false
		case p.Group == "":
			c.errorf(p.Pos, where+": parent", "parent names no group; add `group: <group name>`")
			ok = false
		case pg == nil:
			c.errorf(p.Pos, where+": parent", "unknown group %q%s", p.Group, didYouMean(p.Group, groupNames))
			ok = false
		default:
			out.crit = append(out.crit, criterion{field: fieldParent, not: p.Not, parent: pg, anyAncestor: p.AnyAncestor})
		}
	}
	if d.AuthURI != nil {
		if out.types.has(Package) && len(d.Type) > 0 {
			c.errorf(d.AuthURI.Pos, where+": auth_uri", "package definitions always match the system.install.software request; remove auth_uri or the package type")
			ok = false
		} else {
			addStr(fieldAuthURI, d.AuthURI)
			out.event = AuthRequest
		}
	}
	if d.Protected != nil {
		out.crit = append(out.crit, criterion{field: fieldProtected, not: !*d.Protected})
	}
	install, del := d.Install != nil && *d.Install, d.Delete != nil && *d.Delete
	for _, b := range []struct {
		f   field
		set *bool
	}{{fieldInstall, d.Install}, {fieldDelete, d.Delete}} {
		// false is the same as leaving the key out, so only true is checked.
		if b.set != nil && *b.set && !checkTypes(b.f, d.Pos) {
			ok = false
		}
	}
	switch {
	case install && del:
		c.errorf(d.Pos, where, "install and delete are both true, but one event is never both; split them into two definitions")
		ok = false
	case (install || del) && d.AuthURI != nil:
		c.errorf(d.Pos, where, "auth_uri matches authorization requests and install/delete match bundle moves; one event is never both, so split them into two definitions")
		ok = false
	case install:
		out.event = Install
	case del:
		out.event = Delete
	}
	if len(d.Type) == 0 && len(out.crit) == 0 && out.event == Exec && ok {
		c.warnf(d.Pos, where, "the definition has no type and no criteria, so it matches every program")
	}
	slices.SortStableFunc(out.crit, func(a, b criterion) int { return a.cost() - b.cost() })
	out.crit = slices.Clip(out.crit)
	if !ok {
		return nil
	}
	return out
}

// stringMatch compiles one StringMatch; bad reports whether it failed.
func (c *compiler) stringMatch(m *StringMatch, where string) (sm *stringMatcher, bad bool) {
	var ops []Op
	var vals []string
	for _, o := range []struct {
		op Op
		v  *string
	}{{OpExact, m.Exact}, {OpStartsWith, m.StartsWith}, {OpEndsWith, m.EndsWith}, {OpContains, m.Contains}, {OpWildcard, m.Wildcard}, {OpRegex, m.Regex}} {
		if o.v != nil {
			ops = append(ops, o.op)
			vals = append(vals, *o.v)
		}
	}
	switch len(ops) {
	case 0:
		c.errorf(m.Pos, where, "no operator; use one of exact, starts_with, ends_with, contains, wildcard, regex")
		return nil, true
	case 1:
	default:
		c.errorf(m.Pos, where, "%d operators (%s and %s); a criterion takes exactly one, so split it into two definitions or two criteria", len(ops), ops[0], ops[1])
		return nil, true
	}
	if vals[0] == "" && ops[0] != OpExact {
		c.errorf(m.Pos, where, "%s with an empty value matches everything; remove the criterion or give a value", ops[0])
		return nil, true
	}
	sm, err := compileString(ops[0], vals[0])
	if err != nil {
		c.errorf(m.Pos, where, "%v", err)
		return nil, true
	}
	return sm, false
}

// checkParentCycles rejects groups that reach themselves through parent
// criteria. Evaluation is bounded by the parent chain anyway; a cycle is
// still almost always a mistake, and rejecting it keeps evaluation cost
// predictable.
func (c *compiler) checkParentCycles(e *Engine) {
	const (
		white = iota
		grey
		black
	)
	color := map[*group]int{}
	var stack []*group
	var visit func(g *group)
	visit = func(g *group) {
		color[g] = grey
		stack = append(stack, g)
		for _, d := range g.defs {
			for _, cr := range d.crit {
				if cr.field != fieldParent {
					continue
				}
				switch color[cr.parent] {
				case grey:
					start := slices.Index(stack, cr.parent)
					names := make([]string, 0, len(stack)-start+1)
					for _, s := range stack[start:] {
						names = append(names, fmt.Sprintf("%q", s.name))
					}
					names = append(names, fmt.Sprintf("%q", cr.parent.name))
					c.errorf(c.parentPos(g, d), fmt.Sprintf("group %q definition %d: parent", g.name, d.index),
						"parent groups form a cycle (%s); a group cannot be its own parent, directly or through others", strings.Join(names, " → "))
				case white:
					visit(cr.parent)
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[g] = black
	}
	for i := range c.doc.Groups {
		if g := c.groups[c.doc.Groups[i].Name]; g != nil && color[g] == white {
			visit(g)
		}
	}
}

// parentPos returns the source position of definition d's parent criterion:
// the compiled criterion does not keep it. Only the first group of a name
// is compiled.
func (c *compiler) parentPos(g *group, d *definition) Pos {
	for i := range c.doc.Groups {
		dg := &c.doc.Groups[i]
		if dg.Name != g.name {
			continue
		}
		if k := int(d.index) - 1; k < len(dg.Definitions) && dg.Definitions[k].Parent != nil {
			return dg.Definitions[k].Parent.Pos
		}
		return dg.Pos
	}
	return c.doc.Pos
}

// checkPublisherTrust warns about a rule that lets programs run on a
// publisher matched by "contains" (what a plain string means) without a
// team id in the same definition: anyone can buy a certificate whose name
// contains "Google".
func (c *compiler) checkPublisherTrust(e *Engine) {
	warned := map[*definition]bool{}
	for _, r := range e.rules {
		if !r.action.Permits() {
			continue
		}
		for _, d := range r.group.defs {
			var byContains, team bool
			for _, cr := range d.crit {
				switch {
				case cr.field == fieldPublisher && !cr.not && cr.str.op == OpContains:
					byContains = true
				case cr.field == fieldTeamID && !cr.not:
					team = true
				}
			}
			if byContains && !team && !warned[d] {
				warned[d] = true
				c.warnf(d.pos, fmt.Sprintf("group %q definition %d: publisher", r.group.name, d.index),
					"rule %d lets programs run whose publisher merely contains a text (a plain string means contains); anyone can get a certificate whose name contains it: add the publisher's team_id to this definition, or match the publisher exactly", r.index)
			}
		}
	}
}

// userWritable are locations users can write to on a default system.
var userWritable = []string{"/tmp/", "/var/tmp/", "/dev/shm/", "/run/user/", "/home/", "/media/",
	"/Users/", "/Volumes/", "/private/tmp/", "/private/var/tmp/", "/private/var/folders/"}

// checkNameOnlyAllows warns about a rule that lets programs run by path or
// name alone where users can put files: anyone could put another program
// under that name (the reference documents' pre-approval protection).
func (c *compiler) checkNameOnlyAllows(e *Engine) {
	warned := map[*definition]bool{}
	for _, r := range e.rules {
		if !r.action.Permits() {
			continue
		}
		for _, d := range r.group.defs {
			if warned[d] || d.event != Exec {
				continue
			}
			where := ""
			identified := false
			for _, cr := range d.crit {
				switch {
				case cr.not:
				case cr.field == fieldSHA1, cr.field == fieldSHA256, cr.field == fieldTeamID, cr.field == fieldSigningID,
					cr.field == fieldProtected, cr.field == fieldPublisher && cr.str.op != OpContains:
					identified = true
				case cr.field == fieldPath && (cr.str.op == OpEndsWith || cr.str.op == OpContains):
					where = "anywhere, in folders users can write included"
				case cr.field == fieldPath && (cr.str.op == OpExact || cr.str.op == OpStartsWith) && underUserWritable(cr.str.lit):
					where = "under " + cr.str.lit + ", where users can put files"
				}
			}
			if where != "" && !identified {
				warned[d] = true
				c.warnf(d.pos, fmt.Sprintf("group %q definition %d", r.group.name, d.index),
					"rule %d lets a program run by its path or name alone, %s: anyone who can write there can put another program under that name; add protected: true, a sha256, or a signing identity (team_id)", r.index, where)
			}
		}
	}
}

func underUserWritable(p string) bool {
	if strings.Contains(p, "/Downloads/") || strings.HasSuffix(p, "/Downloads") {
		return true
	}
	for _, w := range userWritable {
		if strings.HasPrefix(p, w) || p+"/" == w {
			return true
		}
	}
	return false
}

// checkUnused warns about groups that no rule and no parent criterion
// refers to: they cost nothing but are usually a forgotten rule. A rule or
// criterion with errors still names its group: the group is not unused,
// the rule is wrong, and that has its own error.
func (c *compiler) checkUnused() {
	used := map[*group]bool{}
	for _, r := range c.doc.Rules {
		if g := c.groups[r.Group]; g != nil {
			used[g] = true
		}
	}
	for i := range c.doc.Groups {
		for _, d := range c.doc.Groups[i].Definitions {
			if d.Parent != nil {
				if g := c.groups[d.Parent.Group]; g != nil {
					used[g] = true
				}
			}
		}
	}
	for i := range c.doc.Groups {
		g := &c.doc.Groups[i]
		if cg := c.groups[g.Name]; cg != nil && !used[cg] && len(g.Definitions) > 0 {
			c.warnf(g.Pos, fmt.Sprintf("group %q", g.Name), "no rule and no parent criterion uses this group; add a rule for it or remove it")
		}
	}
}
