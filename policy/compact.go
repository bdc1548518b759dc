package policy

import (
	"slices"
	"strings"
)

// compact moves what a compiled Engine keeps into a few large allocations:
// one array per kind of struct and one string for all the text. Parsing and
// compiling a large policy allocates many times the compiled size in small
// objects; survivors left scattered among that garbage keep its memory
// pages resident (a 10,000-rule policy: 9 MB live held 16 MB of heap).
// Copied together, they leave whole pages free to hand back. Identical
// strings (group names, paths, hashes) are stored once.
//
// groups are the compiled groups by name, each pointing at its
// definitions; the copies replace every pointer to the originals.
func (e *Engine) compact(groups map[string]*group) {
	var nd, nc, nm, np, nv int
	for _, g := range groups {
		nd += len(g.defs)
		for _, d := range g.defs {
			nc += len(d.crit)
			for _, c := range d.crit {
				if c.str != nil {
					nm++
					if c.str.pat != nil {
						np++
					}
				}
				if c.ver != nil {
					nv++
				}
			}
		}
	}
	var st stringTable
	st.add(&e.id)

	gs := make([]group, len(groups))
	for _, g := range groups {
		gs[g.id] = group{id: g.id, name: g.name, defs: g.defs}
		st.add(&gs[g.id].name)
	}
	moved := func(g *group) *group {
		if g == nil {
			return nil
		}
		return &gs[g.id]
	}
	var (
		defs    = make([]definition, 0, nd)
		defPtrs = make([]*definition, 0, nd)
		crits   = make([]criterion, 0, nc)
		strs    = make([]stringMatcher, 0, nm)
		pats    = make([]pattern, 0, np)
		vers    = make([]versionRange, 0, nv)
	)
	for i := range gs {
		g := &gs[i]
		first := len(defPtrs)
		for _, od := range g.defs {
			defs = append(defs, *od)
			d := &defs[len(defs)-1]
			d.group = g
			st.add(&d.pos.File)
			c0 := len(crits)
			for _, c := range od.crit {
				c.parent = moved(c.parent)
				st.add(&c.hash)
				if m := c.str; m != nil {
					strs = append(strs, stringMatcher{op: m.op, lit: m.lit})
					c.str = &strs[len(strs)-1]
					st.add(&c.str.lit)
					if p := m.pat; p != nil {
						// Field by field: a pattern holds a sync.Once.
						pats = append(pats, pattern{glob: p.glob, prefix: p.prefix, suffix: p.suffix, need: p.need})
						np := &pats[len(pats)-1]
						c.str.pat = np
						st.add(&np.prefix)
						st.add(&np.suffix)
						st.add(&np.need)
					}
				}
				if c.ver != nil {
					vers = append(vers, *c.ver)
					c.ver = &vers[len(vers)-1]
					st.add(&c.ver.min)
					st.add(&c.ver.max)
				}
				crits = append(crits, c)
			}
			d.crit = crits[c0:len(crits):len(crits)]
			defPtrs = append(defPtrs, d)
		}
		g.defs = defPtrs[first:len(defPtrs):len(defPtrs)]
	}
	e.groups = gs

	var ns, nmsg, nparts int
	for _, r := range e.rules {
		if r.scope != nil {
			ns += len(r.scope.users) + len(r.scope.groups) + len(r.scope.exUsers) + len(r.scope.exGroups)
		}
		if t := r.message; t != nil {
			nmsg++
			nparts += len(t.title) + len(t.body) + len(t.url)
		}
	}
	if t := e.fallback.message; t != nil {
		nmsg++
		nparts += len(t.title) + len(t.body) + len(t.url)
	}
	var (
		scopes = make([]ruleScope, 0, len(e.rules))
		names  = make([]string, 0, ns)
		msgs   = make([]MessageTemplate, 0, nmsg)
		parts  = make([]part, 0, nparts)
	)
	strList := func(l []string) []string {
		first := len(names)
		for _, s := range l {
			names = append(names, s)
			st.add(&names[len(names)-1])
		}
		return names[first:len(names):len(names)]
	}
	partList := func(l []part) []part {
		first := len(parts)
		for _, p := range l {
			parts = append(parts, p)
			st.add(&parts[len(parts)-1].lit)
			st.add(&parts[len(parts)-1].ph)
		}
		return parts[first:len(parts):len(parts)]
	}
	message := func(t *MessageTemplate) *MessageTemplate {
		if t == nil {
			return nil
		}
		msgs = append(msgs, MessageTemplate{title: partList(t.title), body: partList(t.body), url: partList(t.url)})
		return &msgs[len(msgs)-1]
	}
	for i := range e.rules {
		r := &e.rules[i]
		r.group = moved(r.group)
		st.add(&r.name)
		if sc := r.scope; sc != nil {
			scopes = append(scopes, ruleScope{users: strList(sc.users), groups: strList(sc.groups), exUsers: strList(sc.exUsers), exGroups: strList(sc.exGroups)})
			r.scope = &scopes[len(scopes)-1]
		}
		r.message = message(r.message)
	}
	e.fallback.message = message(e.fallback.message)
	st.build()
}

// stringTable gathers string fields and stores their text once, in one
// allocation.
type stringTable struct {
	refs []*string
}

func (t *stringTable) add(p *string) {
	if *p != "" {
		t.refs = append(t.refs, p)
	}
}

func (t *stringTable) build() {
	off := make(map[string]int, len(t.refs))
	size := 0
	for _, p := range t.refs {
		if _, ok := off[*p]; !ok {
			off[*p] = -1
			size += len(*p)
		}
	}
	var b strings.Builder
	b.Grow(size)
	for _, p := range t.refs {
		if off[*p] < 0 {
			off[*p] = b.Len()
			b.WriteString(*p)
		}
	}
	all := b.String()
	for _, p := range t.refs {
		o := off[*p]
		*p = all[o : o+len(*p)]
	}
}

// posting files id under key; postings builds an index from them.
type posting struct {
	key string
	id  int32
}

// postings groups ids by key into one shared array, keeping each key's ids
// in the order they were added (ascending: entries are added in order).
func postings(ps []posting) map[string][]int32 {
	if len(ps) == 0 {
		return nil
	}
	slices.SortStableFunc(ps, func(a, b posting) int { return strings.Compare(a.key, b.key) })
	ids := make([]int32, len(ps))
	keys := 0
	for i := range ps {
		ids[i] = ps[i].id
		if i == 0 || ps[i].key != ps[i-1].key {
			keys++
		}
	}
	m := make(map[string][]int32, keys)
	for i := 0; i < len(ps); {
		j := i + 1
		for j < len(ps) && ps[j].key == ps[i].key {
			j++
		}
		m[ps[i].key] = ids[i:j:j]
		i = j
	}
	return m
}
