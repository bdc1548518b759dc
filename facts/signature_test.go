package facts

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/facts/codesign/codesigntest"
)

// trust makes the test CA's root a code-signing root for the test.
func trust(t *testing.T, ca codesigntest.CA) {
	t.Helper()
	TrustCodeSigningRoots([]*x509.Certificate{ca.Root})
	t.Cleanup(func() { verifierNow.Store(nil) })
}

func TestSignedMachOHasAPublisher(t *testing.T) {
	dir := t.TempDir()
	ca := codesigntest.NewCA(t, "ABCDE12345", "Developer ID Application: Test Corp (ABCDE12345)")
	signed := codesigntest.Sign(t, codesigntest.Darwin(t, "arm64", "A"), ca.Cert, "com.example.hello", "ABCDE12345")
	tool := filepath.Join(dir, "hello")
	writeFile(t, tool, string(signed), 0o755)

	// Apple's roots alone: the chain is not trusted, so no publisher.
	s, err := Program(tool)
	if err != nil {
		t.Fatal(err)
	}
	if s.Publisher != "" || s.TeamID != "" || !strings.Contains(s.Signature, "invalid") {
		t.Errorf("untrusted chain: publisher %q team %q signature %q", s.Publisher, s.TeamID, s.Signature)
	}

	trust(t, ca)
	s, err = Program(tool)
	if err != nil {
		t.Fatal(err)
	}
	if s.Publisher != "Developer ID Application: Test Corp (ABCDE12345)" || s.TeamID != "ABCDE12345" || s.SigningID != "com.example.hello" ||
		s.Signature != "signed: Developer ID Application: Test Corp (ABCDE12345) → "+codesigntest.InterCN+" → "+codesigntest.RootCN {
		t.Errorf("signed: %+v", s)
	}

	// The same signature on another program (B differs by one string):
	// its pages do not match, so it is nobody's.
	forged := codesigntest.Sign(t, codesigntest.Darwin(t, "arm64", "B"), ca.Cert, "com.example.hello", "ABCDE12345")
	sigStart := strings.LastIndex(string(signed), "\xfa\xde\x0c\xc0") // the embedded signature's magic
	if len(forged) != len(signed) || sigStart < 0 {
		t.Fatalf("the variants' signed sizes %d and %d differ, or no signature found (%d)", len(forged), len(signed), sigStart)
	}
	copy(forged[sigStart:], signed[sigStart:])
	copied := filepath.Join(dir, "copied")
	writeFile(t, copied, string(forged), 0o755)
	if s, err := Program(copied); err != nil || s.Publisher != "" || s.TeamID != "" || !strings.Contains(s.Signature, "does not match its hash") {
		t.Errorf("a copied signature: %+v, %v", s, err)
	}

	// A bundle is signed by its main executable's signature.
	app := filepath.Join(dir, "Hello.app")
	if err := os.MkdirAll(filepath.Join(app, "Contents", "MacOS"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(app, "Contents", "MacOS", "Hello"), string(signed), 0o755)
	writeFile(t, filepath.Join(app, "Contents", "Info.plist"), strings.ReplaceAll(infoPlist, "<string>Foo</string>", "<string>Hello</string>"), 0o644)
	if s, err := Program(app); err != nil || s.TeamID != "ABCDE12345" || s.BundleID != "com.example.foo" {
		t.Errorf("bundle: %+v, %v", s, err)
	}

	// Go's linker ad-hoc signs arm64: an identifier, no certificate.
	adhoc := filepath.Join(dir, "adhoc")
	writeFile(t, adhoc, string(codesigntest.Darwin(t, "arm64", "A")), 0o755)
	if s, _ := Program(adhoc); s.SigningID != "" || !strings.HasPrefix(s.Signature, "ad-hoc signed") {
		t.Errorf("ad-hoc: %+v", s)
	}
}

func TestReadRoots(t *testing.T) {
	if _, err := ReadRoots([]string{"/nonexistent.pem"}); err == nil {
		t.Error("a missing file read")
	}
	p := filepath.Join(t.TempDir(), "x.pem")
	writeFile(t, p, "not a certificate", 0o644)
	if _, err := ReadRoots([]string{p}); err == nil || !strings.Contains(err.Error(), "holds no PEM certificate") {
		t.Errorf("a file without certificates: %v", err)
	}
}
