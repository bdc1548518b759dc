package plist

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

type xdec struct {
	d *xml.Decoder
}

func parseXML(data []byte) (any, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if len(bytes.Trim(data, " \t\r\n")) == 0 {
		return nil, fmt.Errorf("plist: empty input")
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true // unknown entities are errors; nothing is resolved
	x := &xdec{d: d}

	var root any
	have := false
	for {
		tok, err := x.token()
		if err == io.EOF {
			if !have {
				return nil, fmt.Errorf("plist: xml: no plist element found")
			}
			return root, nil
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if have {
				return nil, x.errf("unexpected <%s> after the top-level value", short(t.Name.Local))
			}
			if t.Name.Local == "plist" {
				root, err = x.plistBody()
			} else {
				root, err = x.value(t, 1)
			}
			if err != nil {
				return nil, err
			}
			have = true
		case xml.CharData:
			if !isSpace(t) {
				return nil, x.errf("unexpected text outside the top-level element")
			}
		case xml.EndElement:
			return nil, x.errf("unexpected </%s>", short(t.Name.Local))
		}
		// Comments, processing instructions and directives (DOCTYPE) are
		// skipped.
	}
}

// token returns the next token. io.EOF is returned unwrapped; encoding/xml
// reports EOF inside an element as a syntax error.
func (x *xdec) token() (xml.Token, error) {
	tok, err := x.d.Token()
	if err == io.EOF {
		return nil, io.EOF
	}
	if err != nil {
		return nil, fmt.Errorf("plist: xml: %w", err)
	}
	return tok, nil
}

// tokenNoEOF is token for places where the document may not end.
func (x *xdec) tokenNoEOF() (xml.Token, error) {
	tok, err := x.token()
	if err == io.EOF {
		return nil, x.errf("unexpected end of input")
	}
	return tok, err
}

func (x *xdec) errf(format string, args ...any) error {
	line, _ := x.d.InputPos()
	return fmt.Errorf("plist: xml: line %d: "+format, append([]any{line}, args...)...)
}

func isSpace(b []byte) bool {
	return len(bytes.Trim(b, " \t\r\n")) == 0
}

// plistBody reads the single value inside <plist> and its end tag.
func (x *xdec) plistBody() (any, error) {
	var v any
	have := false
	for {
		tok, err := x.tokenNoEOF()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if have {
				return nil, x.errf("more than one value in <plist>")
			}
			if v, err = x.value(t, 1); err != nil {
				return nil, err
			}
			have = true
		case xml.EndElement:
			if !have {
				return nil, x.errf("empty <plist>")
			}
			return v, nil
		case xml.CharData:
			if !isSpace(t) {
				return nil, x.errf("unexpected text in <plist>")
			}
		}
	}
}

// value decodes the element whose start tag has just been read.
func (x *xdec) value(start xml.StartElement, depth int) (any, error) {
	if depth > maxDepth {
		return nil, x.errf("nesting deeper than %d levels", maxDepth)
	}
	name := start.Name.Local
	switch name {
	case "dict":
		return x.dict(depth)
	case "array":
		return x.array(depth)
	case "true", "false":
		if err := x.empty(name); err != nil {
			return nil, err
		}
		return name == "true", nil
	case "string", "integer", "real", "date", "data":
	default:
		return nil, x.errf("unknown element <%s>", short(name))
	}

	line, _ := x.d.InputPos()
	s, err := x.text(name)
	if err != nil {
		return nil, err
	}
	var v any
	switch name {
	case "string":
		return s, nil
	case "integer":
		v, err = parseXMLInt(s)
	case "real":
		v, err = parseXMLReal(s)
	case "date":
		v, err = parseXMLDate(s)
	case "data":
		v, err = parseXMLData(s)
	}
	if err != nil {
		return nil, fmt.Errorf("plist: xml: line %d: <%s>: %w", line, name, err)
	}
	return v, nil
}

