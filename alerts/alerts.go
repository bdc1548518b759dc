// Package alerts dismisses the system's own alert about a program the
// enforcer denied, so that the user sees Gatehouse's dialog instead of
// two. On macOS, a program denied while LaunchServices starts it (from
// Finder, the Dock, `open`) makes CoreServicesUIAgent show "“X” can't be
// opened"; the agent finds that alert through System Events and presses
// its Cancel button (an AppleScript run through NSAppleScript, with the
// com.apple.security.automation.apple-events entitlement and the user's
// Automation consent), or, failing that, through the Accessibility API.
// Elsewhere there is no such alert and Dismiss returns
// errors.ErrUnsupported.
//
// Pressing a button of another program's window is done with care: only
// the alert that names the denied app, only a window without a text
// field (never a dialog the user is typing into), only its Cancel button
// — or its only button — never a default button among several (the
// Gatekeeper alert's default can be "Move to Trash"), and bounded in
// time, since a hung System Events must not freeze the agent.
package alerts

import (
	"context"
	"errors"
	"strconv"
	"strings"
)

// ErrNotPermitted is returned when the user has not allowed the agent to
// control System Events (Automation) or to use Accessibility: nothing was
// done. The Privacy Preferences Policy Control profile in
// docs/agent.md grants both.
var ErrNotPermitted = errors.New("the agent may not control System Events (Automation) or use Accessibility; install the Gatehouse PPPC profile or allow it in System Settings > Privacy & Security")

// ErrNoAlert is returned when no alert naming the app was found.
var ErrNoAlert = errors.New("no alert about the app was found")

// Dismisser dismisses the system's alert about a denied app.
type Dismisser interface {
	// Dismiss presses the Cancel (or only) button of the alert that
	// names app (the bundle's name, as the alert shows it). It returns
	// ErrNoAlert when there is none, ErrNotPermitted when it may not
	// look, and gives up when ctx ends.
	Dismiss(ctx context.Context, app string) error
}

// Script is the AppleScript that dismisses the alert naming app, bounded
// to timeout seconds of waiting on System Events. It returns "dismissed",
// "none" (no such alert) or "ambiguous" (the alert has several buttons and
// no Cancel button: nothing is pressed).
func Script(app string, timeout int) string {
	var b strings.Builder
	b.WriteString("with timeout of ")
	b.WriteString(strconv.Itoa(max(timeout, 1)))
	b.WriteString(" seconds\n")
	b.WriteString(`tell application "System Events"
	if not (exists process "CoreServicesUIAgent") then return "none"
	tell process "CoreServicesUIAgent"
		repeat with w in windows
			set t to ""
			try
				set t to (value of static texts of w) as text
			end try
			if t contains `)
	b.WriteString(Quote(app))
	b.WriteString(` and (count of text fields of w) is 0 then
				set c to missing value
				try
					set c to value of attribute "AXCancelButton" of w
				end try
				if c is missing value then
					if (count of buttons of w) is not 1 then return "ambiguous"
					set c to button 1 of w
				end if
				click c
				return "dismissed"
			end if
		end repeat
	end tell
end tell
return "none"
end timeout
`)
	return b.String()
}

// Quote makes s an AppleScript string literal: in double quotes, with
// backslashes and double quotes escaped. Other characters, non-ASCII ones
// included, stand for themselves (NSAppleScript's source is Unicode); a
// line break is written as an escape so it cannot end the literal.
func Quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// Result interprets what Script returned.
func Result(out string) error {
	switch strings.TrimSpace(out) {
	case "dismissed":
		return nil
	case "none":
		return ErrNoAlert
	case "ambiguous":
		return errAmbiguous
	}
	return errors.New("the dismissal script returned " + Quote(out))
}

// AppName is the name macOS's alert gives the program at path: the
// bundle's folder name without .app, for a program inside a bundle
// (…/Name.app/Contents/MacOS/…), and false for anything else (a
// command-line tool, which gets no such alert).
func AppName(path string) (string, bool) {
	i := strings.Index(path, ".app/Contents/MacOS/")
	if i < 0 {
		return "", false
	}
	name := path[strings.LastIndexByte(path[:i], '/')+1 : i]
	return name, name != ""
}
