package launchjobs

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/gatehouse/gatehouse/internal/plist"
)

var update = flag.Bool("update", false, "rewrite the files in build/darwin from this package")

// Version is what the files in build/darwin carry; the packaging renders
// the release's own.
const fileVersion = "0.0.0-dev"

var files = []struct {
	name    string
	v       map[string]any
	comment string
}{
	{"com.gatehouse.gatehoused.plist", Daemon(), "gatehoused's LaunchDaemon: /Library/LaunchDaemons/com.gatehouse.gatehoused.plist. The binary sits in an app-like bundle that embeds the provisioning profile granting the Endpoint Security entitlement (docs/macos.md) and needs Full Disk Access (a PPPC profile). Reload the policy with sudo launchctl kill HUP system/com.gatehouse.gatehoused. Rendered by internal/launchjobs: edit that, then go test ./internal/launchjobs -update"},
	{"com.gatehouse.sync.plist", Sync(), "the console sync's LaunchDaemon: /Library/LaunchDaemons/com.gatehouse.sync.plist, gatehouse sync as _gatehousesync while this machine is enrolled (docs/console.md). Rendered by internal/launchjobs: edit that, then go test ./internal/launchjobs -update"},
	{"com.gatehouse.agent.plist", Agent(), "the agent's LaunchAgent: /Library/LaunchAgents/com.gatehouse.agent.plist, one instance per GUI session. Rendered by internal/launchjobs: edit that, then go test ./internal/launchjobs -update"},
	{"Info.plist", AgentInfo(fileVersion), "the agent bundle's Info.plist (wails build uses build/darwin/Info.plist). Rendered by internal/launchjobs: edit that, then go test ./internal/launchjobs -update"},
	{"Gatehoused-Info.plist", DaemonInfo(fileVersion), "the Info.plist of the bundle around gatehoused. Rendered by internal/launchjobs: edit that, then go test ./internal/launchjobs -update"},
}

// The files in build/darwin are this package's rendering, and parse back
// (with the project's own strict reader) to the same values.
func TestBuildDarwinFilesAreRenderedFromHere(t *testing.T) {
	for _, f := range files {
		t.Run(f.name, func(t *testing.T) {
			want, err := Render(f.v, f.comment)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("..", "..", "build", "darwin", f.name)
			if *update {
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from internal/launchjobs's rendering; run go test ./internal/launchjobs -update", path)
			}
			back, err := plist.Parse(got)
			if err != nil {
				t.Fatalf("parse %s: %v", path, err)
			}
			d, _ := back.(map[string]any)
			if d == nil || len(d) != len(f.v) {
				t.Errorf("%s parses to %d keys, want %d", path, len(d), len(f.v))
			}
		})
	}
}

// The sync job reads the identity where enroll writes it on macOS, and
// runs as the account gatehoused takes for the sync.
func TestTheSyncJobMatchesEnrollAndTheConfiguration(t *testing.T) {
	for file, want := range map[string]string{
		"../../localapi/socket_darwin.go":       `DefaultSyncIdentity = "` + SyncIdentity + `"`,
		"../../build/darwin/gatehoused.yaml":    "\nsync_user: " + SyncUser + "\n",
		"../../build/darwin/pkg/postinstall":    SyncUser,
		"../../build/darwin/pkg/uninstall.sh":   SyncLabel,
		"../../build/darwin/pkg/preinstall":     SyncLabel,
		"../../packaging/profiles/gatehouse.go": "launchjobs.SyncLabel",
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("%s does not have %q", file, want)
		}
	}
	s := Sync()
	if s["UserName"] != SyncUser || s["RunAtLoad"] != nil {
		t.Errorf("sync job %v: it runs as %s, and only while enrolled", s, SyncUser)
	}
	ka, _ := s["KeepAlive"].(map[string]any)
	if ps, _ := ka["PathState"].(map[string]any); ps[SyncIdentity] != true {
		t.Errorf("KeepAlive %v: the job must run while %s exists", s["KeepAlive"], SyncIdentity)
	}
}

func TestTheAgentRunsOncePerSessionAndAfterACrash(t *testing.T) {
	a := Agent()
	if a["LimitLoadToSessionType"] != "Aqua" || a["RunAtLoad"] != true {
		t.Errorf("agent job %v", a)
	}
	if ka, _ := a["KeepAlive"].(map[string]any); ka["SuccessfulExit"] != false {
		t.Errorf("KeepAlive %v: a crash must restart it, Quit must not", a["KeepAlive"])
	}
	if info := AgentInfo("1.2.3"); info["LSUIElement"] != true || info["CFBundleIdentifier"] != AgentBundleID || info["NSAppleEventsUsageDescription"] == "" {
		t.Errorf("agent Info.plist %v", info)
	}
}

func TestRenderPutsTheCommentAfterTheDoctype(t *testing.T) {
	b, err := Render(map[string]any{"Label": "x"}, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("PropertyList-1.0.dtd\">\n<!-- hello -->\n<plist")) {
		t.Errorf("rendered:\n%s", b)
	}
}
