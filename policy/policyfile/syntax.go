package policyfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"

	"github.com/gatehouse/gatehouse/policy"
)

// YAML syntax errors are reported where the parser found them (yaml v4's
// LoadError.Mark, with a column), not at the start of the construct around
// them (the line yaml v3 named, often the line before the mistake). Two
// mistakes are found far from where they were made, and are reported where
// they were made instead:
//   - a quoted string that is never closed, found at the end of the file;
//   - a '[' or '{' that is never closed, found on a later line where the
//     file goes on in block style (the flow collection swallows it). The
//     bracket is only blamed once closing it at the end of its line lets
//     the parser get past the place where it failed.

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntax reports the YAML syntax error err in data.
func (d *decoder) syntax(data []byte, err error) {
	var le *yaml.LoadError
	if errors.As(err, &le) && le.Stage == yaml.ReaderStage {
		// The reader checks the characters of the whole input before
		// anything is parsed, and says where in none of its errors.
		if off, what, ok := badCharacter(data); ok {
			line, col := (&lineCounter{data: data, line: 1, col: 1}).at(off)
			d.diags = append(d.diags, policy.Diagnostic{Pos: policy.Pos{File: d.file, Line: line, Col: col}, Severity: policy.SeverityError, Message: "syntax: " + what})
			return
		}
	}
	if le == nil || le.Mark.Line == 0 {
		d.syntaxWithoutMark(err)
		return
	}
	pos := policy.Pos{File: d.file, Line: le.Mark.Line, Col: le.Mark.Column}
	problem := le.Message
	msg := "syntax: " + problem
	if le.ContextMsg != "" && le.ContextMark != le.Mark && le.ContextMark.Line > 0 && !strings.Contains(problem, "tab character") {
		msg += fmt.Sprintf(" (%s that starts at line %d, column %d)", strings.TrimPrefix(le.ContextMsg, "while "), le.ContextMark.Line, le.ContextMark.Column)
	}
	if strings.Contains(le.ContextMsg, "quoted scalar") && strings.Contains(problem, "end of stream") && le.ContextMark.Line > 0 {
		pos.Line, pos.Col = le.ContextMark.Line, le.ContextMark.Column
		msg = "syntax: the quoted text that starts here is never closed; add the closing quote"
	} else if b, ok := unclosedFlow(data, le); ok {
		pos.Line, pos.Col = b.line, b.col
		where := fmt.Sprintf("so line %d is read as part of it and fails (%s at column %d)", le.Mark.Line, problem, le.Mark.Column)
		if b.atEnd {
			where = "before the end of the file"
		}
		msg = fmt.Sprintf("syntax: this '%c' is never closed, %s; close it with '%c'", b.open, where, closer(b.open))
	} else {
		msg += "; " + syntaxHint(problem)
	}
	d.diags = append(d.diags, policy.Diagnostic{Pos: pos, Severity: policy.SeverityError, Message: msg})
}

// syntaxHint is what to do about a problem the YAML parser names.
func syntaxHint(problem string) string {
	switch {
	case strings.Contains(problem, "tab character"):
		return "indent with spaces: YAML does not allow tabs there"
	case strings.Contains(problem, "mapping values are not allowed"):
		return "a key must line up with the keys above it, and a value that contains \": \" needs quotes"
	case strings.Contains(problem, "did not find expected key"):
		return "a line here must be a key (key: value) lined up with the keys above it"
	case strings.Contains(problem, "did not find expected node content"):
		return "a value is missing here"
	case strings.Contains(problem, "max depth"):
		return "a policy nests a few levels deep, this far more"
	case strings.Contains(problem, "did not find expected '-' indicator"):
		return "a line here must be a list item (- value) lined up with the items above it"
	}
	return "fix the YAML syntax here"
}

// syntaxWithoutMark reports an error the parser gave no position for, at
// the line it names or else at the start of the file.
func (d *decoder) syntaxWithoutMark(err error) {
	msg := err.Error()
	pos := policy.Pos{File: d.file, Line: 1, Col: 1}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		pos.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	d.diags = append(d.diags, policy.Diagnostic{Pos: pos, Severity: policy.SeverityError, Message: "syntax: " + msg + "; fix the YAML syntax"})
}

