// Package fake is an in-memory notifications.Notifier for the agent's unit
// tests: it records what is shown and lets the test answer as the user.
package fake

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/gatehouse/gatehouse/notifications"
)

// Notifier records notifications instead of showing them.
type Notifier struct {
	mu        sync.Mutex
	shown     []notifications.Notification // in posting order
	actions   bool
	closed    bool
	postErr   error
	responses chan notifications.Response
}

var _ notifications.Notifier = (*Notifier)(nil)

// New returns a Notifier whose Actions reports true.
func New() *Notifier {
	return &Notifier{actions: true, responses: make(chan notifications.Response, 64)}
}

// Post records n, replacing an earlier one with the same ID (it moves to
// the end). It checks n as the real notifiers do.
func (f *Notifier) Post(_ context.Context, n notifications.Notification) error {
	if err := n.Validate(); err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return notifications.ErrClosed
	}
	if f.postErr != nil {
		return f.postErr
	}
	n.Actions = slices.Clone(n.Actions)
	f.shown = slices.DeleteFunc(f.shown, func(s notifications.Notification) bool { return s.ID == n.ID })
	f.shown = append(f.shown, n)
	return nil
}

// Remove forgets the notification with this ID.
func (f *Notifier) Remove(_ context.Context, id string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return notifications.ErrClosed
	}
	f.shown = slices.DeleteFunc(f.shown, func(s notifications.Notification) bool { return s.ID == id })
	return nil
}

// Responses delivers what Respond sends.
func (f *Notifier) Responses() <-chan notifications.Response { return f.responses }

// Actions reports what SetActions set (true by default).
func (f *Notifier) Actions() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.actions
}

// SetActions sets what Actions reports, as for a server without clicks.
func (f *Notifier) SetActions(ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.actions = ok
}

// FailPosts makes every later Post return err (nil to stop).
func (f *Notifier) FailPosts(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.postErr = err
}

// Close closes Responses.
func (f *Notifier) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.closed {
		f.closed = true
		close(f.responses)
	}
	return nil
}

// Shown returns the notifications on screen, oldest first.
func (f *Notifier) Shown() []notifications.Notification {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.shown)
}

// Get returns the notification shown with this ID.
func (f *Notifier) Get(id string) (notifications.Notification, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.shown {
		if s.ID == id {
			return s, true
		}
	}
	return notifications.Notification{}, false
}

// Respond answers the notification with this ID as the user would and
// takes it off the screen: kind Clicked (key "default"), ActionInvoked
// (key must be one of its actions), Dismissed, Expired or Closed. It fails
// for an ID not shown, an unknown action, or a reader that is 64 behind.
func (f *Notifier) Respond(id string, kind notifications.ResponseKind, key string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return notifications.ErrClosed
	}
	i := slices.IndexFunc(f.shown, func(s notifications.Notification) bool { return s.ID == id })
	if i < 0 {
		return fmt.Errorf("fake: no notification %q is shown", id)
	}
	n := f.shown[i]
	switch kind {
	case notifications.Clicked:
		key = notifications.DefaultAction
	case notifications.ActionInvoked:
		if !slices.ContainsFunc(n.Actions, func(a notifications.Action) bool { return a.Key == key }) {
			return fmt.Errorf("fake: notification %q has no action %q", id, key)
		}
	default:
		key = ""
	}
	r := notifications.Response{ID: id, Kind: kind, ActionKey: key, Payload: n.Payload}
	select {
	case f.responses <- r:
	default:
		return fmt.Errorf("fake: responses buffer full")
	}
	f.shown = slices.Delete(f.shown, i, i+1)
	return nil
}
