package xar

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// The TOC as parsed, before its entries are checked (Read's addEntries).
type (
	parsedTOC struct {
		checksum *tocChecksum
		files    []*tocFile
	}
	tocChecksum struct {
		style        string
		offset, size int64
	}
	tocFile struct {
		name     string
		typ      string
		mode     uint32
		mtime    time.Time
		data     *tocData
		children []*tocFile
	}
	tocData struct {
		offset, length, size int64
		encoding             string
		archived, extracted  tocSum
	}
	tocSum struct {
		style  string
		digest []byte
	}
)

// maxDepth bounds the nesting of <file> elements: a path of MaxPathLen
// bytes has at most this many components.
const maxDepth = MaxPathLen/2 + 1

// parseTOC reads the elements of a TOC that this package uses and skips
// the rest (creation-time, signature, x-signature, owners, inodes, ea...).
// encoding/xml expands no entities beyond XML's five and reads no DTD, so
// a TOC cannot grow past its own size while parsed.
func parseTOC(toc []byte) (*parsedTOC, error) {
	d := xml.NewDecoder(bytes.NewReader(toc))
	d.Strict = true
	p := &tocParser{d: d}
	out, err := p.document()
	if err != nil {
		if errors.Is(err, ErrFormat) || errors.Is(err, ErrLimit) || errors.Is(err, ErrInvalidName) || errors.Is(err, errors.ErrUnsupported) {
			return nil, fmt.Errorf("xar: TOC: %w", err)
		}
		return nil, fmt.Errorf("xar: %w: TOC: %w", ErrFormat, err)
	}
	return out, nil
}

type tocParser struct {
	d     *xml.Decoder
	files int
}

func (p *tocParser) token() (xml.Token, error) {
	tok, err := p.d.Token()
	if err == io.EOF {
		return nil, fmt.Errorf("%w: the TOC ends inside an element", ErrFormat)
	}
	return tok, err
}

func (p *tocParser) document() (*parsedTOC, error) {
	out := &parsedTOC{}
	seenRoot, seenTOC := false, false
	for {
		tok, err := p.d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		t, ok := tok.(xml.StartElement)
		if !ok {
			continue // the declaration, comments, whitespace
		}
		if seenRoot || t.Name.Local != "xar" {
			return nil, fmt.Errorf("%w: <%.40s> where only one <xar> may be", ErrFormat, t.Name.Local)
		}
		seenRoot = true
		if err := p.children(func(t xml.StartElement) error {
			if t.Name.Local != "toc" {
				return p.d.Skip()
			}
			if seenTOC {
				return fmt.Errorf("%w: two <toc> elements", ErrFormat)
			}
			seenTOC = true
			return p.toc(out)
		}); err != nil {
			return nil, err
		}
	}
	if !seenTOC {
		return nil, fmt.Errorf("%w: no <xar><toc>", ErrFormat)
	}
	return out, nil
}

// children calls f for each child element of the element just opened,
// until its end; f must consume the child (to its end element).
func (p *tocParser) children(f func(xml.StartElement) error) error {
	for {
		tok, err := p.token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := f(t); err != nil {
				return err
			}
		case xml.EndElement:
			return nil
		}
	}
}

func (p *tocParser) toc(out *parsedTOC) error {
	return p.children(func(t xml.StartElement) error {
		switch t.Name.Local {
		case "checksum":
			if out.checksum != nil {
				return fmt.Errorf("%w: two <checksum> elements", ErrFormat)
			}
			c, err := p.checksum(t)
			out.checksum = c
			return err
		case "file":
			f, err := p.file(1)
			out.files = append(out.files, f)
			return err
		}
		return p.d.Skip()
	})
}

func (p *tocParser) checksum(start xml.StartElement) (*tocChecksum, error) {
	c := &tocChecksum{style: attr(start, "style"), offset: -1, size: -1}
	err := p.children(func(t xml.StartElement) error {
		switch t.Name.Local {
		case "offset":
			return p.number(t, &c.offset)
		case "size":
			return p.number(t, &c.size)
		}
		return p.d.Skip()
	})
	if err == nil && (c.offset < 0 || c.size < 0) {
		err = fmt.Errorf("%w: <checksum> lacks <offset> or <size>", ErrFormat)
	}
	return c, err
}

