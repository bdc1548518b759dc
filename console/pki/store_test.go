package pki

import (
	"bytes"
	"crypto/ed25519"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testNow is the clock for tests that do not talk TLS.
var testNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newAuthority(t testing.TB) *Authority {
	t.Helper()
	a, err := Create(testNow)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func saved(t *testing.T, a *Authority) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pki")
	if err := a.Save(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSaveThenLoadKeepsTheCAAndTheSigningKey(t *testing.T) {
	a := newAuthority(t)
	dir := saved(t, a)
	b, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := b.CAHash(), a.CAHash(); got != want {
		t.Errorf("CAHash after Load = %s, want %s", got, want)
	}
	if !b.SigningPublic().Equal(a.SigningPublic()) {
		t.Error("signing key changed across Save/Load")
	}
	if got := len(b.SigningPublics()); got != 1 {
		t.Errorf("SigningPublics after Load has %d keys, want 1", got)
	}
	if sig := b.Sign("decision", []byte("x")); !Verify([]ed25519.PublicKey{a.SigningPublic()}, sig, "decision", []byte("x")) {
		t.Error("a signature by the loaded key does not verify with the saved key")
	}
	der := issue(t, b, newCSR(t, mustClientKey(t)), "m-1")
	if _, err := verifyClient(a.ClientCAs(), der, testNow); err != nil {
		t.Errorf("a certificate the loaded CA key issued does not verify against the saved CA: %v", err)
	}
}

func TestSaveMakesKeysOwnerOnlyAndTheDirectoryPrivate(t *testing.T) {
	a := newAuthority(t)
	if err := a.RotateSigning(); err != nil { // so that signing-key.old.pem is written too
		t.Fatal(err)
	}
	dir := saved(t, a)
	for _, tt := range []struct {
		name string
		want fs.FileMode
	}{
		{".", 0o700 | fs.ModeDir},
		{caFile, 0o644},
		{caKeyFile, 0o600},
		{signingFile, 0o600},
		{oldSigningFile, 0o600},
	} {
		fi, err := os.Stat(filepath.Join(dir, tt.name))
		if err != nil {
			t.Error(err)
			continue
		}
		if got := fi.Mode(); got != tt.want {
			t.Errorf("%s mode = %v, want %v", tt.name, got, tt.want)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want the four files and no temporary ones", names)
	}
}

func TestLoadOrCreateCreatesOnceThenLoads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	a, created, err := LoadOrCreate(dir, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if !created {
		t.Error("first LoadOrCreate: created = false, want true")
	}
	b, created, err := LoadOrCreate(dir, testNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if created {
		t.Error("second LoadOrCreate: created = true, want false")
	}
	if a.CAHash() != b.CAHash() || !a.SigningPublic().Equal(b.SigningPublic()) {
		t.Error("second LoadOrCreate gave a different authority")
	}
}

func TestLoadOrCreateRefusesAnIncompleteDirectoryAndNamesTheMissingFile(t *testing.T) {
	for _, missing := range []string{caFile, caKeyFile, signingFile} {
		t.Run(missing, func(t *testing.T) {
			dir := saved(t, newAuthority(t))
			if err := os.Remove(filepath.Join(dir, missing)); err != nil {
				t.Fatal(err)
			}
			before := snapshot(t, dir)
			_, _, err := LoadOrCreate(dir, testNow)
			if err == nil {
				t.Fatal("LoadOrCreate succeeded on an incomplete directory")
			}
			if !strings.Contains(err.Error(), missing) {
				t.Errorf("error %q does not name %s", err, missing)
			}
			if after := snapshot(t, dir); !equalSnapshots(before, after) {
				t.Errorf("LoadOrCreate changed the directory: before %v, after %v", keys(before), keys(after))
			}
		})
	}
}

func TestLoadOrCreateRefusesAnOrphanedOldSigningKey(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, oldSigningFile), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreate(dir, testNow); err == nil || !strings.Contains(err.Error(), caFile) {
		t.Errorf("LoadOrCreate = %v, want an error naming %s", err, caFile)
	}
}

func TestSaveRefusesToReplaceAnotherCA(t *testing.T) {
	dir := saved(t, newAuthority(t))
	before := snapshot(t, dir)
	if err := newAuthority(t).Save(dir); err == nil {
		t.Fatal("Save replaced another authority's CA")
	}
	if !equalSnapshots(before, snapshot(t, dir)) {
		t.Error("a refused Save changed the directory")
	}
}

func TestLoadRefusesACAKeyThatIsNotTheCAs(t *testing.T) {
	dir := saved(t, newAuthority(t))
	other := saved(t, newAuthority(t))
	b, err := os.ReadFile(filepath.Join(other, caKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, caKeyFile), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), caKeyFile) {
		t.Errorf("Load = %v, want an error naming %s", err, caKeyFile)
	}
}

func TestLoadRefusesFilesOfTheWrongKind(t *testing.T) {
	for _, tt := range []struct{ file, from string }{
		{caFile, caKeyFile},         // a key where the certificate goes
		{caKeyFile, signingFile},    // an Ed25519 key as the CA key
		{signingFile, caKeyFile},    // an ECDSA key as the signing key
		{oldSigningFile, caKeyFile}, // the optional file is checked too
		{signingFile, "garbage"},    // not PEM at all
	} {
		t.Run(tt.file+" holds "+tt.from, func(t *testing.T) {
			dir := saved(t, newAuthority(t))
			b := []byte("not PEM")
			if tt.from != "garbage" {
				var err error
				if b, err = os.ReadFile(filepath.Join(dir, tt.from)); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dir, tt.file), b, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), tt.file) {
				t.Errorf("Load = %v, want an error naming %s", err, tt.file)
			}
		})
	}
}

func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		m[e.Name()] = b
	}
	return m
}

