package pkg

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The .pkg's scripts (build/darwin/pkg) are shell for macOS: here they are
// checked for syntax and for naming the same paths and labels as the
// LaunchDaemon and LaunchAgent they install.
func TestPkgScripts(t *testing.T) {
	dir := filepath.Join("..", "..", "build", "darwin", "pkg")
	daemon, err := os.ReadFile(filepath.Join("..", "..", "build", "darwin", "com.gatehouse.gatehoused.plist"))
	if err != nil {
		t.Fatal(err)
	}
	agent, err := os.ReadFile(filepath.Join("..", "..", "build", "darwin", "com.gatehouse.agent.plist"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"preinstall", "postinstall", "uninstall.sh"} {
		p := filepath.Join(dir, name)
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s is not executable", name)
		}
		if out, err := exec.Command("sh", "-n", p).CombinedOutput(); err != nil {
			t.Errorf("%s: %v\n%s", name, err, out)
		}
		b, _ := os.ReadFile(p)
		for _, label := range []string{"com.gatehouse.gatehoused", "com.gatehouse.agent"} {
			if !strings.Contains(string(b), label) {
				t.Errorf("%s does not name %s", name, label)
			}
		}
	}
	for _, want := range []string{"com.gatehouse.gatehoused", "/Library/Gatehouse/Gatehoused.app/Contents/MacOS/gatehoused", "/Library/Application Support/Gatehouse/gatehoused.yaml"} {
		if !strings.Contains(string(daemon), want) {
			t.Errorf("the LaunchDaemon does not name %s", want)
		}
	}
	if !strings.Contains(string(agent), "/Applications/Gatehouse.app/Contents/MacOS/gatehouse-agent") {
		t.Error("the LaunchAgent does not start the agent in /Applications/Gatehouse.app")
	}
	post, _ := os.ReadFile(filepath.Join(dir, "postinstall"))
	un, _ := os.ReadFile(filepath.Join(dir, "uninstall.sh"))
	for _, p := range []string{"/Library/LaunchDaemons/com.gatehouse.gatehoused.plist", "/Library/LaunchDaemons/com.gatehouse.sync.plist", "/Library/LaunchAgents/com.gatehouse.agent.plist"} {
		if !strings.Contains(string(post), p) || !strings.Contains(string(un), p) {
			t.Errorf("postinstall and uninstall.sh do not both name %s", p)
		}
	}
}
