package policy

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// Op is a string operator.
type Op uint8

const (
	OpUnset Op = iota
	OpExact
	OpStartsWith
	OpEndsWith
	OpContains
	OpWildcard
	OpRegex
)

var opNames = [...]string{"", "exact", "starts_with", "ends_with", "contains", "wildcard", "regex"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// stringMatcher is a compiled StringMatch without its negation. What only
// wildcards and regexes need is behind pat, nil for the literal operators,
// which are most of a large policy's criteria.
type stringMatcher struct {
	op  Op
	lit string
	pat *pattern
}

// pattern is the compiled form of a wildcard or a regex.
type pattern struct {
	glob *glob
	// re is compiled on first use: a large policy holds thousands of
	// regexes (about 4 KB each compiled) of which the indexes let only a
	// few ever run. compileString has already compiled it once to report
	// errors, so the later compile cannot fail.
	reOnce sync.Once
	re     *regexp.Regexp
	// prefix and suffix are literal affixes every matching value has; the
	// index uses them to pick candidates.
	prefix, suffix string
	// need is literal text every match of re contains; a value without it
	// is rejected without running the regex.
	need string
}

// prefix returns literal text every matching value starts with ("" if
// none); the index files the matcher under it.
func (m *stringMatcher) prefix() string {
	switch m.op {
	case OpExact, OpStartsWith:
		return m.lit
	case OpWildcard, OpRegex:
		return m.pat.prefix
	}
	return ""
}

// suffix returns literal text every matching value ends with ("" if none).
func (m *stringMatcher) suffix() string {
	switch m.op {
	case OpExact, OpEndsWith:
		return m.lit
	case OpWildcard, OpRegex:
		return m.pat.suffix
	}
	return ""
}

// need returns literal text every match of a regex contains ("" if none).
func (m *stringMatcher) need() string {
	if m.op != OpRegex {
		return ""
	}
	return m.pat.need
}

func (m *stringMatcher) match(s string) bool {
	switch m.op {
	case OpExact:
		return s == m.lit
	case OpStartsWith:
		return strings.HasPrefix(s, m.lit)
	case OpEndsWith:
		return strings.HasSuffix(s, m.lit)
	case OpContains:
		return strings.Contains(s, m.lit)
	case OpWildcard:
		return m.pat.glob.match(s)
	case OpRegex:
		p := m.pat
		if p.need != "" && !strings.Contains(s, p.need) {
			return false
		}
		p.reOnce.Do(func() { p.re = regexp.MustCompile(m.lit) })
		return p.re.MatchString(s)
	}
	return false
}

func (m *stringMatcher) String() string { return fmt.Sprintf("%s %q", m.op, m.lit) }

// compileString compiles one operator and value. It reports an error a user
// can act on.
func compileString(op Op, v string) (*stringMatcher, error) {
	m := &stringMatcher{op: op, lit: v}
	switch op {
	case OpExact, OpStartsWith, OpEndsWith, OpContains:
	case OpWildcard:
		g, err := compileGlob(v)
		if err != nil {
			return nil, err
		}
		if !g.hasMeta {
			// A wildcard without wildcards is an exact match; say so in the
			// index as well.
			return &stringMatcher{op: OpExact, lit: g.literal()}, nil
		}
		m.pat = &pattern{glob: g, prefix: g.literalPrefix(), suffix: g.literalSuffix()}
	case OpRegex:
		re, err := regexp.Compile(v)
		if err != nil {
			var se *syntax.Error
			if errors.As(err, &se) {
				return nil, fmt.Errorf("bad regular expression: %s in %q", se.Code, se.Expr)
			}
			return nil, fmt.Errorf("bad regular expression: %v", err)
		}
		_ = re // valid; compiled again on first use
		m.pat = &pattern{need: regexNeed(v)}
		m.pat.prefix, m.pat.suffix = regexAffixes(v)
	default:
		return nil, fmt.Errorf("unknown operator %v", op)
	}
	return m, nil
}

// regexAffixes returns literal text that every match of an anchored regular
// expression must start (after ^) or end (before $) with. Unanchored parts
// yield "".
func regexAffixes(expr string) (prefix, suffix string) {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return "", ""
	}
	re = re.Simplify()
	if re.Op != syntax.OpConcat || len(re.Sub) < 2 {
		return "", ""
	}
	subs := re.Sub
	if subs[0].Op == syntax.OpBeginText {
		var b strings.Builder
		for _, s := range subs[1:] {
			if !byteLiteral(s) {
				break
			}
			b.WriteString(string(s.Rune))
		}
		prefix = b.String()
	}
	if last := subs[len(subs)-1]; last.Op == syntax.OpEndText {
		var parts []string
		for k := len(subs) - 2; k >= 0; k-- {
			s := subs[k]
			if !byteLiteral(s) {
				break
			}
			parts = append(parts, string(s.Rune))
		}
		for l, r := 0, len(parts)-1; l < r; l, r = l+1, r-1 {
			parts[l], parts[r] = parts[r], parts[l]
		}
		suffix = strings.Join(parts, "")
	}
	return prefix, suffix
}

