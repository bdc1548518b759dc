package main

import (
	"os"
	"runtime"
	"testing"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/internal/plist"
)

// The LaunchDaemon starts gatehoused with macOS's default configuration
// file, keeps it running and never throttles it.
func TestLaunchDaemonPlist(t *testing.T) {
	b, err := os.ReadFile("../../build/darwin/com.gatehouse.gatehoused.plist")
	if err != nil {
		t.Fatal(err)
	}
	v, err := plist.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	d, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("the plist is a %T, not a dict", v)
	}
	const macConfig = "/Library/Application Support/Gatehouse/gatehoused.yaml"
	if runtime.GOOS == "darwin" && enforcer.DefaultConfigPath != macConfig {
		t.Errorf("the darwin default configuration is %s, the plist's %s", enforcer.DefaultConfigPath, macConfig)
	}
	args, _ := d["ProgramArguments"].([]any)
	if d["Label"] != "com.gatehouse.gatehoused" || len(args) != 3 || args[1] != "--config" || args[2] != macConfig {
		t.Errorf("Label %v, ProgramArguments %v", d["Label"], args)
	}
	if d["KeepAlive"] != true || d["RunAtLoad"] != true || d["ProcessType"] != "Interactive" {
		t.Errorf("KeepAlive %v, RunAtLoad %v, ProcessType %v", d["KeepAlive"], d["RunAtLoad"], d["ProcessType"])
	}
	if _, err := os.Stat("../../build/darwin/gatehoused.yaml"); err != nil {
		t.Errorf("the configuration the plist names is not shipped: %v", err)
	}
}
