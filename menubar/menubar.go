// Package menubar is the agent's menu-bar item on macOS: an NSStatusItem
// whose NSMenu shows what the Linux tray shows — the connection and policy
// line, the open requests, the recent decisions, Quit — from the same
// model (app.TrayStatus, app.TrayLines). It calls AppKit through
// purego/objc, without cgo, so it is compiled and vetted on Linux; every
// call runs on the main thread (internal/mainthread). Elsewhere New
// returns errors.ErrUnsupported. Not yet run on a Mac.
package menubar

import "strconv"

// Section is a titled list of lines in the menu; Empty is shown when
// Lines is empty.
type Section struct {
	Title string
	Lines []string
	Empty string
}

// maxLines bounds the lines of a section; the last says how many more.
const maxLines = 5

// Lines is what a section shows: at most maxLines, the last of a longer
// list replaced by "… and N more", or Empty alone.
func (s Section) shown() []string {
	if len(s.Lines) == 0 {
		return []string{s.Empty}
	}
	if len(s.Lines) <= maxLines {
		return s.Lines
	}
	out := append([]string(nil), s.Lines[:maxLines-1]...)
	return append(out, "… and "+strconv.Itoa(len(s.Lines)-maxLines+1)+" more")
}
