//go:build production || dev

package main

import (
	"log/slog"

	"github.com/gatehouse/gatehouse/app"
)

// trayMenu on macOS is to be an NSStatusItem (progrium/macdriver); until
// it exists the agent runs without a menu-bar item there. Not built or run
// on a Mac yet.
type trayMenu struct{ log *slog.Logger }

func newTray(log *slog.Logger) *trayMenu { return &trayMenu{log: log} }

func (t *trayMenu) start(quit func()) {
	t.log.Info("menu-bar item not implemented on macOS yet; the agent runs without it")
}

func (t *trayMenu) stop() {}

// Update implements app.Tray.
func (t *trayMenu) Update(app.Snapshot) {}