// regexNeed returns the longest literal text that every match of expr
// contains, or "". It looks at the top level only: a literal, or the
// longest run of adjacent literals in a concatenation.
func regexNeed(expr string) string {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return ""
	}
	re = re.Simplify()
	for re.Op == syntax.OpCapture && len(re.Sub) == 1 {
		re = re.Sub[0]
	}
	if byteLiteral(re) {
		return string(re.Rune)
	}
	if re.Op != syntax.OpConcat {
		return ""
	}
	var best, run string
	for _, s := range re.Sub {
		if byteLiteral(s) {
			run += string(s.Rune)
			if len(run) > len(best) {
				best = run
			}
			continue
		}
		run = ""
	}
	return best
}

// byteLiteral reports whether re matches exactly the UTF-8 bytes of its
// runes. A case-folded literal does not, and neither does U+FFFD: the
// regexp package decodes each byte that is not valid UTF-8 as U+FFFD, so
// that rune also matches such bytes (a path need not be UTF-8).
func byteLiteral(re *syntax.Regexp) bool {
	return re.Op == syntax.OpLiteral && re.Flags&syntax.FoldCase == 0 && !slices.Contains(re.Rune, utf8.RuneError)
}

// regexAnchoredStart reports whether every match must start at the
// beginning of the text.
func regexAnchoredStart(expr string) bool {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return false
	}
	re = re.Simplify()
	switch re.Op {
	case syntax.OpBeginText:
		return true
	case syntax.OpConcat:
		return len(re.Sub) > 0 && re.Sub[0].Op == syntax.OpBeginText
	}
	return false
}

// glob is a compiled wildcard pattern: chunks separated by '*'. In a chunk,
// a '?' matches exactly one character (rune).
type glob struct {
	chunks  []globChunk
	hasMeta bool
}

type globChunk struct {
	lit  string // the chunk's text with escapes removed
	any  []bool // any[k]: byte k of lit is a '?' (lit holds a placeholder byte)
	anyN int    // number of '?' in the chunk
}

func compileGlob(p string) (*glob, error) {
	g := &glob{}
	var cur strings.Builder
	var anys []bool
	flush := func() {
		c := globChunk{lit: cur.String()}
		if len(anys) > 0 {
			for _, a := range anys {
				if a {
					c.anyN++
				}
			}
			if c.anyN > 0 {
				c.any = anys
			}
		}
		g.chunks = append(g.chunks, c)
		cur.Reset()
		anys = nil
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch c {
		case '\\':
			if i+1 >= len(p) {
				return nil, errors.New(`bad wildcard: a trailing \ escapes nothing; write \\ for a backslash`)
			}
			i++
			_, size := utf8.DecodeRuneInString(p[i:])
			cur.WriteString(p[i : i+size])
			anys = append(anys, make([]bool, size)...)
			i += size - 1
		case '*':
			g.hasMeta = true
			flush()
		case '?':
			g.hasMeta = true
			cur.WriteByte('?')
			anys = append(anys, true)
		default:
			cur.WriteByte(c)
			anys = append(anys, false)
		}
	}
	flush()
	return g, nil
}

func (g *glob) literal() string { return g.chunks[0].lit }

func (g *glob) literalPrefix() string {
	c := g.chunks[0]
	if c.anyN == 0 {
		return c.lit
	}
	for k, a := range c.any {
		if a {
			return c.lit[:k]
		}
	}
	return c.lit
}

func (g *glob) literalSuffix() string {
	c := g.chunks[len(g.chunks)-1]
	if c.anyN == 0 {
		return c.lit
	}
	for k := len(c.any) - 1; k >= 0; k-- {
		if c.any[k] {
			return c.lit[k+1:]
		}
	}
	return c.lit
}

// matchAt reports whether chunk c matches s starting at byte i, and where
// the match ends.
func (c *globChunk) matchAt(s string, i int) (int, bool) {
	if c.anyN == 0 {
		if strings.HasPrefix(s[i:], c.lit) {
			return i + len(c.lit), true
		}
		return 0, false
	}
	for k := 0; k < len(c.lit); k++ {
		if c.any[k] {
			if i >= len(s) {
				return 0, false
			}
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			continue
		}
		if i >= len(s) || s[i] != c.lit[k] {
			return 0, false
		}
		i++
	}
	return i, true
}

// match anchors the first chunk at the start and the last at the end and
// places middle chunks leftmost, which is optimal for patterns made of '*'
// and '?' only. Time is O(len(s) * len(pattern)) at worst.
func (g *glob) match(s string) bool {
	n := len(g.chunks)
	first := &g.chunks[0]
	end, ok := first.matchAt(s, 0)
	if !ok {
		return false
	}
	if n == 1 {
		return end == len(s)
	}
	// Find where the last chunk must start: try candidate starts from the
	// latest possible position backwards, on rune boundaries.
	last := &g.chunks[n-1]
	lastStart := -1
	for j := len(s); j >= end; j-- {
		if j < len(s) && !utf8.RuneStart(s[j]) {
			continue
		}
		if e, ok := last.matchAt(s, j); ok && e == len(s) {
			lastStart = j
			break
		}
		if last.anyN == 0 {
			// A literal last chunk can only start at len(s)-len(lit).
			if j <= len(s)-len(last.lit) {
				break
			}
		}
	}
	if lastStart < 0 {
		return false
	}
	i := end
	for k := 1; k < n-1; k++ {
		c := &g.chunks[k]
		found := false
		for ; i <= lastStart; i++ {
			if i < len(s) && !utf8.RuneStart(s[i]) {
				continue
			}
			if e, ok := c.matchAt(s, i); ok && e <= lastStart {
				i = e
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
