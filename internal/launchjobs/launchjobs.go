// Package launchjobs defines, once, what Gatehouse installs for launchd on
// macOS and the Info.plist values of its bundles: gatehoused's
// LaunchDaemon, the agent's LaunchAgent (one instance in every user's GUI
// session, restarted if it crashes), and the agent's and the daemon's
// bundle Info.plist. The files in build/darwin are rendered from here
// (`go test ./internal/launchjobs -update` rewrites them; the test fails
// when they drift) and the packaging renders from here too. Written with
// howett.net/plist.
package launchjobs

import (
	"bytes"
	"fmt"

	"howett.net/plist"
)

// Identifiers and paths Gatehouse uses on macOS.
const (
	DaemonLabel = "com.gatehouse.gatehoused"
	AgentLabel  = "com.gatehouse.agent"

	// DaemonBundle holds gatehoused inside an app-like bundle, which
	// carries the provisioning profile with the Endpoint Security
	// entitlement (docs/macos.md).
	DaemonBundle     = "/Library/Gatehouse/Gatehoused.app"
	DaemonExecutable = DaemonBundle + "/Contents/MacOS/gatehoused"
	DaemonConfig     = "/Library/Application Support/Gatehouse/gatehoused.yaml"
	DaemonLog        = "/var/log/gatehoused.log"

	// The console sync (`gatehouse sync`, docs/console.md), a
	// LaunchDaemon running as its own hidden account, which the package's
	// postinstall makes and gatehoused.yaml names as sync_user. It runs
	// while the identity `gatehoused enroll` writes is there, and logs
	// beside it (the account cannot write /var/log).
	SyncLabel    = "com.gatehouse.sync"
	SyncUser     = "_gatehousesync"
	SyncDir      = "/var/db/gatehouse-sync"
	SyncIdentity = SyncDir + "/identity.json"
	SyncLog      = SyncDir + "/sync.log"
	CLIPath      = "/Library/Gatehouse/bin/gatehouse"

	AgentBundle     = "/Applications/Gatehouse.app"
	AgentExecutable = AgentBundle + "/Contents/MacOS/gatehouse-agent"

	// AgentBundleID is the agent's bundle identifier (and signing id).
	AgentBundleID  = "com.gatehouse.agent"
	DaemonBundleID = "com.gatehouse.gatehoused"

	// MinimumSystemVersion: es_invert_muting and the message versions the
	// daemon reads need macOS 13.
	MinimumSystemVersion = "13.0"
)

// Daemon is gatehoused's LaunchDaemon (/Library/LaunchDaemons): started at
// boot, kept alive, never throttled (every program start waits on it).
func Daemon() map[string]any {
	return map[string]any{
		"Label":             DaemonLabel,
		"ProgramArguments":  []string{DaemonExecutable, "--config", DaemonConfig},
		"RunAtLoad":         true,
		"KeepAlive":         true,
		"ProcessType":       "Interactive",
		"StandardErrorPath": DaemonLog,
		"StandardOutPath":   DaemonLog,
	}
}

// Sync is the console sync's LaunchDaemon (/Library/LaunchDaemons): as
// SyncUser, started when the machine is enrolled (its identity appears),
// kept alive while it is, stopped when it goes.
func Sync() map[string]any {
	return map[string]any{
		"Label":             SyncLabel,
		"UserName":          SyncUser,
		"ProgramArguments":  []string{CLIPath, "sync", "--identity", SyncIdentity},
		"KeepAlive":         map[string]any{"PathState": map[string]any{SyncIdentity: true}},
		"ThrottleInterval":  5,
		"ProcessType":       "Background",
		"StandardErrorPath": SyncLog,
		"StandardOutPath":   SyncLog,
	}
}

// Agent is the agent's LaunchAgent (/Library/LaunchAgents): one instance
// in each user's GUI (Aqua) session, started at login, started again if it
// crashes but not after Quit (a clean exit).
func Agent() map[string]any {
	return map[string]any{
		"Label":                  AgentLabel,
		"ProgramArguments":       []string{AgentExecutable},
		"RunAtLoad":              true,
		"KeepAlive":              map[string]any{"SuccessfulExit": false},
		"LimitLoadToSessionType": "Aqua",
		"ProcessType":            "Interactive",
	}
}

// AgentInfo is the agent bundle's Info.plist: a menu-bar app without a
// Dock icon (LSUIElement), which asks to control System Events to close
// macOS's "can't be opened" alerts.
func AgentInfo(version string) map[string]any {
	return map[string]any{
		"CFBundleIdentifier":            AgentBundleID,
		"CFBundleName":                  "Gatehouse",
		"CFBundleDisplayName":           "Gatehouse",
		"CFBundleExecutable":            "gatehouse-agent",
		"CFBundlePackageType":           "APPL",
		"CFBundleShortVersionString":    version,
		"CFBundleVersion":               version,
		"CFBundleInfoDictionaryVersion": "6.0",
		"LSMinimumSystemVersion":        MinimumSystemVersion,
		"LSUIElement":                   true,
		"NSHighResolutionCapable":       true,
		"NSAppleEventsUsageDescription": "Gatehouse closes macOS's \"can't be opened\" alert about a program your organisation's policy stopped, and shows you its own dialog instead.",
	}
}

// DaemonInfo is the Info.plist of the bundle around gatehoused.
func DaemonInfo(version string) map[string]any {
	return map[string]any{
		"CFBundleIdentifier":            DaemonBundleID,
		"CFBundleName":                  "Gatehoused",
		"CFBundleExecutable":            "gatehoused",
		"CFBundlePackageType":           "APPL",
		"CFBundleShortVersionString":    version,
		"CFBundleVersion":               version,
		"CFBundleInfoDictionaryVersion": "6.0",
		"LSMinimumSystemVersion":        MinimumSystemVersion,
		"LSUIElement":                   true,
	}
}

// Render writes v as an XML property list, with comment (if any) after the
// document type, as launchd and Apple's tools read it.
func Render(v any, comment string) ([]byte, error) {
	body, err := plist.MarshalIndent(v, plist.XMLFormat, "\t")
	if err != nil {
		return nil, fmt.Errorf("render plist: %w", err)
	}
	if comment == "" {
		return append(body, '\n'), nil
	}
	const doctype = "<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
	i := bytes.Index(body, []byte(doctype))
	if i < 0 {
		return nil, fmt.Errorf("render plist: no document type in %q", body[:min(len(body), 80)])
	}
	i += len(doctype)
	out := append([]byte(nil), body[:i]...)
	out = append(out, "<!-- "+comment+" -->\n"...)
	out = append(out, body[i:]...)
	return append(out, '\n'), nil
}
