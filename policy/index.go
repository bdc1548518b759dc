package policy

import (
	"slices"
	"sort"
	"strings"
)

// affixIndex finds every stored key that is a prefix (or, with suffix set, a
// suffix) of a query string, without allocating. Keys are kept sorted (for
// suffixes, by their reversed text) and each key knows its parent: the
// longest other key that is its own prefix. The largest key not above the
// query is found by binary search; every key that is a prefix of the query
// lies on that key's parent chain (any such key p satisfies p ≤ k ≤ q, which
// forces k to start with p).
type affixIndex struct {
	suffix  bool
	pending []posting
	keys    []string // for suffixes, reversed text
	ids     [][]int32
	parent  []int32
}

func (x *affixIndex) add(key string, id int32) {
	x.pending = append(x.pending, posting{key, id})
}

func (x *affixIndex) finish() {
	type kv struct {
		key string
		ids []int32
	}
	if x.suffix {
		// The reversed keys, in one allocation.
		var b strings.Builder
		for _, p := range x.pending {
			b.WriteString(p.key)
		}
		rev := []byte(b.String())
		at := 0
		for i := range x.pending {
			n := len(x.pending[i].key)
			slices.Reverse(rev[at : at+n])
			at += n
		}
		s, at := string(rev), 0
		for i := range x.pending {
			n := len(x.pending[i].key)
			x.pending[i].key = s[at : at+n]
			at += n
		}
	}
	m := postings(x.pending)
	all := make([]kv, 0, len(m))
	for k, v := range m {
		all = append(all, kv{k, v})
	}
	slices.SortFunc(all, func(a, b kv) int { return strings.Compare(a.key, b.key) })
	x.keys = make([]string, len(all))
	x.ids = make([][]int32, len(all))
	x.parent = make([]int32, len(all))
	var stack []int32
	for i, e := range all {
		x.keys[i], x.ids[i] = e.key, e.ids
		for len(stack) > 0 && !strings.HasPrefix(e.key, x.keys[stack[len(stack)-1]]) {
			stack = stack[:len(stack)-1]
		}
		x.parent[i] = -1
		if len(stack) > 0 {
			x.parent[i] = stack[len(stack)-1]
		}
		stack = append(stack, int32(i))
	}
	x.pending = nil
}

func (x *affixIndex) count() (n int) {
	for _, v := range x.ids {
		n += len(v)
	}
	return n
}

// cmpQuery compares stored key k with query q in the index's order.
func (x *affixIndex) cmpQuery(k, q string) int {
	if !x.suffix {
		return strings.Compare(k, q)
	}
	n := min(len(k), len(q))
	for i := 0; i < n; i++ {
		a, b := k[i], q[len(q)-1-i]
		if a != b {
			if a < b {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(k) < len(q):
		return -1
	case len(k) > len(q):
		return 1
	}
	return 0
}

func (x *affixIndex) isAffix(k, q string) bool {
	if len(k) > len(q) {
		return false
	}
	if !x.suffix {
		return q[:len(k)] == k
	}
	for i := 0; i < len(k); i++ {
		if k[i] != q[len(q)-1-i] {
			return false
		}
	}
	return true
}

// collect appends the ids of every key that is an affix of q.
func (x *affixIndex) collect(q string, out []int32) []int32 {
	if len(x.keys) == 0 {
		return out
	}
	// Largest key ≤ q.
	k := sort.Search(len(x.keys), func(i int) bool { return x.cmpQuery(x.keys[i], q) > 0 }) - 1
	for k >= 0 && !x.isAffix(x.keys[k], q) {
		k = int(x.parent[k])
	}
	for ; k >= 0; k = int(x.parent[k]) {
		out = append(out, x.ids[k]...)
	}
	return out
}

// buildIndexes places every entry in exactly one index (or the scan list),
// choosing the most selective positive criterion of its definition.
func (e *Engine) buildIndexes() {
	n := 0
	for _, r := range e.rules {
		n += len(r.group.defs)
	}
	e.entries = make([]entry, 0, n)
	for _, r := range e.rules {
		for _, d := range r.group.defs {
			e.entries = append(e.entries, entry{rule: &e.rules[r.index-1], def: d})
		}
	}
	var sha256, sha1, exactPath, bundleID []posting
	for i, en := range e.entries {
		id := int32(i)
		var (
			best     *criterion
			bestRank = 99
			bestLit  string
		)
		for k := range en.def.crit {
			c := &en.def.crit[k]
			if c.not {
				continue
			}
			rank := 99
			switch {
			case c.field == fieldSHA256:
				rank = 0
			case c.field == fieldSHA1:
				rank = 1
			case c.field == fieldPath && c.str.op == OpExact:
				rank = 2
			case c.field == fieldBundleID && c.str.op == OpExact && c.str.lit != "":
				// Evaluate looks up bundle ids only when the subject has
				// one, so `exact: ""` (no bundle id) must be scanned.
				rank = 3
			case c.field == fieldPath && c.str.prefix() != "":
				rank = 4
			case c.field == fieldPath && c.str.suffix() != "":
				rank = 5
			case substrField(c.field) && substrLiteral(c) != "":
				// The longest required literal is the most selective.
				rank = 6
				if bestRank == 6 && len(substrLiteral(c)) <= len(bestLit) {
					continue
				}
				if bestRank == 6 {
					// A longer literal of another field: file the entry
					// under this field, with this literal (the two must
					// go together, or the lookup misses it).
					best, bestLit = c, substrLiteral(c)
					continue
				}
				bestLit = substrLiteral(c)
			}
			if rank < bestRank || (rank == bestRank && rank == 4 && len(c.str.prefix()) > len(best.str.prefix())) {
				best, bestRank = c, rank
			}
		}
		switch bestRank {
		case 0:
			sha256 = append(sha256, posting{best.hash, id})
		case 1:
			sha1 = append(sha1, posting{best.hash, id})
		case 2:
			exactPath = append(exactPath, posting{best.str.lit, id})
		case 3:
			bundleID = append(bundleID, posting{best.str.lit, id})
		case 4:
			e.prefix.add(best.str.prefix(), id)
		case 5:
			e.suffix.add(best.str.suffix(), id)
		case 6:
			if e.substr[best.field] == nil {
				e.substr[best.field] = &substrIndex{}
			}
			e.substr[best.field].add(bestLit, id)
		default:
			e.scan = append(e.scan, id)
		}
	}
	e.sha256, e.sha1 = postings(sha256), postings(sha1)
	e.exactPath, e.bundleID = postings(exactPath), postings(bundleID)
	e.prefix.finish()
	e.suffix.finish()
	for _, x := range e.substr {
		if x != nil {
			x.finish()
		}
	}
}

// substrField reports whether Evaluate looks fields of this kind up in a
// substrIndex.
func substrField(f field) bool {
	switch f {
	case fieldPath, fieldArgs, fieldBundleID, fieldPublisher, fieldTeamID, fieldSigningID, fieldSource, fieldAuthURI:
		return true
	}
	return false
}
