//go:build production || dev

package main

import (
	"fmt"
	"log/slog"
	"time"

	"fyne.io/systray"
	"github.com/gatehouse/gatehouse/app"
)

// trayMenu is the menu-bar item on Linux: a D-Bus StatusNotifierItem
// (fyne.io/systray) in the Wails process. Without a tray host it logs and
// the agent carries on without it. The menu has fixed slots (systray menus
// are built once) that Update fills in.
type trayMenu struct {
	log     *slog.Logger
	end     func()
	ready   chan struct{}
	status  *systray.MenuItem
	admin   *systray.MenuItem // the session's time left (hidden: none)
	action  *systray.MenuItem // Request admin rights… / End admin rights
	pending []*systray.MenuItem
	recent  []*systray.MenuItem
}

const traySlots = 5

func newTray(log *slog.Logger) *trayMenu { return &trayMenu{log: log, ready: make(chan struct{})} }

func (t *trayMenu) start(quit, admin func()) {
	start, end := systray.RunWithExternalLoop(func() {
		systray.SetTitle("Gatehouse")
		systray.SetTooltip("Gatehouse")
		t.status = systray.AddMenuItem("Connecting to gatehoused…", "")
		t.status.Disable()
		t.admin = systray.AddMenuItem("", "")
		t.admin.Disable()
		t.admin.Hide()
		systray.AddSeparator()
		t.pending = section("Requests")
		t.recent = section("Recent")
		t.action = systray.AddMenuItem("Request admin rights…", "")
		t.action.Hide()
		q := systray.AddMenuItem("Quit Gatehouse", "Stop the agent for this session")
		go func() {
			for range t.action.ClickedCh {
				admin()
			}
		}()
		go func() {
			<-q.ClickedCh
			quit()
		}()
		close(t.ready)
	}, nil)
	t.end = end
	start()
}

func (t *trayMenu) stop() {
	if t.end != nil {
		t.end()
	}
}

// Update implements app.Tray.
func (t *trayMenu) Update(s app.Snapshot) {
	select {
	case <-t.ready:
	default:
		return // no tray host (yet)
	}
	status := app.TrayStatus(s)
	t.status.SetTitle(status)
	systray.SetTooltip("Gatehouse: " + status)
	fill(t.pending, app.TrayLines(s.Pending), "No open requests")
	fill(t.recent, app.TrayLines(s.Recent), "Nothing recent")
	adm := app.TrayAdmin(s, time.Now())
	show(t.admin, adm.Line)
	show(t.action, adm.Action)
}

// show titles m, or hides it for "".
func show(m *systray.MenuItem, title string) {
	if title == "" {
		m.Hide()
		return
	}
	m.SetTitle(title)
	m.Show()
}

// section adds a heading and traySlots hidden lines for Update to fill,
// then a separator.
func section(title string) []*systray.MenuItem {
	hdr := systray.AddMenuItem(title, "")
	hdr.Disable()
	slots := make([]*systray.MenuItem, traySlots)
	for i := range slots {
		slots[i] = systray.AddMenuItem("", "")
		slots[i].Disable()
		slots[i].Hide()
	}
	systray.AddSeparator()
	return slots
}

func fill(slots []*systray.MenuItem, lines []string, empty string) {
	if len(lines) == 0 {
		lines = []string{empty}
	}
	for i, m := range slots {
		if i < len(lines) {
			m.SetTitle(lines[i])
			m.Show()
		} else {
			m.Hide()
		}
	}
	if len(lines) > len(slots) {
		slots[len(slots)-1].SetTitle(fmt.Sprintf("… and %d more", len(lines)-len(slots)+1))
	}
}
