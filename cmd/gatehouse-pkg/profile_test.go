package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"howett.net/plist"
)

// gatehouse-pkg profile writes the three profiles into --out, names them
// on stdout, and says which need a user-approved MDM.
func TestProfileCommandWritesTheThreeProfiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dist")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"profile", "--team-id", "ABCDE12345", "--org", "Example Corp", "--out", dir}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.Bytes())
	}
	names := []string{"Gatehouse-PPPC.mobileconfig", "Gatehouse-Notifications.mobileconfig", "Gatehouse-LoginItems.mobileconfig"}
	var want []string
	for _, n := range names {
		want = append(want, filepath.Join(dir, n))
	}
	if d := cmp.Diff(want, strings.Fields(stdout.String())); d != "" {
		t.Errorf("stdout (-want +got):\n%s", d)
	}
	for _, p := range want {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		var d map[string]any
		if _, err := plist.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if d["PayloadType"] != "Configuration" || d["PayloadOrganization"] != "Example Corp" {
			t.Errorf("%s: PayloadType %v, PayloadOrganization %v", p, d["PayloadType"], d["PayloadOrganization"])
		}
	}
	for _, n := range []string{"Gatehouse-PPPC", "Gatehouse-LoginItems"} {
		if !strings.Contains(stderr.String(), n+".mobileconfig takes effect only when a user-approved MDM installs it") {
			t.Errorf("stderr does not say %s needs a user-approved MDM:\n%s", n, stderr.Bytes())
		}
	}
	if strings.Contains(stderr.String(), "Gatehouse-Notifications.mobileconfig takes effect only") {
		t.Errorf("stderr says the notification settings need an MDM; they do not:\n%s", stderr.Bytes())
	}
}

// Wrong or missing flags are usage errors (exit 2) that say what to give.
func TestProfileCommandRefusesBadFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no team id", nil, "--team-id is required"},
		{"a lower-case team id", []string{"--team-id", "abcde12345"}, "10 capital letters and digits"},
		{"a certificate without its key", []string{"--team-id", "ABCDE12345", "--sign-cert", "c.pem"}, "--sign-cert and --sign-key together"},
		{"a key without its certificate", []string{"--team-id", "ABCDE12345", "--sign-key", "k.pem"}, "--sign-cert and --sign-key together"},
		{"an extra argument", []string{"--team-id", "ABCDE12345", "dist"}, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"profile", "--out", t.TempDir()}, tt.args...)
			if code := run(args, &stdout, &stderr); code != 2 {
				t.Errorf("exit %d, want 2", code)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q, want it to contain %q", stderr.String(), tt.want)
			}
		})
	}
}

// With --sign-cert and --sign-key each file is CMS SignedData (DER)
// around the profile (packaging/profiles verifies those with OpenSSL); a
// key that is not the certificate's is refused.
func TestProfileCommandSigns(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := writeIdentity(t, dir, "a")
	_, otherKey := writeIdentity(t, dir, "b")
	out := filepath.Join(dir, "dist")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"profile", "--team-id", "ABCDE12345", "--out", out, "--sign-cert", certFile, "--sign-key", keyFile}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr.Bytes())
	}
	for _, p := range strings.Fields(stdout.String()) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) < 2 || b[0] != 0x30 || !bytes.Contains(b, []byte("<key>PayloadType</key>")) {
			t.Errorf("%s is not a DER structure holding the profile", p)
		}
	}
	if !strings.Contains(stderr.String(), `signed by "CN=Example profile signing a"`) {
		t.Errorf("stderr does not name the signer:\n%s", stderr.Bytes())
	}
	stderr.Reset()
	if code := run([]string{"profile", "--team-id", "ABCDE12345", "--out", out, "--sign-cert", certFile, "--sign-key", otherKey}, &stdout, &stderr); code != 1 {
		t.Errorf("another identity's key: exit %d, want 1", code)
	}
	if !strings.Contains(stderr.String(), "not the key of") {
		t.Errorf("stderr %q, want the mismatch named", stderr.String())
	}
}

// writeIdentity writes a self-signed certificate and its key as PEM files.
func writeIdentity(t *testing.T, dir, name string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Example profile signing " + name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+"-cert.pem"), filepath.Join(dir, name+"-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}
