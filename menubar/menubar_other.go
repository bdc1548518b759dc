//go:build !darwin

package menubar

import "errors"

// Menu is the menu-bar item; only macOS has one here (Linux's tray is
// fyne.io/systray, in the agent's main package).
type Menu struct{}

// New fails: no menu bar of this kind here.
func New(title string, quit, action func()) (*Menu, error) { return nil, errors.ErrUnsupported }

// Set does nothing.
func (*Menu) Set(status []string, sections []Section, action string) {}

// Activate does nothing: window managers raise the agent's window.
func Activate() {}
