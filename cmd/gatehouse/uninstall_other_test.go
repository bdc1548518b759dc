//go:build !darwin

package main

import (
	"strings"
	"testing"
)

// Off macOS gatehouse uninstall changes nothing and says how the .deb goes.
func TestUninstallOffMacOS(t *testing.T) {
	code, out, errOut := runCLI(t, "uninstall", "--all")
	if code != exitFail || out != "" || !strings.Contains(errOut, `"sudo apt purge gatehouse gatehouse-agent" removes them too`) {
		t.Errorf("code %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, errOut := runCLI(t, "uninstall", "now"); code != exitUsage || !strings.Contains(errOut, `unexpected argument "now"`) {
		t.Errorf("extra argument: code %d, stderr %q", code, errOut)
	}
}
