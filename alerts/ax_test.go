package alerts

import (
	"errors"
	"testing"
)

// node is a fake UI element.
type node struct {
	role, value string
	kids        []*node
	cancel      *node
	pressed     *int
}

func (n *node) Role() string  { return n.role }
func (n *node) Value() string { return n.value }
func (n *node) Children() []element {
	out := make([]element, len(n.kids))
	for i, k := range n.kids {
		out[i] = k
	}
	return out
}
func (n *node) CancelButton() element {
	if n.cancel == nil {
		return nil
	}
	return n.cancel
}
func (n *node) Press() error { *n.pressed++; return nil }

func TestTheAccessibilityFallbackPressesOnlyTheRightButton(t *testing.T) {
	var okPressed, trashPressed, cancelPressed, otherPressed int
	text := func(s string) *node { return &node{role: "AXStaticText", value: s} }
	// The alert about Tool: one OK button.
	toolAlert := &node{role: "AXWindow", kids: []*node{text("“Tool” can't be opened."), {role: "AXButton", value: "OK", pressed: &okPressed}}}
	// Gatekeeper's: Move to Trash (default) and Cancel.
	cancel := &node{role: "AXButton", value: "Cancel", pressed: &cancelPressed}
	gatekeeper := &node{role: "AXWindow", cancel: cancel, kids: []*node{text("“Tool” can't be opened because Apple cannot check it."),
		{role: "AXButton", value: "Move to Trash", pressed: &trashPressed}, cancel}}
	// Another app's alert with two buttons and no Cancel.
	two := &node{role: "AXWindow", kids: []*node{text("“Tool” wants to do something"),
		{role: "AXButton", value: "Allow", pressed: &otherPressed}, {role: "AXButton", value: "Deny", pressed: &otherPressed}}}
	// A dialog the user types into that names the app.
	typing := &node{role: "AXWindow", kids: []*node{text("Rename “Tool”"), {role: "AXTextField"}, {role: "AXButton", pressed: &otherPressed}}}

	if err := pressAlert([]element{typing, toolAlert}, "Tool"); err != nil || okPressed != 1 || otherPressed != 0 {
		t.Errorf("the Tool alert: %v, OK pressed %d, others %d", err, okPressed, otherPressed)
	}
	if err := pressAlert([]element{gatekeeper}, "Tool"); err != nil || cancelPressed != 1 || trashPressed != 0 {
		t.Errorf("Gatekeeper's alert: %v, Cancel %d, Move to Trash %d", err, cancelPressed, trashPressed)
	}
	if err := pressAlert([]element{two}, "Tool"); !errors.Is(err, errAmbiguous) || otherPressed != 0 {
		t.Errorf("two buttons and no Cancel: %v, pressed %d", err, otherPressed)
	}
	if err := pressAlert([]element{toolAlert}, "Other"); !errors.Is(err, ErrNoAlert) {
		t.Errorf("an alert about another app: %v", err)
	}
	// A deep or huge tree is walked only so far.
	deep := &node{role: "AXWindow"}
	n := deep
	for range 20 {
		c := &node{role: "AXGroup"}
		n.kids = []*node{c}
		n = c
	}
	n.kids = []*node{text("“Tool” can't be opened."), {role: "AXButton", pressed: &otherPressed}}
	if err := pressAlert([]element{deep}, "Tool"); !errors.Is(err, ErrNoAlert) || otherPressed != 0 {
		t.Errorf("a tree past the depth bound: %v", err)
	}
}
