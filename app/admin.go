package app

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/notifications"
)

// The user's admin session in the agent (docs/elevation.md): the menu's
// "Request admin rights…" (a dialog: how long, why) and "End admin
// rights", the time left in the menu, a notification before the end and
// one at the end. gatehoused ends the session by itself; the agent only
// shows it, so quitting the agent changes nothing.

// AdminAPI is what the agent needs of the enforcer for admin sessions
// (*localapi.Client); an API without it offers none.
type AdminAPI interface {
	AdminSession(ctx context.Context, q localapi.AdminSession) (localapi.AdminSessionResult, error)
	EndAdminSession(ctx context.Context) (localapi.AdminSessionResult, error)
}

// adminAppType marks admin-session requests and authAppType
// authorization requests (gatehoused's AppTypes).
const (
	adminAppType = "admin_session"
	authAppType  = "auth"
)

// AdminDialogID is the RequestID of the admin-rights dialog, which
// answers no request.
const AdminDialogID int64 = -1

// adminWarnBefore is how long before a session's end the user is warned.
const adminWarnBefore = 2 * time.Minute

// adminLengths are the lengths the dialog offers, up to the entry's
// maximum (which is offered too).
var adminLengths = []time.Duration{5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 4 * time.Hour, 8 * time.Hour}

// AdminMenu is what the menu shows of the admin session: a line (empty:
// none) and the action item's title (empty: none) with what it does.
type AdminMenu struct {
	Line   string
	Action string
	Ending bool // the action ends the running session (else it asks for one)
}

// TrayAdmin is the admin part of the menu for s at now.
func TrayAdmin(s Snapshot, now time.Time) AdminMenu {
	st := s.Admin
	if !s.Connected || st == nil {
		return AdminMenu{}
	}
	if st.GrantID != 0 {
		return AdminMenu{Line: "Admin rights: " + timeLeft(st.Until.Sub(now)) + " left (until " + st.Until.Local().Format("15:04") + ")",
			Action: "End admin rights", Ending: true}
	}
	if st.Offer != nil {
		return AdminMenu{Action: "Request admin rights…"}
	}
	return AdminMenu{}
}

// timeLeft says d in whole minutes ("12 min"), or "less than a minute".
func timeLeft(d time.Duration) string {
	if d < time.Minute {
		return "less than a minute"
	}
	return strconv.Itoa(int(d/time.Minute)) + " min"
}

// AdminAction is the menu's admin item: it asks for a session or ends the
// running one.
func (a *Agent) AdminAction() {
	a.mu.Lock()
	st := a.snap.Admin
	a.mu.Unlock()
	if st != nil && st.GrantID != 0 {
		go a.endAdmin()
		return
	}
	a.showAdminDialog()
}

func (a *Agent) endAdmin() {
	api, ok := a.opt.API.(AdminAPI)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if _, err := api.EndAdminSession(ctx); err != nil {
		a.log.Warn("end admin session", "err", err)
		if a.opt.Notifier != nil {
			a.post(ctx, notifications.Notification{ID: "admin", Title: "Admin rights not ended", Body: errText(err).Error()})
		}
	}
	a.kick()
}

// showAdminDialog queues the dialog that asks for admin rights (once).
func (a *Agent) showAdminDialog() {
	a.mu.Lock()
	st := a.snap.Admin
	if st == nil || st.Offer == nil {
		a.mu.Unlock()
		return
	}
	for _, d := range a.queue {
		if d.RequestID == AdminDialogID {
			a.mu.Unlock()
			return
		}
	}
	d := adminDialog(st.Offer, a.opt.Company)
	a.queue = append(a.queue, d)
	show := len(a.queue) == 1
	a.mu.Unlock()
	if show {
		a.opt.UI.Show(d)
	}
}

func adminDialog(o *localapi.AdminOffer, company string) *Dialog {
	max, _ := time.ParseDuration(o.Max)
	def, _ := time.ParseDuration(o.Default)
	ad := &AdminDialog{Require: o.Require, Default: def.String()}
	for _, l := range adminLengths {
		if l < max {
			ad.Lengths = append(ad.Lengths, AdminLength{Value: l.String(), Label: lengthLabel(l)})
		}
	}
	ad.Lengths = append(ad.Lengths, AdminLength{Value: max.String(), Label: lengthLabel(max)})
	body := "You get administrator rights on this computer for the time you choose; they end by themselves, and when you log out or lock the screen. Everything you run meanwhile is recorded."
	switch o.Require {
	case "justification":
		body += " Say why you need them."
	case "approval", "approval_offline":
		body += " Your request is sent for approval; the time starts when it is approved."
	}
	return &Dialog{RequestID: AdminDialogID, Kind: DialogAdmin, Title: "Request admin rights", Body: body,
		Company: company, MinJustification: o.MinJustification, Admin: ad}
}

