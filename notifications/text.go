package notifications

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what reaches a notification server. Longer text is cut; nobody
// reads more in a notification, and servers differ in what they accept.
const (
	maxID      = 256
	maxTitle   = 200
	maxBody    = 2000
	maxLabel   = 64
	maxKey     = 64
	maxPayload = 64 << 10
	maxActions = 8
)

// Validate reports whether n can be posted. Only what the caller controls
// (the ID, action keys, the payload size) can be wrong; untrusted text in
// titles, bodies and labels is cleaned, never refused.
func (n Notification) Validate() error {
	if n.ID == "" {
		return errors.New("notification has no ID")
	}
	if len(n.ID) > maxID || !utf8.ValidString(n.ID) || strings.ContainsRune(n.ID, 0) {
		return fmt.Errorf("notification ID %.40q: want valid UTF-8 without NUL, at most %d bytes", n.ID, maxID)
	}
	if len(n.Payload) > maxPayload {
		return fmt.Errorf("notification %s: payload is %d bytes, at most %d", n.ID, len(n.Payload), maxPayload)
	}
	if !utf8.ValidString(n.Payload) || strings.ContainsRune(n.Payload, 0) {
		// On macOS the payload travels as an NSString.
		return fmt.Errorf("notification %s: payload must be valid UTF-8 without NUL", n.ID)
	}
	if len(n.Actions) > maxActions {
		return fmt.Errorf("notification %s: %d actions, at most %d", n.ID, len(n.Actions), maxActions)
	}
	seen := make(map[string]bool, len(n.Actions))
	for _, a := range n.Actions {
		if a.Key == "" || len(a.Key) > maxKey || !isKey(a.Key) {
			return fmt.Errorf("notification %s: action key %.40q: want 1-%d characters of [A-Za-z0-9._-]", n.ID, a.Key, maxKey)
		}
		if seen[a.Key] {
			return fmt.Errorf("notification %s: action key %q appears twice", n.ID, a.Key)
		}
		seen[a.Key] = true
	}
	return nil
}

// isKey keeps action keys to characters every platform passes through
// unchanged (macOS action identifiers, D-Bus strings, dunst's menu lines).
func isKey(s string) bool {
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
		default:
			return false
		}
	}
	return true
}

// cleanText makes untrusted text safe to hand to a notification server:
// valid UTF-8 (D-Bus drops a connection that sends anything else), no NUL
// or other control characters except newline and tab, and at most max runes
// (an ellipsis marks a cut).
func cleanText(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	b.Grow(min(len(s), max*4))
	n := 0
	for _, r := range s {
		if n == max {
			b.WriteRune('…')
			break
		}
		switch {
		case r == '\n' || r == '\t':
		case r == '\r':
			r = '\n'
		case unicode.IsControl(r), r == '\u2028', r == '\u2029':
			r = ' '
		case unicode.Is(unicode.Cf, r) && r != '\u200d':
			// Format characters (bidi overrides, zero-width) can make a
			// title read differently from what it is; the zero-width joiner
			// stays for emoji.
			continue
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// escapeMarkup escapes the characters that the freedesktop body markup (a
// small XML subset) gives meaning to, for servers with "body-markup".
func escapeMarkup(s string) string {
	return markupEscaper.Replace(s)
}

var markupEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// cleaned returns n with every untrusted field cleaned and the actions in
// the order they are shown.
func cleaned(n Notification) Notification {
	out := n
	out.Title = cleanText(n.Title, maxTitle)
	out.Body = cleanText(n.Body, maxBody)
	out.Actions = make([]Action, len(n.Actions))
	for i, a := range n.Actions {
		out.Actions[i] = Action{Key: a.Key, Label: cleanText(a.Label, maxLabel)}
	}
	return out
}
