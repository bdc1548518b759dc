package policy

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestGlobMatch(t *testing.T) {
	tests := []struct {
		name    string
		pattern string
		input   string
		want    bool
	}{
		{"no_meta/equal", "abc", "abc", true},
		{"no_meta/longer_input", "abc", "abcd", false},
		{"no_meta/shorter_input", "abc", "ab", false},
		{"no_meta/case_differs", "abc", "ABC", false},
		{"star_alone/empty", "*", "", true},
		{"star_alone/anything", "*", "/any/thing with spaces", true},
		{"star_start/suffix_matches", "*.app", "/Applications/Foo.app", true},
		{"star_start/only_suffix", "*.app", ".app", true},
		{"star_start/suffix_differs", "*.app", "/Applications/Foo.apps", false},
		{"star_end/prefix_matches", "/usr/*", "/usr/bin/curl", true},
		{"star_end/empty_tail", "/usr/*", "/usr/", true},
		{"star_end/prefix_too_short", "/usr/*", "/usr", false},
		{"star_middle/matches", "/usr/*/curl", "/usr/local/bin/curl", true},
		{"star_middle/empty_run", "/usr/*/curl", "/usr//curl", true},
		{"star_middle/chunks_overlap", "/usr/*/curl", "/usr/curl", false},
		{"star_middle/first_and_last_overlap", "a*a", "a", false},
		{"star_middle/first_and_last_adjacent", "a*a", "aa", true},
		{"star_middle/palindrome_overlap", "ab*ba", "aba", false},
		{"stars/in_order", "a*b*c", "axxbyyc", true},
		{"stars/adjacent", "a*b*c", "abc", true},
		{"stars/out_of_order", "a*b*c", "acb", false},
		{"stars/repeated_tail", "a*b*c", "abcbc", true},
		{"stars/repeated_chunk", "*ab*ab*", "abab", true},
		{"stars/repeated_chunk_missing", "*ab*ab*", "aab", false},
		{"stars/middle_must_leave_room_for_last", "*ab*b", "abb", true},
		{"stars/middle_overlaps_last", "*ab*b", "ab", false},
		{"stars/middle_with_question_overlaps_last", "a*?b*b", "axb", false},
		{"stars/middle_with_question_fits", "a*?b*b", "axbb", true},
		{"double_star/empty", "**", "", true},
		{"double_star/between_literals_empty", "a**b", "ab", true},
		{"double_star/between_literals", "a**b", "axyb", true},
		{"triple_star/one_char", "***", "x", true},
		{"question/ascii", "?", "a", true},
		{"question/empty", "?", "", false},
		{"question/two_ascii", "?", "ab", false},
		{"question/two_byte_rune", "?", "é", true},
		{"question/three_byte_rune", "?", "日", true},
		{"question/four_byte_rune", "?", "😀", true},
		{"question/two_questions_one_rune", "??", "é", false},
		{"question/in_word", "caf?", "café", true},
		{"question/too_many", "caf??", "café", false},
		{"question/between_multibyte", "日?語", "日本語", true},
		{"question/after_star", "*?", "日", true},
		{"question/after_star_empty", "*?", "", false},
		{"question/before_star", "?*", "x", true},
		{"question/between_stars_empty", "*?*", "", false},
		{"question/star_then_question_then_literal", "x*?y", "xy", false},
		{"question/star_then_question_then_literal_multibyte", "x*?y", "x日y", true},
		{"question/middle_chunk", "a*b?d*e", "aXbcdYe", true},
		{"question/middle_chunk_missing", "a*b?d*e", "aXbdYe", false},
		{"question/last_chunk_multibyte", "*.?", "x.ü", true},
		{"multibyte/literal_middle", "*日本*", "これは日本語", true},
		{"multibyte/literal_middle_missing", "*日本*", "これは中国語", false},
		{"escape/star_literal", `\*`, "*", true},
		{"escape/star_not_wildcard", `\*`, "a", false},
		{"escape/question_literal", `\?`, "?", true},
		{"escape/question_not_wildcard", `\?`, "a", false},
		{"escape/backslash", `\\`, `\`, true},
		{"escape/backslash_then_star", `a\\*`, `a\bc`, true},
		{"escape/backslash_then_star_no_backslash", `a\\*`, `abc`, false},
		{"escape/ordinary_char", `\a`, "a", true},
		{"escape/multibyte", `\é*`, "é!", true},
		{"escape/question_with_wildcard_question", `\??`, "?x", true},
		{"escape/question_with_wildcard_question_fails", `\??`, "xx", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := compileGlob(tt.pattern)
			if err != nil {
				t.Fatalf("compileGlob(%q): %v", tt.pattern, err)
			}
			if got := g.match(tt.input); got != tt.want {
				t.Errorf("glob %q match %q = %v, want %v", tt.pattern, tt.input, got, tt.want)
			}
			// The same through compileString, which turns patterns without
			// metacharacters into exact matches.
			m, err := compileString(OpWildcard, tt.pattern)
			if err != nil {
				t.Fatalf("compileString(wildcard, %q): %v", tt.pattern, err)
			}
			if got := m.match(tt.input); got != tt.want {
				t.Errorf("wildcard matcher %q match %q = %v, want %v", tt.pattern, tt.input, got, tt.want)
			}
		})
	}
}

func TestCompileGlob(t *testing.T) {
	tests := []struct {
		name           string
		pattern        string
		hasMeta        bool
		exact          string // for patterns without metacharacters: the literal
		prefix, suffix string // for patterns with them
		wantErr        string
	}{
		{name: "plain", pattern: "/usr/bin/curl", exact: "/usr/bin/curl"},
		{name: "escaped_star", pattern: `/tmp/a\*c`, exact: "/tmp/a*c"},
		{name: "escaped_question", pattern: `what\?`, exact: "what?"},
		{name: "escaped_backslash", pattern: `C:\\Windows`, exact: `C:\Windows`},
		{name: "escaped_ordinary", pattern: `\a\b`, exact: "ab"},
		{name: "empty", pattern: "", exact: ""},
		{name: "star_end", pattern: "/usr/*", hasMeta: true, prefix: "/usr/", suffix: ""},
		{name: "star_start", pattern: "*.app", hasMeta: true, prefix: "", suffix: ".app"},
		{name: "star_both_ends", pattern: "*/bin/*", hasMeta: true},
		{name: "star_middle", pattern: "/Users/*/Downloads/x", hasMeta: true, prefix: "/Users/", suffix: "/Downloads/x"},
		{name: "question_middle", pattern: "ab?cd", hasMeta: true, prefix: "ab", suffix: "cd"},
		{name: "question_and_star", pattern: "/Apps/?oo*.a?p", hasMeta: true, prefix: "/Apps/", suffix: "p"},
		{name: "escaped_question_in_prefix", pattern: `ab\?c*`, hasMeta: true, prefix: "ab?c"},
		{name: "escaped_star_in_suffix", pattern: `*x\*`, hasMeta: true, suffix: "x*"},
		{name: "multibyte_question", pattern: "caf?", hasMeta: true, prefix: "caf"},
		{name: "escaped_multibyte_prefix", pattern: `\é*`, hasMeta: true, prefix: "é"},
		{name: "only_stars", pattern: "**", hasMeta: true},
		{name: "trailing_backslash", pattern: `/tmp/a\`, wantErr: "trailing"},
		{name: "lone_backslash", pattern: `\`, wantErr: "trailing"},
		{name: "escaped_then_trailing_backslash", pattern: `\\\`, wantErr: "trailing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := compileGlob(tt.pattern)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("compileGlob(%q) error = %v, want one mentioning %q", tt.pattern, err, tt.wantErr)
				}
				if _, err := compileString(OpWildcard, tt.pattern); err == nil {
					t.Errorf("compileString(wildcard, %q) accepted a bad pattern", tt.pattern)
				}
				return
			}
			if err != nil {
				t.Fatalf("compileGlob(%q): %v", tt.pattern, err)
			}
			if g.hasMeta != tt.hasMeta {
				t.Fatalf("hasMeta = %v, want %v", g.hasMeta, tt.hasMeta)
			}
			m, err := compileString(OpWildcard, tt.pattern)
			if err != nil {
				t.Fatalf("compileString: %v", err)
			}
			if !tt.hasMeta {
				if got := g.literal(); got != tt.exact {
					t.Errorf("literal() = %q, want %q", got, tt.exact)
				}
				if m.op != OpExact || m.lit != tt.exact || m.prefix() != tt.exact || m.suffix() != tt.exact {
					t.Errorf("compileString = {op %v lit %q prefix %q suffix %q}, want exact %q with matching affixes", m.op, m.lit, m.prefix(), m.suffix(), tt.exact)
				}
				return
			}
			if got := g.literalPrefix(); got != tt.prefix {
				t.Errorf("literalPrefix() = %q, want %q", got, tt.prefix)
			}
			if got := g.literalSuffix(); got != tt.suffix {
				t.Errorf("literalSuffix() = %q, want %q", got, tt.suffix)
			}
			if m.op != OpWildcard || m.prefix() != tt.prefix || m.suffix() != tt.suffix {
				t.Errorf("compileString = {op %v prefix %q suffix %q}, want wildcard with prefix %q suffix %q", m.op, m.prefix(), m.suffix(), tt.prefix, tt.suffix)
			}
		})
	}
}

func TestRegexAffixes(t *testing.T) {
	tests := []struct {
		name           string
		expr           string
		prefix, suffix string
		anchoredStart  bool
	}{
		{"caret_literal", "^abc", "abc", "", true},
		{"literal_dollar", "abc$", "", "abc", false},
		{"both_anchors", "^abc$", "abc", "abc", true},
		{"path_with_wildcard_middle", `^/usr/bin/.*\.sh$`, "/usr/bin/", ".sh", true},
		{"text_anchors", `\A/opt/x\z`, "/opt/x", "/opt/x", true},
		{"quoted", `^\Qa.b\E`, "a.b", "", true},
		{"stops_at_dot", "^a.b", "a", "", true},
		{"stops_at_star", "^ab*c", "a", "", true},
		{"stops_at_word_boundary", `^abc\b`, "abc", "", true},
		{"multibyte", "^日本$", "日本", "日本", true},
		{"unanchored", "abc", "", "", false},
		{"empty", "", "", "", false},
		{"only_anchors", "^$", "", "", true},
		{"fold_case_whole", "(?i)^abc$", "", "", true},
		{"fold_case_tail", "^abc(?i)def$", "abc", "", true},
		{"fold_case_head", "^(?i)abc(?-i)def$", "", "def", true},
		{"multiline_caret", "(?m)^abc", "", "", false},
		{"multiline_dollar", "(?m)abc$", "", "", false},
		{"alternation_top", "^abc|^abd", "", "", false},
		{"alternation_unanchored_branch", "^abc|abd", "", "", false},
		{"alternation_group", "^(foo|bar)baz$", "", "baz", true},
		{"alternation_in_suffix", "^/usr/(a|b)$", "/usr/", "", true},
		{"capture_whole", "(^abc)", "", "", false},
		{"star_before_anchor", "^a*$", "", "", true},
		{"dollar_in_middle", "^a$b", "a", "", true},
		{"bad_syntax", "^(abc", "", "", false},
		// U+FFFD in a pattern also matches bytes that are not UTF-8, so it
		// cannot be a literal byte prefix.
		{"replacement_char", "^\uFFFDx", "", "", true},
		{"replacement_char_suffix", "x\uFFFD$", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, s := regexAffixes(tt.expr)
			if p != tt.prefix || s != tt.suffix {
				t.Errorf("regexAffixes(%q) = (%q, %q), want (%q, %q)", tt.expr, p, s, tt.prefix, tt.suffix)
			}
			if got := regexAnchoredStart(tt.expr); got != tt.anchoredStart {
				t.Errorf("regexAnchoredStart(%q) = %v, want %v", tt.expr, got, tt.anchoredStart)
			}
		})
	}
}

// TestMatcherAffixesSound: every value a matcher accepts starts with its
// prefix and ends with its suffix; the index relies on it.
func TestMatcherAffixesSound(t *testing.T) {
	tests := []struct {
		op      Op
		pattern string
		input   string
	}{
		{OpRegex, "^\uFFFDx", "\xffx"},
		{OpRegex, "^/tmp/\uFFFD", "/tmp/\xfe\xff"},
		{OpRegex, "a\uFFFD$", "/a\x80"},
		{OpRegex, "^a\uFFFDb$", "a\xc3b"},
		{OpWildcard, "/tmp/?x*", "/tmp/\xffx/y"},
		{OpWildcard, "*\\?", "x?"},
		{OpRegex, `^/usr/bin/.*\.sh$`, "/usr/bin/x.sh"},
	}
	for _, tt := range tests {
		t.Run(tt.op.String()+"/"+tt.pattern, func(t *testing.T) {
			m, err := compileString(tt.op, tt.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if !m.match(tt.input) {
				t.Fatalf("%v %q does not match %q; the case tests nothing", tt.op, tt.pattern, tt.input)
			}
			if !strings.HasPrefix(tt.input, m.prefix()) || !strings.HasSuffix(tt.input, m.suffix()) {
				t.Errorf("%v %q matches %q, which lacks its index affixes (%q, %q)", tt.op, tt.pattern, tt.input, m.prefix(), m.suffix())
			}
		})
	}
}

func TestCompileStringErrors(t *testing.T) {
	tests := []struct {
		op      Op
		pattern string
		want    string
	}{
		{OpRegex, "(abc", "bad regular expression: missing closing )"},
		{OpRegex, "a**", "bad regular expression: invalid nested repetition operator"},
		{OpRegex, `\8`, "bad regular expression: invalid escape sequence"},
		{OpWildcard, `abc\`, "bad wildcard"},
		{OpUnset, "x", "unknown operator"},
	}
	for _, tt := range tests {
		t.Run(tt.op.String()+"/"+tt.pattern, func(t *testing.T) {
			_, err := compileString(tt.op, tt.pattern)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("compileString(%v, %q) error = %v, want one containing %q", tt.op, tt.pattern, err, tt.want)
			}
		})
	}
}

// globToRegexp builds the regular expression a wildcard pattern means, by a
// route independent of compileGlob.
func globToRegexp(p string) string {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); {
		r, size := utf8.DecodeRuneInString(p[i:])
		switch r {
		case '\\':
			r2, size2 := utf8.DecodeRuneInString(p[i+size:])
			b.WriteString(regexp.QuoteMeta(string(r2)))
			i += size + size2
			continue
		case '*':
			b.WriteString("(?s:.*)")
		case '?':
			b.WriteString("(?s:.)")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
		i += size
	}
	b.WriteString("$")
	return b.String()
}

func FuzzGlob(f *testing.F) {
	seeds := [][2]string{
		{"*", ""}, {"a*a", "a"}, {"*?", "日"}, {"x*?y", "x日y"}, {`\*`, "*"},
		{`a\\*`, `a\bc`}, {"*ab*ab*", "abab"}, {"a*b?d*e", "aXbcdYe"},
		{"?é?", "xéy"}, {"**?**", "😀"}, {"*.app", "/Applications/Foo.app"},
		{"/usr/*/curl", "/usr//curl"}, {"*a?", "ba日"}, {"*aa", "aaa"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, input string) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(input) {
			return
		}
		g, err := compileGlob(pattern)
		if err != nil {
			if !strings.HasSuffix(strings.ReplaceAll(pattern, `\\`, ""), `\`) {
				t.Fatalf("compileGlob(%q) = %v, but the pattern has no trailing backslash", pattern, err)
			}
			return
		}
		re := regexp.MustCompile(globToRegexp(pattern))
		want := re.MatchString(input)
		if got := g.match(input); got != want {
			t.Fatalf("glob %q match %q = %v, but %s says %v", pattern, input, got, re, want)
		}
		m, err := compileString(OpWildcard, pattern)
		if err != nil {
			t.Fatalf("compileString(wildcard, %q): %v", pattern, err)
		}
		if got := m.match(input); got != want {
			t.Fatalf("wildcard matcher %q match %q = %v, but %s says %v", pattern, input, got, re, want)
		}
		if want && (!strings.HasPrefix(input, m.prefix()) || !strings.HasSuffix(input, m.suffix())) {
			t.Fatalf("wildcard %q matches %q, which lacks its index affixes (%q, %q)", pattern, input, m.prefix(), m.suffix())
		}
	})
}

func FuzzCompileString(f *testing.F) {
	seeds := []struct {
		op             uint8
		pattern, input string
	}{
		{uint8(OpRegex), "^abc$", "abc"},
		{uint8(OpRegex), "(?i)^ABC", "abcdef"},
		{uint8(OpRegex), `^/usr/(bin|sbin)/.*\.sh$`, "/usr/bin/x.sh"},
		{uint8(OpRegex), "^\uFFFDx", "\xffx"},
		{uint8(OpRegex), "(a", "a"},
		{uint8(OpRegex), "x{1001}", "x"},
		{uint8(OpRegex), `vendor7-[0-9]+\.(tmp|bin)$`, "/opt/vendor7-12.bin"},
		{uint8(OpRegex), "(abc)", "xabcx"},
		{uint8(OpRegex), "a\uFFFDb", "a\xffb"},
		{uint8(OpRegex), "ab(?i)cd", "abCD"},
		{uint8(OpWildcard), `a\`, "a"},
		{uint8(OpWildcard), "*?*", "日"},
		{uint8(OpWildcard), "/tmp/?x*", "/tmp/\xffx/y"},
		{uint8(OpExact), "", ""},
		{uint8(OpStartsWith), "/usr", "/usr/bin"},
		{uint8(OpEndsWith), ".app", "Foo.app"},
		{uint8(OpContains), "bin", "/usr/bin/x"},
	}
	for _, s := range seeds {
		f.Add(s.op, s.pattern, s.input)
	}
	f.Fuzz(func(t *testing.T, op uint8, pattern, input string) {
		regexAffixes(pattern)
		regexAnchoredStart(pattern)
		m, err := compileString(Op(op%7), pattern)
		if err != nil {
			return
		}
		ok := m.match(input)
		_ = m.String()
		if m.op == OpRegex {
			// The literal prefilter must never change the answer.
			if want := regexp.MustCompile(pattern).MatchString(input); ok != want {
				t.Fatalf("regex %q on %q: matcher says %v (need %q), regexp says %v", pattern, input, ok, m.need(), want)
			}
			if ok && !strings.Contains(input, m.need()) {
				t.Fatalf("regex %q matches %q, which lacks its required literal %q", pattern, input, m.need())
			}
		}
		if ok && (!strings.HasPrefix(input, m.prefix()) || !strings.HasSuffix(input, m.suffix())) {
			t.Fatalf("%v %q matches %q, which lacks its index affixes (%q, %q)", m.op, pattern, input, m.prefix(), m.suffix())
		}
	})
}

func TestRegexNeed(t *testing.T) {
	tests := []struct{ expr, want string }{
		{`vendor7-[0-9]+\.(tmp|bin)$`, "vendor7-"},
		{`abc`, "abc"},
		{`(abc)`, "abc"},
		{`^/usr/bin/`, "/usr/bin/"},
		{`a|b`, ""},
		{`(?i)abc`, ""},
		{`ab(?i)cdef`, "ab"},
		{"x\uFFFDyz", ""}, // one literal holding U+FFFD: no prefilter
		{`a+bc`, "bc"},
		{`(`, ""},
	}
	for _, tt := range tests {
		if got := regexNeed(tt.expr); got != tt.want {
			t.Errorf("regexNeed(%q) = %q, want %q", tt.expr, got, tt.want)
		}
	}
}
