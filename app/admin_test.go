package app

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/notifications"
	"github.com/gatehouse/gatehouse/request"
)

// The menu offers admin rights when the policy does; the dialog offers
// the entry's lengths up to its maximum, refuses others, and asks for the
// session; the menu shows the time left and ends it; the user is warned
// once before the end and told once of the end, with the root programs
// still running.
func TestAdminSessionFromTheMenu(t *testing.T) {
	r := newRig(t, func(r *rig) {
		r.api.admin = &localapi.AdminStatus{Offer: &localapi.AdminOffer{Entry: "developers", Require: "justification",
			MinJustification: 10, Max: "1h0m0s", Default: "15m0s"}}
	})
	waitUntil(t, "the offer in the menu", func() bool {
		return TrayAdmin(r.tray.snapshot(), time.Now()).Action == "Request admin rights…"
	})
	r.agent.AdminAction()
	d := r.ui.next(t)
	if d.Kind != DialogAdmin || d.RequestID != AdminDialogID || d.MinJustification != 10 || d.Admin == nil || d.Admin.Default != "15m0s" {
		t.Fatalf("dialog: %+v", d)
	}
	var values []string
	for _, l := range d.Admin.Lengths {
		values = append(values, l.Value+"="+l.Label)
	}
	if want := []string{"5m0s=5 minutes", "15m0s=15 minutes", "30m0s=30 minutes", "1h0m0s=1 hour"}; !slices.Equal(values, want) {
		t.Errorf("lengths %v, want %v", values, want)
	}
	r.agent.AdminAction() // again while it is up: one dialog
	r.ui.none(t, 50*time.Millisecond)
	if _, err := r.bridge.RequestAdmin("2h0m0s", "a long enough reason"); err == nil {
		t.Error("a length the dialog does not offer was asked for")
	}
	if _, err := r.bridge.RequestAdmin("30m0s", "short"); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Errorf("a short reason: %v", err)
	}
	out, err := r.bridge.RequestAdmin("30m0s", "  install the printer driver ")
	if err != nil || !strings.Contains(out.Message, "You have admin rights until") {
		t.Fatalf("granted: %+v %v", out, err)
	}
	if got := r.api.calls(); !slices.Contains(got, `admin for=30m0s reason="install the printer driver"`) {
		t.Errorf("calls %v", got)
	}
	r.bridge.Close()
	waitUntil(t, "the session in the menu", func() bool {
		return TrayAdmin(r.tray.snapshot(), time.Now()).Ending
	})
	m := TrayAdmin(r.tray.snapshot(), time.Now())
	if !strings.HasPrefix(m.Line, "Admin rights: 29 min left (until ") || m.Action != "End admin rights" {
		t.Errorf("menu during the session: %+v", m)
	}

	// Close to the end: one warning.
	r.api.setAdmin(func(a *localapi.AdminStatus) { a.Until = time.Now().Add(90 * time.Second) })
	n := waitNote(t, r.notes, "admin-5")
	if n.Title != "Admin rights end in 1 min" {
		t.Errorf("warning: %+v", n)
	}
	r.notes.Remove(t.Context(), "admin-5")
	r.agent.adminTick(t.Context())
	if _, again := r.notes.Get("admin-5"); again {
		t.Error("warned twice")
	}
	// The end, with a root shell left open.
	r.api.setAdmin(func(a *localapi.AdminStatus) {
		a.GrantID, a.Until = 0, time.Time{}
		a.Ended = &localapi.EndedAdmin{GrantID: 5, At: time.Now(), Why: "ended at screen lock",
			StillRoot: []localapi.RootProcess{{PID: 72, Exe: "/bin/bash", TTY: "/dev/pts/9"}}}
	})
	n = waitNote(t, r.notes, "admin-5")
	if n.Title != "Admin rights ended" || !strings.Contains(n.Body, "ended at screen lock") || !strings.Contains(n.Body, "/bin/bash (pid 72)") {
		t.Errorf("end: %+v", n)
	}
	if m := TrayAdmin(r.tray.snapshot(), time.Now()); m.Ending || m.Action != "Request admin rights…" {
		t.Errorf("menu after the end: %+v", m)
	}
}