// badCharacter finds the first character YAML does not allow in a file:
// bytes that are not UTF-8, and control characters other than tab and
// line breaks (YAML 1.2, 5.1). A file with a UTF-16 byte order mark is
// left to the parser.
func badCharacter(data []byte) (off int, what string, ok bool) {
	if bytes.HasPrefix(data, []byte{0xFE, 0xFF}) || bytes.HasPrefix(data, []byte{0xFF, 0xFE}) {
		return 0, "", false
	}
	for off < len(data) {
		r, n := utf8.DecodeRune(data[off:])
		switch {
		case r == utf8.RuneError && n <= 1:
			return off, fmt.Sprintf("byte 0x%02X is not UTF-8; save the policy as UTF-8 text", data[off]), true
		case r == '\t' || r == '\n' || r == '\r' || r == 0x85:
		case r < 0x20 || r >= 0x7F && r < 0xA0 || r >= 0xD800 && r < 0xE000 || r == 0xFFFE || r == 0xFFFF:
			return off, fmt.Sprintf("control character %U is not allowed in YAML (only tabs and line breaks are); remove it, or write it as an escape in double quotes", r), true
		}
		off += n
	}
	return 0, "", false
}

func closer(open byte) byte {
	if open == '[' {
		return ']'
	}
	return '}'
}

// bracket is an opening '[' or '{' of a flow collection.
type bracket struct {
	open      byte
	line, col int
	atEnd     bool // the parser failed at the end of the file
}

// maxBracketLines is how far above the error unclosedFlow looks.
const maxBracketLines = 50

// unclosedFlow finds the '[' or '{' that, never closed, made the parser
// fail at le.Mark on a later line: the innermost one left open at the end
// of one of the lines above the error, which closing at the end of its
// line lets the parser past the error.
func unclosedFlow(data []byte, le *yaml.LoadError) (bracket, bool) {
	lines := splitLines(data)
	errLine := le.Mark.Line // 1-based
	if errLine < 2 || errLine > len(lines) {
		return bracket{}, false
	}
	// The line that fails goes on in block style: a key or a list item
	// at the start of the line; or the file ends. A flow collection
	// spread over several lines fails elsewhere, inside it.
	if len(bytes.TrimSpace(data[lines[errLine-1].off:])) == 0 {
		return openAtEnd(data, lines, errLine)
	}
	if !blockStart(lines[errLine-1].text) {
		return bracket{}, false
	}
	tried := 0
	for l := errLine - 1; l >= 1 && l >= errLine-maxBracketLines && tried < 3; l-- {
		ln := lines[l-1]
		b, ok := lastOpen(ln.text)
		if !ok {
			continue
		}
		tried++
		if indent(lines[errLine-1].text) > indent(ln.text) {
			// Deeper than the line that opened it: inside the
			// collection, not after it.
			continue
		}
		// Close it at the end of its line (before a comment) and see
		// whether the parser gets past the error.
		end := ln.off + ln.contentEnd()
		fixed := make([]byte, 0, len(data)+1)
		fixed = append(fixed, data[:end]...)
		fixed = append(fixed, closer(ln.text[b]))
		fixed = append(fixed, data[end:]...)
		if passes(fixed, le.Mark.Line) {
			return bracket{open: ln.text[b], line: l, col: columnOf(ln.text, b)}, true
		}
	}
	return bracket{}, false
}

