//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/scratch"
	"github.com/gatehouse/gatehouse/localapi"
)

// TestE2EAuthPluginShim: the macOS authorization plugin's mechanism (the C
// shim, build/darwin/authplugin), compiled here inside the harness that
// stands in for authd (internal/authdb/testdata/shimharness.c), asks the
// real gatehoused over its socket, as root, for a subject process the
// policy names: a right the policy allows is allowed, one it denies is
// cancelled (so the right's own rule cannot override it), one no rule
// names is left to the right's own rule (deny, which moves authd on).
func TestE2EAuthPluginShim(t *testing.T) {
	gcc, err := exec.LookPath("gcc")
	scratch.Need(t, err == nil, "gcc (scripts/setup installs it)")
	e := newEnv(t)
	harness := filepath.Join(e.dir, "shimharness")
	plugin := filepath.Join("..", "..", "build", "darwin", "authplugin")
	args := []string{"-std=gnu11", "-Wall", "-Wextra", "-Werror", "-I", filepath.Join(plugin, "stub"), "-I", plugin,
		"-o", harness, filepath.Join("..", "..", "internal", "authdb", "testdata", "shimharness.c")}
	if out, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	// The subject: a program of the test's, running, as a settings pane
	// that asks would be.
	subject := filepath.Join(e.dir, "settings-pane")
	scratch.CopyFile(t, "/bin/sleep", subject, 0o755)
	p := fmt.Sprintf(`id: e2e-authplugin
revision: 2
default: allow
groups:
  - name: pane
    definitions: [{type: binary, path: {exact: %s}, auth_uri: {exact: system.preferences.network}}]
  - name: installs
    definitions: [{type: binary, auth_uri: {exact: system.install.software}}]
rules:
  - {group: pane, action: allow}
  - {group: installs, action: deny}
`, subject)
	if err := os.WriteFile(filepath.Join(e.dir, "policy.yaml"), []byte(p), 0o644); err != nil {
		t.Fatal(err)
	}
	e.start()
	sub := exec.Command(subject, "60")
	if err := sub.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sub.Process.Kill(); sub.Wait() })

	ask := func(right string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, harness, e.socket(), right, "client", fmt.Sprint(sub.Process.Pid), "0").CombinedOutput()
		if err != nil {
			t.Fatalf("shimharness %s: %v\n%s", right, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	for right, want := range map[string]string{
		"system.preferences.network": "allow",
		"system.install.software":    "canceled",
		"system.privilege.taskport":  "deny",
	} {
		if got := ask(right); got != want {
			t.Errorf("%s: the mechanism set %q, want %q", right, got, want)
		}
	}
	e.waitEvent("the allowed right's audit", func(ev localapi.Event) bool {
		return ev.Kind == "auth" && ev.Allowed && ev.Path == subject && len(ev.Args) == 1 && ev.Args[0] == "system.preferences.network"
	})
}
