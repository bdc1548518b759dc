//go:build production || dev

package main

import (
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/app"
	"github.com/gatehouse/gatehouse/menubar"
)

// trayMenu on macOS is the menubar package's NSStatusItem, fed the same
// model as the Linux tray. Not yet run on a Mac.
type trayMenu struct {
	log  *slog.Logger
	menu *menubar.Menu
}

func newTray(log *slog.Logger) *trayMenu { return &trayMenu{log: log} }

func (t *trayMenu) start(quit, admin func()) {
	m, err := menubar.New("Gatehouse", quit, admin)
	if err != nil {
		t.log.Warn("no menu-bar item; the agent runs without it", "err", err)
		return
	}
	t.menu = m
}

func (t *trayMenu) stop() {}

// Update implements app.Tray.
func (t *trayMenu) Update(s app.Snapshot) {
	if t.menu == nil {
		return
	}
	status, adm := []string{app.TrayStatus(s)}, app.TrayAdmin(s, time.Now())
	if adm.Line != "" {
		status = append(status, adm.Line)
	}
	t.menu.Set(status, []menubar.Section{
		{Title: "Requests", Lines: app.TrayLines(s.Pending), Empty: "No open requests"},
		{Title: "Recent", Lines: app.TrayLines(s.Recent), Empty: "Nothing recent"},
	}, adm.Action)
}
