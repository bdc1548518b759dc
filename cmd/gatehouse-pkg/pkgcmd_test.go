package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/packaging/codesign/codesigntest"
)

// The one command that makes a release package, run as IT's release
// engineer would with a .p12 per identity and a provisioning profile:
// gatehoused and the CLI built for darwin, the stand-in agent, every
// program signed and timestamped (by the test CA's time-stamping
// server), the product signed; then gatehouse-pkg verify reads it back.
func TestPkgCommandSigns(t *testing.T) {
	ca, err := codesigntest.New("GH7TEST123")
	if err != nil {
		t.Fatal(err)
	}
	keys := t.TempDir()
	appP12, instP12, prof, root := filepath.Join(keys, "app.p12"), filepath.Join(keys, "installer.p12"), filepath.Join(keys, "es.provisionprofile"), filepath.Join(keys, "root.pem")
	if err := codesigntest.WriteP12(ca.App, appP12, "app pass"); err != nil {
		t.Fatal(err)
	}
	if err := codesigntest.WriteP12(ca.Installer, instP12, "installer pass"); err != nil {
		t.Fatal(err)
	}
	writeProfileAndRoot(t, ca, prof, root)
	srv := ca.TSAServer()
	defer srv.Close()
	t.Chdir(filepath.Join("..", ".."))
	out := t.TempDir()
	signArgs := []string{"pkg", "--version", "1.2.0", "--out", out, "--sign-p12", appP12, "--installer-p12", instP12,
		"--provisioning-profile", prof, "--timestamp-url", srv.URL}

	// Mistakes found before anything is built.
	t.Setenv("GATEHOUSE_SIGN_PASSWORD", "app pass")
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"pkg", "--sign-p12", appP12}, nil, "a signed package needs --installer-p12 (or --installer-cert and --installer-key or --installer-pkcs11-key), --provisioning-profile too"},
		{signArgs, nil, "put its password in $GATEHOUSE_INSTALLER_PASSWORD"},
		{signArgs, map[string]string{"GATEHOUSE_INSTALLER_PASSWORD": "nope"}, "installer.p12: wrong password"},
		{[]string{"pkg", "--sign-p12", instP12, "--sign-password-env", "GATEHOUSE_INSTALLER_PASSWORD", "--installer-p12", instP12, "--provisioning-profile", prof},
			map[string]string{"GATEHOUSE_INSTALLER_PASSWORD": "installer pass"}, "is not a Developer ID Application certificate"},
	} {
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d\n%s\nwant %q", tc.args, code, stderr.Bytes(), tc.want)
		}
		if strings.Contains(stderr.String(), "building") {
			t.Errorf("%v: built before refusing:\n%s", tc.args, stderr.Bytes())
		}
	}

	t.Setenv("GATEHOUSE_INSTALLER_PASSWORD", "installer pass")
	var stdout, stderr bytes.Buffer
	if code := run(signArgs, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.Bytes())
	}
	pkgPath := strings.TrimSpace(stdout.String())
	if pkgPath != filepath.Join(out, "Gatehouse-1.2.0-arm64.pkg") {
		t.Errorf("stdout %q", pkgPath)
	}
	for _, want := range []string{`signing as "Developer ID Application: Gatehouse Test Corp (GH7TEST123)"`, "signing the programs", "signing the package", "the agent is a stand-in"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.Bytes())
		}
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"verify", "--ca", root, pkgPath}, &stdout, &stderr); code != 0 {
		t.Fatalf("verify: exit %d\n%s", code, stderr.Bytes())
	}
	for _, want := range []string{
		`signed by "Developer ID Installer: Gatehouse Test Corp (GH7TEST123)", team GH7TEST123, timestamped; chains checked to`,
		"/Library/Gatehouse/Gatehoused.app: com.gatehouse.gatehoused, team GH7TEST123, hardened runtime, timestamped; entitlements com.apple.application-identifier, com.apple.developer.endpoint-security.client, com.apple.developer.team-identifier",
		"/Applications/Gatehouse.app: com.gatehouse.agent, team GH7TEST123, hardened runtime, timestamped; entitlements com.apple.security.automation.apple-events",
		"/Library/Gatehouse/bin/gatehouse: com.gatehouse.cli, team GH7TEST123, hardened runtime, timestamped; no entitlements",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("verify's report lacks %q:\n%s", want, stdout.Bytes())
		}
	}
	// Another root: the chains do not check.
	other, err := codesigntest.New("OTHERTEAM1")
	if err != nil {
		t.Fatal(err)
	}
	otherRoot := filepath.Join(keys, "other.pem")
	if err := other.WriteRoot(otherRoot); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	if code := run([]string{"verify", "--ca", otherRoot, pkgPath}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "certificate signed by unknown authority") {
		t.Errorf("verify against another root: exit %d\n%s", code, stderr.Bytes())
	}
}

// writeProfileAndRoot writes ca's provisioning profile granting
// gatehoused the Endpoint Security entitlement to prof, and ca's root
// certificate to root.
func writeProfileAndRoot(t *testing.T, ca *codesigntest.CA, prof, root string) {
	t.Helper()
	pb, err := ca.Profile("Gatehouse ES", "com.gatehouse.gatehoused", map[string]any{"com.apple.developer.endpoint-security.client": true}, time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(prof, pb, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ca.WriteRoot(root); err != nil {
		t.Fatal(err)
	}
}