// openAtEnd finds the innermost bracket still open where the file ends, if
// closing every open one at the end lets the file parse.
func openAtEnd(data []byte, lines []textLine, errLine int) (bracket, bool) {
	type open struct {
		line, i int
	}
	var stack []open
	for l, ln := range lines[:errLine] {
		scanLine(ln.text, func(i int, c byte) {
			switch {
			case c == '[' || c == '{':
				stack = append(stack, open{l, i})
			case len(stack) > 0:
				stack = stack[:len(stack)-1]
			}
		})
	}
	if len(stack) == 0 {
		return bracket{}, false
	}
	fixed := bytes.TrimRight(data, " \t\r\n")
	fixed = append(fixed[:len(fixed):len(fixed)], '\n')
	for k := len(stack) - 1; k >= 0; k-- {
		fixed = append(fixed, closer(lines[stack[k].line].text[stack[k].i]))
	}
	if !passes(fixed, errLine) {
		return bracket{}, false
	}
	o := stack[len(stack)-1]
	text := lines[o.line].text
	return bracket{open: text[o.i], line: o.line + 1, col: columnOf(text, o.i), atEnd: true}, true
}

// passes reports whether every document in data parses, or the first
// error is after line. Only the text up to two lines after line is
// parsed: getting past line is enough, and a failure at the cut is after
// it.
func passes(data []byte, line int) bool {
	end := 0
	for range line + 2 {
		i := bytes.IndexByte(data[end:], '\n')
		if i < 0 {
			end = len(data)
			break
		}
		end += i + 1
	}
	dec := yaml.NewDecoder(bytes.NewReader(data[:end]))
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return true
		}
		if err != nil {
			var le *yaml.LoadError
			return errors.As(err, &le) && le.Mark.Line > line
		}
	}
}

type textLine struct {
	off  int
	text []byte // without the line break
}

func splitLines(data []byte) []textLine {
	var out []textLine
	for off := 0; off <= len(data); {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			out = append(out, textLine{off, data[off:]})
			break
		}
		out = append(out, textLine{off, bytes.TrimSuffix(data[off:off+i], []byte("\r"))})
		off += i + 1
	}
	return out
}

// contentEnd is the length of the line without a trailing comment and the
// spaces before it.
func (l textLine) contentEnd() int {
	end := len(l.text)
	if i := commentStart(l.text); i >= 0 {
		end = i
	}
	return len(bytes.TrimRight(l.text[:end], " \t"))
}

// scanLine walks a line as YAML's flow context reads it, calling f for each
// bracket outside quotes and comments. It knows plain, single- and
// double-quoted text; a line that continues a multi-line quoted string
// confuses it, which only makes unclosedFlow find nothing.
func scanLine(text []byte, f func(i int, c byte)) (comment int) {
	for i := 0; i < len(text); i++ {
		c := text[i]
		tokenStart := i == 0 || strings.IndexByte(" \t[{,:", text[i-1]) >= 0
		switch {
		case c == '#' && (i == 0 || text[i-1] == ' ' || text[i-1] == '\t'):
			return i
		case (c == '"' || c == '\'') && tokenStart:
			for i++; i < len(text); i++ {
				if c == '"' && text[i] == '\\' {
					i++
					continue
				}
				if text[i] == c {
					if c == '\'' && i+1 < len(text) && text[i+1] == '\'' {
						i++
						continue
					}
					break
				}
			}
		case c == '[' || c == '{' || c == ']' || c == '}':
			f(i, c)
		}
	}
	return -1
}

func commentStart(text []byte) int { return scanLine(text, func(int, byte) {}) }

// lastOpen returns the index of the innermost bracket left open at the end
// of the line.
func lastOpen(text []byte) (int, bool) {
	var stack []int
	scanLine(text, func(i int, c byte) {
		switch {
		case c == '[' || c == '{':
			stack = append(stack, i)
		case len(stack) > 0:
			stack = stack[:len(stack)-1]
		}
	})
	if len(stack) == 0 {
		return 0, false
	}
	return stack[len(stack)-1], true
}

var blockKey = regexp.MustCompile(`^[ \t]*(- |-$|[A-Za-z_][A-Za-z0-9_.-]*:( |$))`)

func blockStart(text []byte) bool { return blockKey.Match(text) }

func indent(text []byte) int { return len(text) - len(bytes.TrimLeft(text, " ")) }

// columnOf is the column (in characters, from 1) of byte i of the line.
func columnOf(text []byte, i int) int { return len([]rune(string(text[:i]))) + 1 }