// The menu's End admin rights ends the session; the dialog's Cancel
// answers no request.
func TestEndAdminFromTheMenuAndCancel(t *testing.T) {
	r := newRig(t, func(r *rig) {
		r.api.admin = &localapi.AdminStatus{GrantID: 8, Until: time.Now().Add(time.Hour),
			Offer: &localapi.AdminOffer{Entry: "all", Max: "1h0m0s", Default: "15m0s"}}
	})
	waitUntil(t, "the session in the menu", func() bool { return TrayAdmin(r.tray.snapshot(), time.Now()).Ending })
	r.agent.AdminAction()
	waitUntil(t, "the end asked for", func() bool { return slices.Contains(r.api.calls(), "end admin") })
	n := waitNote(t, r.notes, "admin-8")
	if n.Title != "Admin rights ended" || !strings.Contains(n.Body, "ended by the user") {
		t.Errorf("end: %+v", n)
	}
	waitUntil(t, "the offer back in the menu", func() bool { return TrayAdmin(r.tray.snapshot(), time.Now()).Action == "Request admin rights…" })
	r.agent.AdminAction()
	if d := r.ui.next(t); d.Kind != DialogAdmin {
		t.Fatalf("dialog: %+v", d)
	}
	if err := r.bridge.Cancel(AdminDialogID); err != nil {
		t.Fatal(err)
	}
	if d := r.ui.next(t); d != nil {
		t.Errorf("after Cancel the window shows %+v", d)
	}
	for _, c := range r.api.calls() {
		if strings.HasPrefix(c, "answer ") {
			t.Errorf("Cancel of the admin dialog answered a request: %s", c)
		}
	}
}

// An approved admin session's notification says so and opens nothing.
func TestAnAdminApprovalOpensNothing(t *testing.T) {
	r := newRig(t, nil)
	r.api.add(localapi.Request{ID: 6, Kind: request.Approval, State: request.Approved, Path: "admin rights for 30m0s", AppType: "admin_session"})
	n := waitNote(t, r.notes, "request-6")
	if n.Title != "Admin rights approved" || len(n.Actions) != 0 {
		t.Errorf("notification = %+v", n)
	}
	if err := r.notes.Respond("request-6", notifications.Clicked, ""); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "removed", func() bool { _, ok := r.notes.Get("request-6"); return !ok })
	if got := r.launch.got(); len(got) != 0 {
		t.Errorf("a click on an admin session's approval launched %+v", got)
	}
}

func TestTimeLeft(t *testing.T) {
	for d, want := range map[time.Duration]string{59 * time.Second: "less than a minute", 61 * time.Second: "1 min", 90 * time.Minute: "90 min"} {
		if got := timeLeft(d); got != want {
			t.Errorf("timeLeft(%v) = %q, want %q", d, got, want)
		}
	}
}

// An authorization request's justification is answered, and nothing is
// started: the program (pkexec's caller, a settings pane) asks again.
func TestAuthorizationRequestIsNotRelaunched(t *testing.T) {
	r := newRig(t, nil)
	r.api.add(localapi.Request{ID: 7, Kind: request.Justification, Path: "/usr/bin/bash", AppType: "auth",
		Args: []string{"org.freedesktop.policykit.exec"}})
	d := r.ui.next(t)
	out, err := r.bridge.Continue(d.RequestID, "need it")
	if err != nil || !strings.Contains(out.Message, "Try again") || out.Relaunched {
		t.Fatalf("continue: %+v %v", out, err)
	}
	if got := r.launch.got(); len(got) != 0 {
		t.Errorf("an authorization request's program was launched: %+v", got)
	}
}
