//go:build (linux || darwin) && (production || dev)

// gatehouse-agent is the per-user menu-bar app: it shows the dialogs of
// programs the enforcer blocked, posts notifications for decisions and
// relaunches what the user was let through. Build it with
//
//	go build -tags production,webkit2_41 -o bin/gatehouse-agent .
//
// (webkit2_41 selects WebKitGTK 4.1 on Linux). The logic is package app;
// this file only wires in Wails, the tray and the OS notifier.
package main

import (
	"context"
	"embed"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/alerts"
	"github.com/gatehouse/gatehouse/app"
	"github.com/gatehouse/gatehouse/internal/version"
	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/menubar"
	"github.com/gatehouse/gatehouse/notifications"
	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
	"github.com/wailsapp/wails/v2/pkg/runtime"
)

//go:embed all:frontend/dist
var assets embed.FS

func main() {
	socket := flag.String("socket", localapi.DefaultSocket, "gatehoused's local API socket")
	company := flag.String("company", "", `branding line of the dialogs (default "Gatehouse")`)
	debug := flag.Bool("debug", false, "log debug messages")
	flag.Parse()
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)

	notifier, err := notifications.New(notifications.Options{AppName: "Gatehouse", Logger: log})
	if err != nil {
		log.Warn("notifications unavailable; decisions are shown in the menu only", "err", err)
		notifier = nil
	}
	ui := &windowUI{}
	tray := newTray(log)
	api := localapi.NewClient(*socket)
	api.Program = localapi.AgentProgram + "/" + version.String() // gatehoused tells the console which agent runs
	agent := app.New(app.Options{
		API: api, UI: ui, Tray: tray, Notifier: notifier, Logger: log,
		Company: *company, Dismisser: alerts.New(),
	})
	bridge := agent.Bridge()
	ctx, stop := context.WithCancel(context.Background())
	var quitting atomic.Bool
	err = wails.Run(&options.App{
		Title:         "Gatehouse",
		Width:         480,
		Height:        360,
		DisableResize: true,
		AlwaysOnTop:   true,
		StartHidden:   true,
		AssetServer:   &assetserver.Options{Assets: assets},
		OnDomReady:    ui.domReady,
		OnStartup: func(wctx context.Context) {
			tray.start(func() { quitting.Store(true); runtime.Quit(wctx) }, agent.AdminAction)
			go agent.Run(ctx)
		},
		// Closing the window is Cancel; only the tray's Quit (or a signal)
		// ends the agent.
		OnBeforeClose: func(context.Context) bool {
			if quitting.Load() {
				return false
			}
			if d, _ := bridge.Current(); d != nil {
				bridge.Cancel(d.RequestID)
			} else {
				ui.Show(nil)
			}
			return true
		},
		OnShutdown: func(context.Context) {
			stop()
			tray.stop()
			if notifier != nil {
				notifier.Close()
			}
		},
		Bind:  []any{bridge},
		Linux: &linux.Options{ProgramName: "gatehouse-agent"},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "gatehouse-agent:", err)
		os.Exit(1)
	}
}

// windowUI shows dialogs in the Wails window. Until the page has loaded
// (OnDomReady) a dialog is only remembered: Wails on Linux applies
// StartHidden when the page is ready, which would hide a window shown
// earlier. The page asks for the current dialog itself when it loads.
type windowUI struct {
	mu      sync.Mutex
	ctx     context.Context
	ready   bool
	pending *app.Dialog
}

func (u *windowUI) domReady(ctx context.Context) {
	u.mu.Lock()
	u.ctx, u.ready = ctx, true
	d := u.pending
	u.mu.Unlock()
	u.Show(d)
}

func (u *windowUI) Show(d *app.Dialog) {
	u.mu.Lock()
	ready, ctx := u.ready, u.ctx
	u.pending = d
	u.mu.Unlock()
	if !ready {
		return
	}
	runtime.EventsEmit(ctx, "dialog", d)
	if d == nil {
		runtime.WindowHide(ctx)
		return
	}
	runtime.WindowCenter(ctx)
	runtime.WindowShow(ctx)
	runtime.WindowSetAlwaysOnTop(ctx, true)
	menubar.Activate() // macOS: the keyboard goes to the dialog
}
