package policy

import (
	"fmt"
	"strings"
)

// RuleTrace says what one rule made of the facts.
type RuleTrace struct {
	Rule    int    `json:"rule"`
	Name    string `json:"name,omitempty"`
	Group   string `json:"group"`
	Action  Action `json:"action"`
	Matched bool   `json:"matched"`
	// OutOfScope is set when the rule does not apply to this user; its
	// definitions are then not looked at.
	OutOfScope  string            `json:"out_of_scope,omitempty"`
	Definitions []DefinitionTrace `json:"definitions,omitempty"`
}

// DefinitionTrace says why one definition did or did not match.
type DefinitionTrace struct {
	Definition int      `json:"definition"`
	Pos        Pos      `json:"-"`
	Line       int      `json:"line,omitempty"`
	Matched    bool     `json:"matched"`
	Failed     []string `json:"failed,omitempty"`
}

// Explain evaluates f without indexes, rule by rule in order, and records
// why each rule before the deciding one did not match. Its decision is
// always the same as Evaluate's; tests hold the two to that.
func (e *Engine) Explain(f *Facts) (Decision, []RuleTrace) {
	var trace []RuleTrace
	lin := lineage{chain: clampParents(f.Parents)}
	ev := f.Event.normal()
	for i := range e.rules {
		r := &e.rules[i]
		rt := RuleTrace{Rule: r.index, Name: r.name, Group: r.group.name, Action: r.action}
		if why := r.scopeReason(f); why != "" {
			rt.OutOfScope = why
			trace = append(trace, rt)
			continue
		}
		var match *definition
		for _, d := range r.group.defs {
			dt := DefinitionTrace{Definition: int(d.index), Pos: d.pos, Line: d.pos.Line}
			dt.Failed = d.explain(&f.Subject, ev, f.AuthURI, &lin)
			dt.Matched = len(dt.Failed) == 0
			rt.Definitions = append(rt.Definitions, dt)
			if dt.Matched {
				match = d
				break
			}
		}
		rt.Matched = match != nil
		trace = append(trace, rt)
		if match != nil {
			return e.decision(r, match), trace
		}
	}
	return e.decision(e.fallbackFor(ev), nil), trace
}

func (r *rule) scopeReason(f *Facts) string {
	if r.inScope(f) {
		return ""
	}
	sc := r.scope // not nil: a rule without one is in scope
	user := f.User
	if user == "" {
		user = "(unknown user)"
	}
	switch {
	case contains(sc.exUsers, f.User):
		return fmt.Sprintf("user %s is excluded", user)
	case intersects(sc.exGroups, f.Groups):
		return fmt.Sprintf("user %s is in an excluded group (%s)", user, strings.Join(sc.exGroups, ", "))
	}
	var want []string
	if len(sc.users) > 0 {
		want = append(want, "users "+strings.Join(sc.users, ", "))
	}
	if len(sc.groups) > 0 {
		want = append(want, "user groups "+strings.Join(sc.groups, ", "))
	}
	return fmt.Sprintf("user %s is not among %s", user, strings.Join(want, " or "))
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func intersects(a, b []string) bool {
	for _, v := range a {
		if contains(b, v) {
			return true
		}
	}
	return false
}

// explain lists every failing condition of d; none means it matched.
func (d *definition) explain(s *Subject, ev Event, authURI string, l *lineage) []string {
	var failed []string
	if !d.types.has(s.Type) {
		failed = append(failed, fmt.Sprintf("type is %s, the definition wants %s", s.Type, d.types.names()))
	}
	if !d.handles(s.Type, ev, authURI) {
		what := d.event.String()
		if d.event == Exec && d.types.has(Package) {
			what = "exec, and for a package its " + InstallSoftwareRight + " request"
		}
		failed = append(failed, fmt.Sprintf("event is %s, the definition matches %s", ev, what))
	}
	for k := range d.crit {
		c := &d.crit[k]
		if !c.eval(s, authURI, l, 0) {
			failed = append(failed, c.describeFailure(s, authURI, l.chain))
		}
	}
	return failed
}

func (c *criterion) describe() string {
	not := ""
	if c.not {
		not = "not "
	}
	switch c.field {
	case fieldSHA1, fieldSHA256:
		return fmt.Sprintf("%s %s%s", c.field, not, c.hash)
	case fieldVersion:
		return fmt.Sprintf("version %sin [%s, %s]", not, orAny(c.ver.min), orAny(c.ver.max))
	case fieldParent:
		scope := "direct parent"
		if c.anyAncestor {
			scope = "any ancestor"
		}
		return fmt.Sprintf("%s %sin group %q", scope, not, c.parent.name)
	case fieldProtected:
		return fmt.Sprintf("protected: %v", !c.not)
	}
	return fmt.Sprintf("%s %s%s %q", c.field, not, c.str.op, c.str.lit)
}

func orAny(s string) string {
	if s == "" {
		return "any"
	}
	return s
}

func (c *criterion) describeFailure(s *Subject, authURI string, parents []Subject) string {
	var have string
	switch c.field {
	case fieldPath:
		have = s.Path
	case fieldArgs:
		have = strings.Join(s.Args, " ")
	case fieldSHA1:
		have = s.SHA1
	case fieldSHA256:
		have = s.SHA256
	case fieldBundleID:
		have = s.BundleID
	case fieldVersion:
		have = s.Version
	case fieldPublisher:
		have = s.Publisher
	case fieldTeamID:
		have = s.TeamID
	case fieldSigningID:
		have = s.SigningID
	case fieldSource:
		have = s.Source
	case fieldAuthURI:
		have = authURI
	case fieldProtected:
		switch {
		case s.ProtectionDetail != "":
			return fmt.Sprintf("%s: %s", c.describe(), s.ProtectionDetail)
		case s.Protection == Protected:
			return fmt.Sprintf("%s: only root and admins can write where it is", c.describe())
		}
		return fmt.Sprintf("%s: whether users could have put it there is not known", c.describe())
	case fieldParent:
		var names []string
		for _, p := range parents {
			names = append(names, p.Path)
			if !c.anyAncestor {
				break
			}
		}
		if len(names) == 0 {
			return fmt.Sprintf("%s: no parent process known", c.describe())
		}
		return fmt.Sprintf("%s: got %s", c.describe(), strings.Join(names, " ← "))
	}
	if have == "" {
		return fmt.Sprintf("%s: the program has no %s", c.describe(), c.field)
	}
	return fmt.Sprintf("%s: got %q", c.describe(), have)
}
