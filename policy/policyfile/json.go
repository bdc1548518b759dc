package policyfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"

	"github.com/gatehouse/gatehouse/policy"
)

// A .json policy is strict JSON, as encoding/json reads it: no trailing
// commas, comments or single quotes, which the YAML parser would accept.
// It is not given to the YAML parser at all, even once it is valid: YAML
// reads some valid JSON differently (an escaped surrogate pair is an error,
// a raw U+2028 in a string is a line break, a key is at most 1024
// characters). The values become the same yaml.Node tree the YAML path
// builds, with the line and column of each, so everything after parsing is
// shared.

// noValue takes any JSON value and keeps nothing: json.Unmarshal into it
// checks the syntax of the whole input and allocates nothing.
type noValue struct{}

func (*noValue) UnmarshalJSON([]byte) error { return nil }

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// parseJSON reads data as strict JSON into a node tree. A syntax error is
// one diagnostic with its line and column; the tree is then nil.
func (d *decoder) parseJSON(data []byte) *yaml.Node {
	// RFC 8259 lets a parser ignore a byte order mark; Windows editors
	// write one.
	data = bytes.TrimPrefix(data, utf8BOM)
	if len(bytes.TrimLeft(data, " \t\r\n")) == 0 {
		d.errorf(nil, "", "the file is empty; a policy needs at least id, revision, groups and rules")
		return nil
	}
	lc := &lineCounter{data: data, line: 1, col: 1}
	if err := json.Unmarshal(data, &noValue{}); err != nil {
		var se *json.SyntaxError
		if !errors.As(err, &se) {
			d.errorf(nil, "", "syntax: %v; fix the JSON syntax", err)
			return nil
		}
		d.jsonSyntax(lc, se)
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	b := &jsonBuilder{dec: dec, data: data, lc: lc}
	n, err := b.value()
	if err != nil {
		// The syntax was checked above: only a decoder disagreeing with
		// json.Unmarshal can get here.
		d.errorf(nil, "", "internal: reading JSON: %v", err)
		return nil
	}
	return n
}

// jsonSyntax reports a JSON syntax error where it is, with advice for the
// mistakes people make writing JSON by hand.
func (d *decoder) jsonSyntax(lc *lineCounter, se *json.SyntaxError) {
	// Offset counts the bytes read, the bad one included.
	at := int(se.Offset) - 1
	if at < 0 {
		at = 0
	}
	if se.Error() == "unexpected end of JSON input" {
		line, col := lc.at(len(lc.data))
		msg := "syntax: the JSON ends before its last value is complete; add what is missing"
		if c, off := innermostOpen(lc.data); off >= 0 {
			oline, ocol := lc.at(off)
			msg = fmt.Sprintf("syntax: the JSON ends with the '%c' of line %d, column %d still open; close it, or add what is missing", c, oline, ocol)
		}
		d.diags = append(d.diags, policy.Diagnostic{Pos: policy.Pos{File: d.file, Line: line, Col: col}, Severity: policy.SeverityError, Message: msg})
		return
	}
	msg := "syntax: " + se.Error() + "; fix the JSON syntax here"
	c := lc.data[at]
	prev := bytes.TrimRight(lc.data[:at], " \t\r\n")
	switch {
	case (c == ']' || c == '}') && len(prev) > 0 && prev[len(prev)-1] == ',':
		at = len(prev) - 1
		msg = fmt.Sprintf("syntax: a comma before '%c'; JSON allows no trailing commas: remove it", c)
	case c == '/' || c == '#':
		msg = "syntax: " + se.Error() + "; JSON has no comments: remove it, or write the policy in YAML (a .yaml file), which has them"
	case c == '\'':
		msg = "syntax: " + se.Error() + "; JSON strings take double quotes"
	case strings.Contains(se.Error(), "exceeded max depth"):
		msg = "syntax: " + se.Error() + "; a policy nests a few levels deep, this far more"
	}
	line, col := lc.at(at)
	d.diags = append(d.diags, policy.Diagnostic{Pos: policy.Pos{File: d.file, Line: line, Col: col}, Severity: policy.SeverityError, Message: msg})
}

// innermostOpen returns the innermost '[' or '{' left open at the end of
// data (JSON cut short) and its offset, or -1.
func innermostOpen(data []byte) (byte, int) {
	var stack []int
	inString, escaped := false, false
	for i, c := range data {
		switch {
		case inString && escaped:
			escaped = false
		case inString && c == '\\':
			escaped = true
		case inString && c == '"':
			inString = false
		case inString:
		case c == '"':
			inString = true
		case c == '[' || c == '{':
			stack = append(stack, i)
		case (c == ']' || c == '}') && len(stack) > 0:
			stack = stack[:len(stack)-1]
		}
	}
	if len(stack) == 0 {
		return 0, -1
	}
	off := stack[len(stack)-1]
	return data[off], off
}

// lineCounter turns byte offsets into lines and columns (in characters,
// from 1, as the YAML parser counts them). Offsets must be asked for in
// increasing order, so counting a whole file costs one pass.
type lineCounter struct {
	data      []byte
	off       int
	line, col int
}

func (lc *lineCounter) at(off int) (line, col int) {
	if off < lc.off {
		lc.off, lc.line, lc.col = 0, 1, 1
	}
	for lc.off < off && lc.off < len(lc.data) {
		c := lc.data[lc.off]
		switch {
		case c == '\n', c == '\r' && (lc.off+1 == len(lc.data) || lc.data[lc.off+1] != '\n'):
			lc.line, lc.col = lc.line+1, 1
		case c == '\r':
			// the \n that follows ends the line
		case utf8.RuneStart(c):
			lc.col++
		}
		lc.off++
	}
	return lc.line, lc.col
}

// jsonBuilder builds nodes from the token stream of input that is known to
// be valid JSON.
type jsonBuilder struct {
	dec  *json.Decoder
	data []byte
	lc   *lineCounter
}

// next returns the next token and the line and column where it starts.
func (b *jsonBuilder) next() (json.Token, int, int, error) {
	start := int(b.dec.InputOffset())
	for start < len(b.data) {
		switch b.data[start] {
		case ' ', '\t', '\r', '\n', ',', ':':
			start++
			continue
		}
		break
	}
	t, err := b.dec.Token()
	if err != nil {
		return nil, 0, 0, err
	}
	line, col := b.lc.at(start)
	return t, line, col, nil
}

func (b *jsonBuilder) value() (*yaml.Node, error) {
	t, line, col, err := b.next()
	if err != nil {
		return nil, err
	}
	return b.node(t, line, col)
}

func (b *jsonBuilder) node(t json.Token, line, col int) (*yaml.Node, error) {
	n := &yaml.Node{Line: line, Column: col}
	switch t := t.(type) {
	case json.Delim:
		switch t {
		case '{':
			n.Kind, n.Tag = yaml.MappingNode, "!!map"
			for b.dec.More() {
				k, err := b.value()
				if err != nil {
					return nil, err
				}
				v, err := b.value()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, k, v)
			}
		case '[':
			n.Kind, n.Tag = yaml.SequenceNode, "!!seq"
			for b.dec.More() {
				v, err := b.value()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, v)
			}
		default:
			return nil, fmt.Errorf("unexpected %v", t)
		}
		if _, err := b.dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
	case string:
		n.Kind, n.Tag, n.Value, n.Style = yaml.ScalarNode, "!!str", t, yaml.DoubleQuotedStyle
	case json.Number:
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!int", string(t)
		if bytes.ContainsAny([]byte(t), ".eE") {
			n.Tag = "!!float"
		}
	case bool:
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!bool", fmt.Sprint(t)
	case nil:
		n.Kind, n.Tag, n.Value = yaml.ScalarNode, "!!null", "null"
	default:
		return nil, fmt.Errorf("unexpected token %T", t)
	}
	return n, nil
}
