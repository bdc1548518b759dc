package main

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/facts"
	"github.com/gatehouse/gatehouse/facts/codesign/codesigntest"
)

// A Mach-O signed here with relic, under a test CA given by --trust-root:
// explain shows its publisher, team and signing ids on Linux, and a rule
// on the team id decides it. Without the root, it is nobody's.
func TestExplainShowsTheCodeSignatureOfAMachO(t *testing.T) {
	dir := t.TempDir()
	ca := codesigntest.NewCA(t, "ABCDE12345", "Developer ID Application: Test Corp (ABCDE12345)")
	bin := filepath.Join(dir, "hello")
	if err := os.WriteFile(bin, codesigntest.Sign(t, codesigntest.Darwin(t, "amd64", "A"), ca.Cert, "com.example.hello", "ABCDE12345"), 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "root.pem")
	if err := os.WriteFile(root, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Root.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	pol := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(pol, []byte(`id: t
revision: 1
default: allow
groups:
  - name: test-corp
    definitions: [{type: binary, team_id: ABCDE12345, signing_id: com.example.hello}]
rules:
  - {group: test-corp, action: deny}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runCLI(t, "policy", "explain", "--trust-root", root, pol, bin)
	if code != exitOK {
		t.Fatalf("code %d: %s", code, errs)
	}
	for _, want := range []string{
		"Publisher  Developer ID Application: Test Corp (ABCDE12345)\n",
		"Team id    ABCDE12345\n",
		"Signing id com.example.hello\n",
		"Signature  signed: Developer ID Application: Test Corp (ABCDE12345) → " + codesigntest.InterCN + " → " + codesigntest.RootCN + "\n",
		"Decision   deny — rule 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("explain lacks %q:\n%s", want, out)
		}
	}
	// Apple's roots alone (what a process without --trust-root has): the
	// test CA is not trusted, so the ids are nobody's and the rule does
	// not match.
	facts.TrustCodeSigningRoots(nil)
	code, out, _ = runCLI(t, "policy", "explain", pol, bin)
	if code != exitOK || strings.Contains(out, "Team id") || !strings.Contains(out, "Signature  invalid, treated as unsigned") ||
		!strings.Contains(out, "Decision   allow") {
		t.Errorf("without the root: code %d\n%s", code, out)
	}
	if code, _, errs := runCLI(t, "policy", "explain", "--trust-root", filepath.Join(dir, "missing.pem"), pol, bin); code != exitUsage || !strings.Contains(errs, "code-signing roots") {
		t.Errorf("a missing root file: code %d, %s", code, errs)
	}
}