// lengthLabel says a length as the dialog's list shows it.
func lengthLabel(d time.Duration) string {
	switch {
	case d%time.Hour == 0:
		if d == time.Hour {
			return "1 hour"
		}
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + " minutes"
	}
	return d.String()
}

// RequestAdmin asks gatehoused for admin rights for length (a Go
// duration from the dialog's list) with reason.
func (b *Bridge) RequestAdmin(length, reason string) (Outcome, error) {
	d, err := b.onScreen(AdminDialogID)
	if err != nil {
		return Outcome{}, err
	}
	api, ok := b.a.opt.API.(AdminAPI)
	if !ok || d.Admin == nil {
		return Outcome{}, fmt.Errorf("this agent cannot ask for admin rights")
	}
	if !validLength(d.Admin, length) {
		return Outcome{}, fmt.Errorf("choose one of the lengths offered, not %q", length)
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	res, err := api.AdminSession(ctx, localapi.AdminSession{For: length, Reason: strings.TrimSpace(reason)})
	if err != nil {
		return Outcome{}, errText(err)
	}
	b.a.kick()
	until := res.Until.Local().Format("15:04")
	switch res.Outcome {
	case "granted":
		return Outcome{Message: "You have admin rights until " + until + ". Use sudo as an administrator would; the menu shows the time left."}, nil
	case "active":
		return Outcome{Message: "Your admin rights run already, until " + until + "."}, nil
	case "submitted":
		return Outcome{Message: "Your request was sent for approval. A notification will tell you when it is decided; the time starts then."}, nil
	case "waiting":
		return Outcome{Message: "Your earlier request for admin rights is still waiting for approval."}, nil
	case "needs_reason":
		return Outcome{}, fmt.Errorf("say why you need admin rights (at least %d characters)", max(res.MinJustification, 1))
	case "denied":
		return Outcome{}, fmt.Errorf("your policy does not let you have admin rights on this computer")
	}
	return Outcome{}, fmt.Errorf("gatehoused answered %q", res.Outcome)
}

func validLength(ad *AdminDialog, length string) bool {
	for _, l := range ad.Lengths {
		if l.Value == length {
			return true
		}
	}
	return false
}

// adminClock keeps the menu's time left current and tells the user
// before and at a session's end, until ctx ends.
func (a *Agent) adminClock(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.adminTick(ctx)
		}
	}
}

// adminTick posts what is due: the warning before the end, once per
// session, and the end, once per session the agent saw run or that ended
// after it started; it refreshes the menu while a session runs.
func (a *Agent) adminTick(ctx context.Context) {
	now := a.opt.Now()
	var notes []notifications.Notification
	a.mu.Lock()
	st := a.snap.Admin
	if st != nil && st.GrantID != 0 {
		a.sawAdmin[st.GrantID] = true
		if left := st.Until.Sub(now); left <= adminWarnBefore && !a.adminTold[st.GrantID] {
			a.adminTold[st.GrantID] = true
			notes = append(notes, notifications.Notification{ID: adminNotificationID(st.GrantID),
				Title: "Admin rights end in " + timeLeft(left),
				Body:  "At " + st.Until.Local().Format("15:04") + ". Finish what needs them, or ask again from the menu."})
		}
	}
	if st != nil && st.Ended != nil && !a.endTold[st.Ended.GrantID] && (a.sawAdmin[st.Ended.GrantID] || st.Ended.At.After(a.started)) {
		a.endTold[st.Ended.GrantID] = true
		body := "Your admin session " + st.Ended.Why + "."
		if n := len(st.Ended.StillRoot); n > 0 {
			body += fmt.Sprintf(" %d program(s) you started as root still run with root rights until they exit, such as %s (pid %d).",
				n, st.Ended.StillRoot[0].Exe, st.Ended.StillRoot[0].PID)
		}
		notes = append(notes, notifications.Notification{ID: adminNotificationID(st.Ended.GrantID), Title: "Admin rights ended", Body: body})
	}
	snap := a.snapshotLocked()
	a.mu.Unlock()
	if a.opt.Notifier != nil {
		for _, n := range notes {
			a.post(ctx, n)
		}
	}
	if a.opt.Tray != nil && st != nil && (st.GrantID != 0 || len(notes) > 0) {
		a.opt.Tray.Update(snap)
	}
}

func adminNotificationID(grant int64) string { return "admin-" + strconv.FormatInt(grant, 10) }
