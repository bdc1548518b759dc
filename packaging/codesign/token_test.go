//go:build cgo

package codesign

import (
	"context"
	"crypto"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/internal/scratch"
	"github.com/gatehouse/gatehouse/packaging/codesign/codesigntest"
)

// A PKCS#11 token (SoftHSM2, a real PKCS#11 module) holds the keys: the
// identities load from it, sign on it, and what they sign verifies.
func TestTokenIdentities(t *testing.T) {
	scratch.Need(t, codesigntest.SoftHSMModule() != "", "softhsm2 (scripts/setup installs it)")
	c := ca(t)
	dir := t.TempDir()
	t.Setenv("SOFTHSM2_CONF", filepath.Join(dir, "softhsm2.conf"))
	module, err := codesigntest.SoftHSM(dir, map[string]crypto.PrivateKey{"app": c.App.PrivateKey, "installer": c.Installer.PrivateKey})
	if err != nil {
		t.Fatal(err)
	}
	appCert, instCert := filepath.Join(dir, "app.pem"), filepath.Join(dir, "inst.pem")
	if err := codesigntest.WritePEM(c.App, appCert, filepath.Join(dir, "unused.key")); err != nil {
		t.Fatal(err)
	}
	if err := codesigntest.WritePEM(c.Installer, instCert, filepath.Join(dir, "unused2.key")); err != nil {
		t.Fatal(err)
	}
	tok := Token{Module: module, Label: codesigntest.TokenLabel, PIN: codesigntest.TokenPIN}
	// First: the PIN is checked at the first login only (PKCS#11 shares
	// a login among an application's sessions).
	if _, err := LoadToken(Token{Module: module, Label: codesigntest.TokenLabel, PIN: "000000"}, "app", appCert, Application); err == nil || !strings.Contains(err.Error(), "the token refused the PIN") {
		t.Errorf("wrong PIN: %v", err)
	}

	app, err := LoadToken(tok, "app", appCert, Application)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "gatehoused")
	writeMachO(t, path, "arm64")
	if err := SignMachO(context.Background(), MachO{Path: path, Identifier: "com.gatehouse.gatehoused"}, app); err != nil {
		t.Fatal(err)
	}
	if s, err := VerifyMachO(path, nil, nil, c.Roots()); err != nil || s.TeamID != team || !s.Chained {
		t.Errorf("signed on the token: %v, %+v", err, s)
	}
	inst, err := LoadToken(tok, "installer", instCert, Installer)
	if err != nil {
		t.Fatal(err)
	}
	if inst.Leaf.Subject.CommonName != c.Installer.Leaf.Subject.CommonName {
		t.Errorf("installer identity: %q", inst.Leaf.Subject.CommonName)
	}

	for _, tc := range []struct {
		name      string
		tok       Token
		key, cert string
		kind      Kind
		want      string
	}{
		{"no such token", Token{Module: module, Label: "elsewhere", PIN: codesigntest.TokenPIN}, "app", appCert, Application, "No token found"},
		{"no such key", tok, "nothing", appCert, Application, `the token has no such private key`},
		{"another key's certificate", tok, "installer", appCert, Application, "certificate does not match key in token"},
		{"the wrong kind", tok, "app", appCert, Installer, "is not a Developer ID Installer certificate"},
		{"no module", Token{Module: filepath.Join(dir, "missing.so"), PIN: "1"}, "app", appCert, Application, "the PKCS#11 module"},
		{"no certificate", tok, "app", "", Application, "needs the token's module, the key's label and the certificate file"},
	} {
		if _, err := LoadToken(tc.tok, tc.key, tc.cert, tc.kind); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}

// BenchmarkSignMachO signs one small darwin program (the test Mach-O) with
// the key in memory and with the same key on a SoftHSM2 token, side by
// side: what a token costs per program.
func BenchmarkSignMachO(b *testing.B) {
	if codesigntest.SoftHSMModule() == "" {
		b.Skip("needs softhsm2 (scripts/setup installs it)")
	}
	c := ca(b)
	dir := b.TempDir()
	b.Setenv("SOFTHSM2_CONF", filepath.Join(dir, "softhsm2.conf"))
	module, err := codesigntest.SoftHSM(dir, map[string]crypto.PrivateKey{"app": c.App.PrivateKey})
	if err != nil {
		b.Fatal(err)
	}
	certFile := filepath.Join(dir, "app.pem")
	if err := codesigntest.WritePEM(c.App, certFile, filepath.Join(dir, "app.key")); err != nil {
		b.Fatal(err)
	}
	onToken, err := LoadToken(Token{Module: module, Label: codesigntest.TokenLabel, PIN: codesigntest.TokenPIN}, "app", certFile, Application)
	if err != nil {
		b.Fatal(err)
	}
	prog := macho(b, "arm64")
	for _, bc := range []struct {
		name string
		id   *Identity
	}{{"key-in-memory", c.App}, {"softhsm2-token", onToken}} {
		b.Run(bc.name, func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "gatehoused")
			b.SetBytes(int64(len(prog)))
			for b.Loop() {
				b.StopTimer()
				if err := os.WriteFile(path, prog, 0o755); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := SignMachO(context.Background(), MachO{Path: path, Identifier: "com.gatehouse.gatehoused"}, bc.id); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
