package app

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/localapi"
)

// Bridge holds the methods the dialogs call (see model.go). Wails binds it
// as window.go.app.Bridge.
type Bridge struct{ a *Agent }

// Bridge returns the agent's dialog bridge.
func (a *Agent) Bridge() *Bridge { return &Bridge{a: a} }

// callTimeout bounds one call to the enforcer from a button.
const callTimeout = 10 * time.Second

// Current returns the dialog to show now, or nil.
func (b *Bridge) Current() (*Dialog, error) { return b.a.current(), nil }

// onScreen checks that id is the dialog on screen: a button of a dialog
// that has gone (closed from the terminal, say) must not act.
func (b *Bridge) onScreen(id int64) (*Dialog, error) {
	d := b.a.current()
	if d == nil || d.RequestID != id {
		return nil, fmt.Errorf("request %d is no longer waiting for you; close this window", id)
	}
	return d, nil
}

// Continue answers a warning (reason "") or a justification.
func (b *Bridge) Continue(id int64, reason string) (Outcome, error) {
	d, err := b.onScreen(id)
	if err != nil {
		return Outcome{}, err
	}
	if d.Kind != DialogWarning && d.Kind != DialogJustification {
		return Outcome{}, fmt.Errorf("this %s dialog has no Continue", d.Kind)
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := b.a.opt.API.Answer(ctx, id, localapi.Answer{Reason: strings.TrimSpace(reason)}); err != nil {
		return Outcome{}, errText(err)
	}
	b.a.kick()
	return b.a.relaunch(d), nil
}

// Cancel closes the dialog and withdraws its request. It always closes the
// dialog; a request that is already closed is not an error.
func (b *Bridge) Cancel(id int64) error {
	if id == AdminDialogID {
		b.a.next(id) // it answers no request
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := b.a.opt.API.Answer(ctx, id, localapi.Answer{Cancel: true}); err != nil {
		var ae *localapi.APIError
		if !errors.As(err, &ae) {
			b.a.log.Warn("cancel request", "request", id, "err", err)
		}
	}
	b.a.kick()
	b.a.next(id)
	return nil
}

// RequestApproval submits an approval request with an optional window
// (RFC 3339 times, or "").
func (b *Bridge) RequestApproval(id int64, reason, windowStart, windowEnd string) (Outcome, error) {
	d, err := b.onScreen(id)
	if err != nil {
		return Outcome{}, err
	}
	if d.Kind != DialogApproval && d.Kind != DialogApprovalOffline {
		return Outcome{}, fmt.Errorf("this %s dialog does not ask for approval", d.Kind)
	}
	ans := localapi.Answer{Reason: strings.TrimSpace(reason)}
	if ans.WindowStart, err = parseWindowTime("start", windowStart); err != nil {
		return Outcome{}, err
	}
	if ans.WindowEnd, err = parseWindowTime("end", windowEnd); err != nil {
		return Outcome{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := b.a.opt.API.Answer(ctx, id, ans); err != nil {
		return Outcome{}, errText(err)
	}
	b.a.kick()
	return Outcome{Message: fmt.Sprintf("Your request to run %s was sent for approval. A notification will tell you when it is decided.", d.Program.Name)}, nil
}

func parseWindowTime(which, s string) (time.Time, error) {
	if strings.TrimSpace(s) == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("the window %s %q is not a date and time", which, s)
	}
	return t, nil
}

// SubmitResponseCode sends the help desk's response code of an offline
// approval; a right code lets the program run (and relaunches it).
func (b *Bridge) SubmitResponseCode(id int64, code string) (Outcome, error) {
	d, err := b.onScreen(id)
	if err != nil {
		return Outcome{}, err
	}
	if d.Kind != DialogApprovalOffline {
		return Outcome{}, fmt.Errorf("this %s dialog takes no response code", d.Kind)
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := b.a.opt.API.OfflineRespond(ctx, id, code); err != nil {
		return Outcome{}, errText(err)
	}
	b.a.kick()
	return b.a.relaunch(d), nil
}

// Close closes the dialog on screen after its outcome was shown.
func (b *Bridge) Close() error {
	if d := b.a.current(); d != nil {
		b.a.next(d.RequestID)
	}
	return nil
}

// relaunch starts the program of d again now that a grant lets it through,
// and closes the dialog; a terminal program is left to the user.
func (a *Agent) relaunch(d *Dialog) Outcome {
	r, _ := a.request(d.RequestID)
	if d.Program.AppType == authAppType {
		// An authorization request: the program asks again by itself, or
		// the user does what they did again; nothing is started here.
		return Outcome{Message: fmt.Sprintf("%s may now have what it asked for. Try again.", d.Program.Name)}
	}
	if d.Program.Terminal {
		return Outcome{Message: fmt.Sprintf("%s may run now. Run it again from the terminal where you started it.", d.Program.Name)}
	}
	if err := a.opt.Launcher.Launch(d.Program.Path, d.Program.Args, r.Cwd); err != nil {
		a.log.Warn("relaunch", "path", d.Program.Path, "err", err)
		return Outcome{Message: fmt.Sprintf("%s may run now, but starting it again failed (%v). Start it yourself.", d.Program.Name, err)}
	}
	a.log.Info("relaunched", "path", d.Program.Path, "request", d.RequestID)
	a.next(d.RequestID)
	return Outcome{Relaunched: true, Close: true}
}