func (p *tocParser) file(depth int) (*tocFile, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: <file> elements nested over %d deep", ErrLimit, maxDepth)
	}
	p.files++
	if p.files > MaxEntries {
		return nil, fmt.Errorf("%w: over %d entries", ErrLimit, MaxEntries)
	}
	f := &tocFile{}
	seen := map[string]bool{}
	once := func(t xml.StartElement) error {
		if seen[t.Name.Local] {
			return fmt.Errorf("%w: a <file> with two <%s> elements", ErrFormat, t.Name.Local)
		}
		seen[t.Name.Local] = true
		return nil
	}
	err := p.children(func(t xml.StartElement) error {
		switch t.Name.Local {
		case "name", "type", "mode", "mtime", "data":
			if err := once(t); err != nil {
				return err
			}
		}
		switch t.Name.Local {
		case "name":
			s, err := p.text()
			if err != nil {
				return err
			}
			switch enc := attr(t, "enctype"); enc {
			case "":
			case "base64":
				b, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(s), ""))
				if err != nil {
					return fmt.Errorf("%w: a base64 <name>: %w", ErrFormat, err)
				}
				s = string(b)
			default:
				return fmt.Errorf("%w: <name enctype=%.40q>", errors.ErrUnsupported, enc)
			}
			f.name = s
		case "type":
			s, err := p.text()
			f.typ = strings.TrimSpace(s)
			return err
		case "mode":
			s, err := p.text()
			if err != nil {
				return err
			}
			m, err := strconv.ParseUint(strings.TrimSpace(s), 8, 32)
			if err != nil || m > 0o7777 {
				return fmt.Errorf("%w: <mode>%.40s</mode>", ErrFormat, s)
			}
			f.mode = uint32(m)
		case "mtime":
			s, err := p.text()
			if err != nil {
				return err
			}
			s = strings.TrimSpace(s)
			tm, err := time.Parse(timeLayout, s)
			if err != nil {
				if tm, err = time.Parse(time.RFC3339, s); err != nil {
					return fmt.Errorf("%w: <mtime>%.40s</mtime>", ErrFormat, s)
				}
			}
			f.mtime = tm.UTC()
		case "data":
			d, err := p.data()
			f.data = d
			return err
		case "file":
			c, err := p.file(depth + 1)
			f.children = append(f.children, c)
			return err
		default:
			return p.d.Skip()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if !seen["name"] {
		return nil, fmt.Errorf("%w: a <file> without a <name>", ErrFormat)
	}
	return f, nil
}

func (p *tocParser) data() (*tocData, error) {
	d := &tocData{offset: -1, length: -1, size: -1}
	seen := map[string]bool{}
	err := p.children(func(t xml.StartElement) error {
		k := t.Name.Local
		switch k {
		case "offset", "length", "size", "encoding", "archived-checksum", "extracted-checksum":
			if seen[k] {
				return fmt.Errorf("%w: a <data> with two <%s> elements", ErrFormat, k)
			}
			seen[k] = true
		}
		switch k {
		case "offset":
			return p.number(t, &d.offset)
		case "length":
			return p.number(t, &d.length)
		case "size":
			return p.number(t, &d.size)
		case "encoding":
			d.encoding = attr(t, "style")
			return p.d.Skip()
		case "archived-checksum":
			return p.sum(t, &d.archived)
		case "extracted-checksum":
			return p.sum(t, &d.extracted)
		}
		return p.d.Skip()
	})
	if err == nil && (d.offset < 0 || d.length < 0 || d.size < 0) {
		err = fmt.Errorf("%w: <data> lacks <offset>, <length> or <size>", ErrFormat)
	}
	return d, err
}

func (p *tocParser) sum(start xml.StartElement, s *tocSum) error {
	s.style = attr(start, "style")
	text, err := p.text()
	if err != nil {
		return err
	}
	s.digest, err = hex.DecodeString(strings.TrimSpace(text))
	if err != nil {
		return fmt.Errorf("%w: <%s> is not hexadecimal", ErrFormat, start.Name.Local)
	}
	return nil
}

// number reads a non-negative decimal integer element.
func (p *tocParser) number(start xml.StartElement, v *int64) error {
	s, err := p.text()
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("%w: <%s>%.40s</%s> is not a non-negative integer", ErrFormat, start.Name.Local, s, start.Name.Local)
	}
	*v = n
	return nil
}

// text reads the character data of a leaf element, to its end.
func (p *tocParser) text() (string, error) {
	var b strings.Builder
	for {
		tok, err := p.token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.CharData:
			b.Write(t)
		case xml.StartElement:
			return "", fmt.Errorf("%w: <%.40s> inside a text element", ErrFormat, t.Name.Local)
		case xml.EndElement:
			return b.String(), nil
		}
	}
}

func attr(t xml.StartElement, name string) string {
	for _, a := range t.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}
