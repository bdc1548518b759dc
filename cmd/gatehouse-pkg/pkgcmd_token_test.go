//go:build cgo

package main

import (
	"bytes"
	"crypto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/scratch"
	"github.com/gatehouse/gatehouse/packaging/codesign/codesigntest"
)

// The release engineer's keys on a PKCS#11 token (SoftHSM2 here; an HSM
// or a YubiKey in a release): the same command signs with them, and the
// package verifies.
func TestPkgCommandSignsWithAToken(t *testing.T) {
	scratch.Need(t, codesigntest.SoftHSMModule() != "", "softhsm2 (scripts/setup installs it)")
	ca, err := codesigntest.New("GH7TEST123")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	t.Setenv("SOFTHSM2_CONF", filepath.Join(dir, "softhsm2.conf"))
	module, err := codesigntest.SoftHSM(dir, map[string]crypto.PrivateKey{"Gatehouse App": ca.App.PrivateKey, "Gatehouse Installer": ca.Installer.PrivateKey})
	if err != nil {
		t.Fatal(err)
	}
	appCert, instCert, prof, root := filepath.Join(dir, "app.pem"), filepath.Join(dir, "inst.pem"), filepath.Join(dir, "es.provisionprofile"), filepath.Join(dir, "root.pem")
	// The private keys in these files are not used: the token signs.
	if err := codesigntest.WritePEM(ca.App, appCert, filepath.Join(dir, "app.key")); err != nil {
		t.Fatal(err)
	}
	if err := codesigntest.WritePEM(ca.Installer, instCert, filepath.Join(dir, "inst.key")); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "app.key"))
	os.Remove(filepath.Join(dir, "inst.key"))
	writeProfileAndRoot(t, ca, prof, root)
	t.Chdir(filepath.Join("..", ".."))
	out := t.TempDir()
	args := []string{"pkg", "--version", "1.2.0", "--out", out, "--timestamp-url", "none", "--provisioning-profile", prof,
		"--pkcs11-module", module, "--pkcs11-token", codesigntest.TokenLabel,
		"--sign-pkcs11-key", "Gatehouse App", "--sign-cert", appCert,
		"--installer-pkcs11-key", "Gatehouse Installer", "--installer-cert", instCert}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{args, "put the token's PIN in $GATEHOUSE_PKCS11_PIN"},
		{[]string{"pkg", "--provisioning-profile", prof, "--sign-pkcs11-key", "Gatehouse App", "--sign-cert", appCert, "--installer-pkcs11-key", "Gatehouse Installer", "--installer-cert", instCert},
			"--sign-pkcs11-key needs --pkcs11-module"},
		{[]string{"pkg", "--provisioning-profile", prof, "--pkcs11-module", module, "--sign-pkcs11-key", "Gatehouse App", "--installer-pkcs11-key", "Gatehouse Installer", "--installer-cert", instCert},
			"--sign-pkcs11-key needs --sign-cert"},
		{[]string{"pkg", "--provisioning-profile", prof, "--pkcs11-module", module, "--sign-pkcs11-key", "Gatehouse App", "--sign-cert", appCert, "--sign-key", appCert, "--installer-pkcs11-key", "Gatehouse Installer", "--installer-cert", instCert},
			"without --sign-p12 or --sign-key"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%v: exit %d\n%s\nwant %q", tc.args, code, stderr.Bytes(), tc.want)
		}
	}

	t.Setenv("GATEHOUSE_PKCS11_PIN", "999999")
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), `PKCS#11 key "Gatehouse App" on token "gatehouse-test": the token refused the PIN`) {
		t.Errorf("a wrong PIN: exit %d\n%s", code, stderr.Bytes())
	}
	stderr.Reset()
	t.Setenv("GATEHOUSE_PKCS11_PIN", codesigntest.TokenPIN)
	start := time.Now()
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.Bytes())
	}
	t.Logf("built and signed on the token in %s", time.Since(start).Round(100*time.Millisecond))
	pkgPath := strings.TrimSpace(stdout.String())
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"verify", "--ca", root, pkgPath}, &stdout, &stderr); code != 0 {
		t.Fatalf("verify: exit %d\n%s", code, stderr.Bytes())
	}
	for _, want := range []string{
		`signed by "Developer ID Installer: Gatehouse Test Corp (GH7TEST123)", team GH7TEST123`,
		"/Library/Gatehouse/Gatehoused.app: com.gatehouse.gatehoused, team GH7TEST123, hardened runtime",
	} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("verify's report lacks %q:\n%s", want, stdout.Bytes())
		}
	}
}
