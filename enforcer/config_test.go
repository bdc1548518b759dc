package enforcer

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// The shipped configuration file states the defaults; keep them in step.
func TestShippedConfigIsTheDefaults(t *testing.T) {
	// The file for this OS (build/linux, build/darwin) is its defaults,
	// but for sync_user: the file is the package's, which makes the
	// sync's account; without a package there is none to name.
	shipped := "../build/" + runtime.GOOS + "/gatehoused.yaml"
	cfg, err := LoadConfig(shipped)
	if err != nil {
		t.Fatal(err)
	}
	packaged := map[string]string{"linux": "gatehouse-sync", "darwin": "_gatehousesync"}[runtime.GOOS]
	if cfg.SyncUser != packaged {
		t.Errorf("%s: sync_user %q, want the package's account %q", shipped, cfg.SyncUser, packaged)
	}
	cfg.SyncUser = ""
	if diff := cmp.Diff(DefaultConfig(), cfg, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("%s differs from DefaultConfig (-default +file):\n%s", shipped, diff)
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ text, want string }{
		{"polcy: x\n", "field polcy not found"},
		{"decision_budget: soon\n", "not a duration"},
		{"hash_workers: 0\n", "hash_workers must be at least 1"},
		{"decision_budget: 1ms\ncache_entries: 5\n", "cache_entries must be at least 100"},
		{"unholdable_files: allow\n", "unholdable_files \"allow\": want deny or decide"},
	} {
		p := filepath.Join(dir, "c.yaml")
		os.WriteFile(p, []byte(tt.text), 0o644)
		_, err := LoadConfig(p)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%q: err = %v, want it to mention %q", tt.text, err, tt.want)
		}
	}
	if _, err := LoadConfig(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("a missing configuration file given explicitly is not an error")
	}
}

// Settings are independent: turning one switch off leaves the others on.
func TestConfigSwitchesIndependent(t *testing.T) {
	p := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(p, []byte("tty_messages: false\n"), 0o644)
	cfg, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if *cfg.TTYMessages || !*cfg.KernelCache {
		t.Errorf("tty_messages: false gave tty_messages %v, kernel_cache %v", *cfg.TTYMessages, *cfg.KernelCache)
	}
	if def := DefaultConfig(); !*def.TTYMessages || !*def.KernelCache {
		t.Error("loading a file changed the defaults")
	}
}

// The audit run file sits next to the socket, on /run's tmpfs, unless set.
func TestAuditRunFileNextToTheSocket(t *testing.T) {
	cfg := DefaultConfig()
	if got := cfg.auditRunPath(); got != "/run/gatehouse/audit-run" {
		t.Errorf("default audit run file %s, want /run/gatehouse/audit-run", got)
	}
	cfg.Socket = "/tmp/x/gatehoused.sock"
	if got := cfg.auditRunPath(); got != "/tmp/x/audit-run" {
		t.Errorf("with socket %s: audit run file %s, want /tmp/x/audit-run", cfg.Socket, got)
	}
	cfg.AuditRunFile = "/dev/shm/gatehouse-run"
	if got := cfg.auditRunPath(); got != cfg.AuditRunFile {
		t.Errorf("set to %s: audit run file %s", cfg.AuditRunFile, got)
	}
}

// build/darwin/gatehoused.yaml is the Linux file but for the paths that
// differ on macOS (paths_darwin.go): the two cannot drift apart.
func TestDarwinConfigIsLinuxButPaths(t *testing.T) {
	lin, err := LoadConfig("../build/linux/gatehoused.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mac, err := LoadConfig("../build/darwin/gatehoused.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []struct{ got, want string }{
		{mac.Policy, "/Library/Application Support/Gatehouse/policy.yaml"},
		{mac.Database, "/var/db/gatehouse/gatehouse.db"},
		{mac.Socket, "/var/run/gatehouse/gatehoused.sock"},
		{mac.ApplicationsDir, "/Applications"},
		{strings.Join(mac.ProtectFiles, ":"), "/Library/Gatehouse:/var/db/gatehouse:/Library/LaunchDaemons/com.gatehouse.gatehoused.plist"},
		// Each package makes the sync's account, named as the platform
		// names system accounts.
		{lin.SyncUser, "gatehouse-sync"},
		{mac.SyncUser, "_gatehousesync"},
	} {
		if p.got != p.want {
			t.Errorf("build/darwin/gatehoused.yaml has %q, want %q", p.got, p.want)
		}
	}
	mac.Policy, mac.Database, mac.Socket = lin.Policy, lin.Database, lin.Socket
	mac.ApplicationsDir, mac.ProtectFiles, mac.SyncUser = lin.ApplicationsDir, lin.ProtectFiles, lin.SyncUser
	if diff := cmp.Diff(lin, mac, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("build/darwin and build/linux differ beyond the paths (-linux +darwin):\n%s", diff)
	}
}
