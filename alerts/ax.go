package alerts

import (
	"errors"
	"strings"
)

// The Accessibility fallback: when the agent may not control System
// Events but is trusted for Accessibility, it reads the alerting process's
// windows itself and presses the button, by the same rules as Script.
// The rules are written over a small interface so they are tested here
// with a fake tree; on macOS the elements are AXUIElements.

// element is what the fallback reads of a UI element.
type element interface {
	Role() string // AXRole: AXWindow, AXStaticText, AXButton, AXTextField, …
	// Value is AXValue as text ("" if none or not text).
	Value() string
	Children() []element
	// CancelButton is the window's AXCancelButton, nil if it has none.
	CancelButton() element
	Press() error
}

// errAmbiguous: the alert has several buttons and none is its Cancel.
var errAmbiguous = errors.New("the alert about the app has several buttons and no Cancel button: nothing was pressed")

// maxDepth and maxNodes bound the walk of another process's UI tree.
const (
	maxDepth = 8
	maxNodes = 500
)

// pressAlert presses the Cancel (or only) button of the first window among
// windows whose static texts name app and that has no text input.
func pressAlert(windows []element, app string) error {
	for _, w := range windows {
		var texts []string
		var buttons []element
		input := false
		nodes := 0
		var walk func(e element, depth int)
		walk = func(e element, depth int) {
			if nodes++; nodes > maxNodes || depth > maxDepth {
				return
			}
			switch e.Role() {
			case "AXStaticText":
				texts = append(texts, e.Value())
			case "AXButton":
				buttons = append(buttons, e)
			case "AXTextField", "AXTextArea", "AXSecureTextField", "AXComboBox", "AXSearchField":
				input = true
			}
			for _, c := range e.Children() {
				walk(c, depth+1)
			}
		}
		walk(w, 0)
		if input || !strings.Contains(strings.Join(texts, "\n"), app) {
			continue
		}
		b := w.CancelButton()
		if b == nil {
			if len(buttons) != 1 {
				return errAmbiguous
			}
			b = buttons[0]
		}
		return b.Press()
	}
	return ErrNoAlert
}
