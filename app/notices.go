package app

import (
	"context"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/notifications"
	"github.com/gatehouse/gatehouse/request"
)

// Notification texts. A request's notification keeps one ID through its
// states, so "submitted" is replaced by "approved" or "denied".

// blockedNotice posts "X was blocked" for a deny_notify notice and closes
// the notice. A stale notice (from before the agent started) is closed
// without a notification.
func (a *Agent) blockedNotice(ctx context.Context, r localapi.Request, fresh bool) {
	if fresh && a.opt.Notifier != nil {
		body := r.Title
		if r.Body != "" {
			body = joinLines(body, r.Body)
		}
		a.post(ctx, notifications.Notification{
			ID: requestNotificationID(r.ID), Title: programName(r.Path) + " was blocked", Body: body,
		})
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := a.opt.API.Answer(cctx, r.ID, localapi.Answer{Cancel: true}); err != nil {
		a.log.Warn("close notice", "request", r.ID, "err", err)
	}
}

// decisionNotice tells the user that an approval request was submitted,
// approved or denied, and marks the request seen so that it is not told
// twice (not even by the next run of the agent).
func (a *Agent) decisionNotice(ctx context.Context, r localapi.Request) {
	if a.opt.Notifier == nil {
		return
	}
	name := programName(r.Path)
	n := notifications.Notification{ID: requestNotificationID(r.ID), Payload: fmt.Sprint(r.ID)}
	switch r.State {
	case request.Submitted:
		n.Title = "Approval requested for " + name
		if r.AppType == adminAppType {
			n.Title = "Admin rights requested"
		}
		n.Body = "Your request was sent. You will be notified when it is decided."
	case request.Approved:
		n.Title = name + " was approved"
		switch {
		case r.AppType == adminAppType:
			// The session started at the approval; nothing to open.
			n.Title = "Admin rights approved"
			n.Body = "You have admin rights now; the menu shows until when."
		case r.AppType == authAppType:
			n.Body = "Try again."
		case r.AppType == "sudo":
			// Approved to run as root through gatehouse sudo: never
			// relaunched here (that would run it without sudo).
			n.Title = name + " was approved to run as root"
			n.Body = "Run the same gatehouse sudo command again."
		case r.Terminal:
			n.Body = "Run it again from the terminal."
		default:
			n.Body = "Click to open it."
			n.Actions = []notifications.Action{{Key: notifications.DefaultAction, Label: "Open"}}
		}
		if !r.WindowEnd.IsZero() {
			n.Body = joinLines(n.Body, windowText(r.WindowStart, r.WindowEnd))
		}
	case request.Denied:
		n.Title = "Your request for " + name + " was denied"
		if r.AppType == adminAppType {
			n.Title = "Your request for admin rights was denied"
		}
		n.Body = "Contact your IT department if you still need it."
	default:
		return
	}
	if !a.post(ctx, n) {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if _, err := a.opt.API.Seen(cctx, r.ID); err != nil {
		a.log.Warn("mark request seen", "request", r.ID, "err", err)
	}
}

func (a *Agent) post(ctx context.Context, n notifications.Notification) bool {
	cctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	if err := a.opt.Notifier.Post(cctx, n); err != nil {
		a.log.Warn("post notification", "id", n.ID, "err", err)
		return false
	}
	return true
}

func windowText(start, end time.Time) string {
	const layout = "Mon 2 Jan 15:04"
	if start.IsZero() {
		return "You may run it until " + end.Local().Format(layout) + "."
	}
	return "You may run it from " + start.Local().Format(layout) + " until " + end.Local().Format(layout) + "."
}

func joinLines(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "\n" + b
}

// notificationResponses acts on clicks: a click on an approved app's
// notification opens the app; every click or dismissal removes the
// notification.
func (a *Agent) notificationResponses(ctx context.Context) {
	for {
		var resp notifications.Response
		var ok bool
		select {
		case <-ctx.Done():
			return
		case resp, ok = <-a.opt.Notifier.Responses():
			if !ok {
				return // the notifier was closed
			}
		}
		id, ok := requestIDFromNotification(resp.ID)
		if !ok {
			continue
		}
		if resp.Kind == notifications.Clicked || resp.Kind == notifications.ActionInvoked {
			// A sudo command is run again through gatehouse sudo, never
			// opened here (that would run it without sudo); an admin
			// session has nothing to open.
			if r, known := a.request(id); known && r.State == request.Approved && !r.Terminal && r.AppType != "sudo" && r.AppType != adminAppType && r.AppType != authAppType {
				if now := a.opt.Now(); now.Before(r.WindowStart) || (!r.WindowEnd.IsZero() && !now.Before(r.WindowEnd)) {
					// Outside its approval window the enforcer would block
					// it again: say when it may run instead.
					a.post(ctx, notifications.Notification{ID: resp.ID, Title: programName(r.Path) + " cannot be opened now",
						Body: windowText(r.WindowStart, r.WindowEnd), Payload: resp.Payload,
						Actions: []notifications.Action{{Key: notifications.DefaultAction, Label: "Open"}}})
					continue
				}
				if err := a.opt.Launcher.Launch(r.Path, r.Args, r.Cwd); err != nil {
					a.log.Warn("open approved program", "path", r.Path, "err", err)
				} else {
					a.log.Info("opened approved program from its notification", "path", r.Path, "request", id)
				}
			}
		}
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		if err := a.opt.Notifier.Remove(cctx, resp.ID); err != nil {
			a.log.Debug("remove notification", "id", resp.ID, "err", err)
		}
		cancel()
	}
}