func equalSnapshots(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

func keys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// Files and FromFiles carry the authority where no directory is (the
// console's database), the rotation overlap's old key included, and a set
// missing a file is refused naming it.
func TestFilesCarryTheAuthority(t *testing.T) {
	a := newAuthority(t)
	if err := a.RotateSigning(); err != nil {
		t.Fatal(err)
	}
	files, err := a.Files()
	if err != nil || len(files) != 4 {
		t.Fatalf("%d files, %v; want 4 during an overlap", len(files), err)
	}
	b, err := FromFiles(files, "db")
	if err != nil {
		t.Fatal(err)
	}
	if b.CAHash() != a.CAHash() || len(b.SigningPublics()) != 2 || !b.SigningPublic().Equal(a.SigningPublic()) {
		t.Error("the authority changed on its way through Files and FromFiles")
	}
	delete(files, caKeyFile)
	if _, err := FromFiles(files, "db"); err == nil || !strings.Contains(err.Error(), caKeyFile) {
		t.Errorf("a set without the CA key: %v", err)
	}
}

// An administrator's own CA is imported into an empty directory with a
// signing key made beside it, and never over an authority in use; a
// server certificate an administrator configures must chain to the
// console's CA.
func TestAnAdministratorsOwnCAAndServerCertificate(t *testing.T) {
	own := newAuthority(t)
	files, _ := own.Files()
	dir := filepath.Join(t.TempDir(), "pki")
	a, err := ImportCA(dir, files[caFile], files[caKeyFile])
	if err != nil || a.CAHash() != own.CAHash() {
		t.Fatalf("import: %v", err)
	}
	again, created, err := LoadOrCreate(dir, testNow)
	if err != nil || created || !again.SigningPublic().Equal(a.SigningPublic()) || again.CAHash() != own.CAHash() {
		t.Errorf("the imported CA and its signing key were not kept: %v", err)
	}
	if b, err := ImportCA(dir, files[caFile], files[caKeyFile]); err != nil || !b.SigningPublic().Equal(a.SigningPublic()) {
		t.Errorf("importing the same CA again: %v", err)
	}
	other, _ := newAuthority(t).Files()
	if _, err := ImportCA(dir, other[caFile], other[caKeyFile]); err == nil {
		t.Error("another CA imported over the one in use")
	}
	good, _ := a.ServerCert([]string{"console.example"}, testNow)
	good.Certificate = good.Certificate[:1] // the leaf alone, as a file may hold it
	if ready, err := a.ConfiguredServerCert(good, testNow.Add(time.Hour)); err != nil || len(ready.Certificate) != 2 {
		t.Errorf("a certificate from the console's CA: %v; chain of %d, want the CA added", err, len(ready.Certificate))
	}
	bad, _ := newAuthority(t).ServerCert([]string{"console.example"}, testNow)
	if _, err := a.ConfiguredServerCert(bad, testNow.Add(time.Hour)); err == nil || !strings.Contains(err.Error(), "does not chain to the console's CA") {
		t.Errorf("a certificate from another CA: %v", err)
	}
}
