// Package notifications posts OS notifications for the per-user agent and
// reports what the user did with them: a click on the body, a button, a
// dismissal, or the server closing the notification by itself.
//
// One constructor, [New], picks the implementation at compile time:
//
//   - Linux: org.freedesktop.Notifications over the session D-Bus (godbus),
//     with actions, ActionInvoked and NotificationClosed mapped back to the
//     caller's [Notification.ID]. When the server lacks the "actions"
//     capability, or no server answers, notifications go out through beeep
//     (post only) and [Notifier.Actions] reports false.
//   - macOS: UNUserNotificationCenter through purego's Objective-C runtime,
//     with beeep as the last fallback. That code has not been run on a Mac;
//     see docs/notifications.md.
//   - Elsewhere: [errors.ErrUnsupported].
//
// Titles, bodies and labels often come from policy files and program
// metadata, so they are untrusted: they are made valid UTF-8, stripped of
// control characters, cut to a bounded length and, where the server renders
// markup in bodies, escaped. None of them can make Post fail or crash.
//
// The package fake provides an in-memory [Notifier] for the agent's tests.
package notifications

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
)

// DefaultAction is the action key of a click on the notification body.
const DefaultAction = "default"

// Notification is one notification as the agent means it.
type Notification struct {
	// ID is the caller's stable key, such as "request-42". Posting the same
	// ID again replaces the notification shown under it.
	ID string
	// Title and Body are shown to the user as plain text.
	Title, Body string
	// Actions are the buttons, in order. A click on the body is reported as
	// [Clicked] whether or not an action with key [DefaultAction] is listed;
	// listing one sets its label where the server shows it.
	Actions []Action
	// Payload stays in this process and comes back in every [Response] for
	// this ID (on macOS it travels in the notification's userInfo, so it
	// survives the agent restarting).
	Payload string
}

// Action is one button: Key comes back in [Response.ActionKey], Label is
// what the user sees.
type Action struct {
	Key, Label string
}

// ResponseKind says what happened to a notification. Zero is unset.
type ResponseKind int

const (
	// Clicked: the user clicked the body (action key [DefaultAction]).
	Clicked ResponseKind = iota + 1
	// ActionInvoked: the user chose one of the notification's actions.
	ActionInvoked
	// Dismissed: the user closed the notification.
	Dismissed
	// Expired: the server closed it after its timeout.
	Expired
	// Closed: it went away without the user: another client closed it, the
	// notification server restarted, or the session bus went away.
	Closed
)

func (k ResponseKind) String() string {
	switch k {
	case Clicked:
		return "clicked"
	case ActionInvoked:
		return "action"
	case Dismissed:
		return "dismissed"
	case Expired:
		return "expired"
	case Closed:
		return "closed"
	}
	return fmt.Sprintf("ResponseKind(%d)", int(k))
}

// Response is what the user (or the server) did with a notification. Each
// posted notification gets at most one Response; after it the ID is free.
type Response struct {
	ID        string
	Kind      ResponseKind
	ActionKey string // the key for Clicked and ActionInvoked, else empty
	Payload   string // the Notification's Payload
}

// Notifier posts notifications and delivers responses to them.
type Notifier interface {
	// Post shows n, replacing any notification posted earlier with n.ID.
	Post(ctx context.Context, n Notification) error
	// Remove takes the notification with this ID off the screen. It
	// produces no Response. Removing an unknown ID is not an error.
	Remove(ctx context.Context, id string) error
	// Responses delivers what the user did. It is closed by Close. A reader
	// that falls more than a few dozen responses behind loses the newest
	// ones (each loss is logged).
	Responses() <-chan Response
	// Actions reports whether clicks and buttons are delivered with the
	// notification server in use now. It can change when the server does.
	Actions() bool
	// Close stops delivering responses and releases the connection. It
	// leaves posted notifications on screen.
	Close() error
}

// Options configure [New].
type Options struct {
	// AppName is the application name the server shows; "Gatehouse" if empty.
	AppName string
	// Logger receives the one-time notice that clicks are unavailable and
	// connection changes; slog.Default() if nil.
	Logger *slog.Logger
}

// ErrClosed is returned by Post and Remove after Close.
var ErrClosed = errors.New("notifier is closed")

// New returns the platform's Notifier. It does not fail when no
// notification server is running: it falls back, or connects on the next
// Post.
func New(opts Options) (Notifier, error) {
	if opts.AppName == "" {
		opts.AppName = "Gatehouse"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.AppName = cleanText(opts.AppName, maxTitle)
	return newPlatform(opts)
}

// responseBuffer is how many responses wait for a slow reader. They arrive
// at the speed of a person clicking.
const responseBuffer = 64