func (x *xdec) dict(depth int) (map[string]any, error) {
	m := make(map[string]any)
	for {
		tok, err := x.tokenNoEOF()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if t.Name.Local != "key" {
				return nil, x.errf("expected <key> in <dict>, found <%s>", short(t.Name.Local))
			}
			k, err := x.text("key")
			if err != nil {
				return nil, err
			}
			vs, err := x.nextStart()
			if err != nil {
				return nil, err
			}
			if vs == nil {
				return nil, x.errf("key %q has no value", short(k))
			}
			v, err := x.value(*vs, depth+1)
			if err != nil {
				return nil, err
			}
			m[k] = v // duplicate keys: last wins
		case xml.EndElement:
			return m, nil
		case xml.CharData:
			if !isSpace(t) {
				return nil, x.errf("unexpected text in <dict>")
			}
		}
	}
}

// nextStart skips whitespace and comments up to the next start tag. It
// returns nil if an end tag comes first.
func (x *xdec) nextStart() (*xml.StartElement, error) {
	for {
		tok, err := x.tokenNoEOF()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			return &t, nil
		case xml.EndElement:
			return nil, nil
		case xml.CharData:
			if !isSpace(t) {
				return nil, x.errf("unexpected text in <dict>")
			}
		}
	}
}

func (x *xdec) array(depth int) ([]any, error) {
	a := []any{}
	for {
		tok, err := x.tokenNoEOF()
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			v, err := x.value(t, depth+1)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		case xml.EndElement:
			return a, nil
		case xml.CharData:
			if !isSpace(t) {
				return nil, x.errf("unexpected text in <array>")
			}
		}
	}
}

// text reads character data up to the end tag of the current element.
func (x *xdec) text(name string) (string, error) {
	var b []byte
	for {
		tok, err := x.tokenNoEOF()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b = append(b, t...)
		case xml.EndElement:
			return string(b), nil
		case xml.StartElement:
			return "", x.errf("unexpected <%s> inside <%s>", short(t.Name.Local), name)
		}
	}
}

// empty reads the end tag of an element that must have no content.
func (x *xdec) empty(name string) error {
	for {
		tok, err := x.tokenNoEOF()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.EndElement:
			return nil
		case xml.StartElement:
			return x.errf("unexpected <%s> inside <%s/>", short(t.Name.Local), name)
		case xml.CharData:
			if !isSpace(t) {
				return x.errf("unexpected text inside <%s/>", name)
			}
		}
	}
}

func parseXMLInt(s string) (any, error) {
	orig := s
	s = strings.TrimSpace(s)
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	base := 10
	if len(s) >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		base = 16
		s = s[2:]
	}
	u, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return nil, fmt.Errorf("integer %q out of range", short(orig))
		}
		return nil, fmt.Errorf("invalid integer %q", short(orig))
	}
	if neg {
		switch {
		case u <= math.MaxInt64:
			return -int64(u), nil
		case u == 1<<63:
			return int64(math.MinInt64), nil
		}
		return nil, fmt.Errorf("integer %q out of range", short(orig))
	}
	return intValue(u), nil
}

func parseXMLReal(s string) (any, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) { // out of range gives ±Inf or 0
		return nil, fmt.Errorf("invalid real %q", short(s))
	}
	return f, nil
}

func parseXMLDate(s string) (any, error) {
	s = strings.TrimSpace(s)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		// Some writers omit the zone; plist dates are UTC.
		var err2 error
		if t, err2 = time.Parse("2006-01-02T15:04:05", s); err2 != nil {
			return nil, fmt.Errorf("invalid date %q: %w", short(s), err)
		}
	}
	return t.UTC(), nil
}

func parseXMLData(s string) (any, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, s)
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil && !strings.Contains(s, "=") {
		// Tolerate missing padding.
		if b2, err2 := base64.RawStdEncoding.DecodeString(s); err2 == nil {
			return b2, nil
		}
	}
	if err != nil {
		return nil, fmt.Errorf("invalid base64: %w", err)
	}
	return b, nil
}
