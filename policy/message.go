package policy

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// MessagePlaceholders are the names a message may use as {name}. Write {{
// for a literal brace.
var MessagePlaceholders = []string{
	"path", "name", "sha1", "sha256", "bundle_id", "version", "publisher",
	"team_id", "signing_id", "source", "user", "machine", "rule", "group",
	"action", "policy", "revision",
}

// MessageTemplate is a compiled message: literal text and placeholders.
type MessageTemplate struct {
	title, body, url []part
}

type part struct {
	lit string
	ph  string // placeholder name; empty for literal text
}

// RenderedMessage is a message with its placeholders filled, ready for a
// dialog, a notification or a terminal.
type RenderedMessage struct {
	Title string `json:"title,omitempty"`
	Body  string `json:"body,omitempty"`
	URL   string `json:"url,omitempty"`
}

func parseTemplate(s string) ([]part, error) {
	var parts []part
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			if i+1 < len(s) && s[i+1] == '{' {
				lit.WriteByte('{')
				i++
				continue
			}
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unclosed { at character %d; write {{ for a literal brace", i+1)
			}
			name := s[i+1 : i+end]
			if !contains(MessagePlaceholders, name) {
				return nil, fmt.Errorf("unknown placeholder {%s}%s; known: {%s}", name, didYouMean(name, MessagePlaceholders), strings.Join(MessagePlaceholders, "}, {"))
			}
			if lit.Len() > 0 {
				parts = append(parts, part{lit: lit.String()})
				lit.Reset()
			}
			parts = append(parts, part{ph: name})
			i += end
		case '}':
			if i+1 < len(s) && s[i+1] == '}' {
				i++
			}
			lit.WriteByte('}')
		default:
			lit.WriteByte(s[i])
		}
	}
	if lit.Len() > 0 {
		parts = append(parts, part{lit: lit.String()})
	}
	return parts, nil
}

func (c *compiler) message(m *Message, where string) *MessageTemplate {
	if m == nil {
		return nil
	}
	t := &MessageTemplate{}
	for _, f := range []struct {
		name string
		src  string
		dst  *[]part
	}{{"title", m.Title, &t.title}, {"body", m.Body, &t.body}, {"url", m.URL, &t.url}} {
		p, err := parseTemplate(f.src)
		if err != nil {
			c.errorf(m.Pos, where+": "+f.name, "%v", err)
			continue
		}
		*f.dst = p
	}
	if m.URL != "" && !strings.HasPrefix(m.URL, "https://") && !strings.HasPrefix(m.URL, "http://") {
		c.errorf(m.Pos, where+": url", "%q is not an http(s) URL; start it with https://", m.URL)
	}
	if m.Title == "" && m.Body == "" {
		c.warnf(m.Pos, where, "the message has neither title nor body; the user will see the built-in text")
	}
	return t
}

// Render fills the placeholders from the decision and the facts. Values in
// the URL are query-escaped.
func (t *MessageTemplate) Render(d *Decision, f *Facts) RenderedMessage {
	if t == nil {
		return RenderedMessage{}
	}
	return RenderedMessage{
		Title: renderParts(t.title, d, f, false),
		Body:  renderParts(t.body, d, f, false),
		URL:   renderParts(t.url, d, f, true),
	}
}

func renderParts(parts []part, d *Decision, f *Facts, escape bool) string {
	var b strings.Builder
	for _, p := range parts {
		if p.ph == "" {
			b.WriteString(p.lit)
			continue
		}
		v := placeholderValue(p.ph, d, f)
		if escape {
			v = url.QueryEscape(v)
		}
		b.WriteString(v)
	}
	return b.String()
}

func placeholderValue(name string, d *Decision, f *Facts) string {
	switch name {
	case "path":
		return f.Path
	case "name":
		if f.Path == "" {
			return ""
		}
		return path.Base(f.Path)
	case "sha1":
		return f.SHA1
	case "sha256":
		return f.SHA256
	case "bundle_id":
		return f.BundleID
	case "version":
		return f.Version
	case "publisher":
		return f.Publisher
	case "team_id":
		return f.TeamID
	case "signing_id":
		return f.SigningID
	case "source":
		return f.Source
	case "user":
		return f.User
	case "machine":
		return f.Machine
	case "rule":
		if d.RuleName != "" {
			return d.RuleName
		}
		return strconv.Itoa(d.Rule)
	case "group":
		return d.Group
	case "action":
		return d.Action.String()
	case "policy":
		return d.PolicyID
	case "revision":
		return strconv.FormatInt(d.Revision, 10)
	}
	return ""
}
