package policy

import (
	"strings"
	"unsafe"
)

// substrIndex finds the entries whose required literal occurs in a query
// string. Criteria no other index can use — publisher contains, team id,
// unanchored regexes with literal text, argument substrings — would
// otherwise be tried one by one on every exec; with it, only those whose
// literal is actually present are.
//
// Each literal (three bytes or longer) is filed under one of its trigrams,
// the one fewest other literals used when it was added, so that literals
// sharing a common stem ("Vendor1", "Vendor2", ...) land in different
// buckets. A query walks its own trigrams; a 64 Ki-bit filter skips
// positions whose trigram no literal was filed under without touching the
// map. A hit is only a candidate: Evaluate still checks the definition.
type substrIndex struct {
	filter  [1 << 10]uint64
	buckets map[string][]substrLit
	counts  map[string]int // trigram use while building
	n       int
}

type substrLit struct {
	lit string
	off int // where the bucket's trigram starts in lit
	id  int32
}

func trigramBit(a, b, c byte) uint32 {
	return (uint32(a)<<16 | uint32(b)<<8 | uint32(c)) * 2654435761 >> 16
}

func (x *substrIndex) add(lit string, id int32) {
	if x.buckets == nil {
		x.buckets = map[string][]substrLit{}
		x.counts = map[string]int{}
	}
	best, bestN := 0, -1
	for i := 0; i+3 <= len(lit); i++ {
		if n := x.counts[lit[i:i+3]]; bestN < 0 || n < bestN {
			best, bestN = i, n
		}
	}
	key := lit[best : best+3]
	x.counts[key]++
	x.buckets[key] = append(x.buckets[key], substrLit{lit: lit, off: best, id: id})
	h := trigramBit(key[0], key[1], key[2])
	x.filter[h>>6] |= 1 << (h & 63)
	x.n++
}

func (x *substrIndex) finish() { x.counts = nil }

// collect appends the ids whose literal occurs in q. An id may be appended
// more than once when its literal occurs more than once.
func (x *substrIndex) collect(q string, out []int32) []int32 {
	if x.n == 0 {
		return out
	}
	for i := 0; i+3 <= len(q); i++ {
		h := trigramBit(q[i], q[i+1], q[i+2])
		if x.filter[h>>6]&(1<<(h&63)) == 0 {
			continue
		}
		for _, l := range x.buckets[q[i:i+3]] {
			start := i - l.off
			if start >= 0 && strings.HasPrefix(q[start:], l.lit) {
				out = append(out, l.id)
			}
		}
	}
	return out
}

// all appends every id, for a query too long to look at cheaply.
func (x *substrIndex) all(out []int32) []int32 {
	for _, b := range x.buckets {
		for _, l := range b {
			out = append(out, l.id)
		}
	}
	return out
}

// substrLiteral returns the literal a positive criterion requires to occur
// in its value, or "" when there is none (or it is shorter than a trigram).
func substrLiteral(c *criterion) string {
	if c.not || c.str == nil {
		return ""
	}
	var lit string
	switch c.str.op {
	case OpContains, OpExact, OpStartsWith, OpEndsWith:
		lit = c.str.lit
	case OpRegex:
		lit = c.str.need()
	case OpWildcard:
		lit = c.str.prefix()
		if len(c.str.suffix()) > len(lit) {
			lit = c.str.suffix()
		}
	}
	if len(lit) < 3 {
		return ""
	}
	return lit
}

// unsafeString views b as a string without copying. The string must not
// outlive b or see it change; collect keeps nothing of its query.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
