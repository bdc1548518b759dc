package codesign

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"howett.net/plist"

	"github.com/gatehouse/gatehouse/packaging/codesign/codesigntest"
	"github.com/gatehouse/gatehouse/packaging/xar"
)

const team = "GH7TEST123"

var (
	caOnce sync.Once
	testCA *codesigntest.CA
	caErr  error
)

func ca(t testing.TB) *codesigntest.CA {
	caOnce.Do(func() { testCA, caErr = codesigntest.New(team) })
	if caErr != nil {
		t.Fatal(caErr)
	}
	return testCA
}

var (
	machoOnce   sync.Once
	builtMachOs map[string][]byte
	machoErr    error
)

// macho is a small Go program built for darwin/arch (Go's linker signs
// it ad hoc, as every darwin build is).
func macho(t testing.TB, arch string) []byte {
	machoOnce.Do(func() {
		dir, err := os.MkdirTemp("", "codesign-macho-")
		if err != nil {
			machoErr = err
			return
		}
		defer os.RemoveAll(dir)
		builtMachOs = map[string][]byte{}
		for _, a := range []string{"arm64", "amd64"} {
			out := filepath.Join(dir, "hello-"+a)
			if machoErr = codesigntest.MachO(out, a); machoErr != nil {
				return
			}
			if builtMachOs[a], machoErr = os.ReadFile(out); machoErr != nil {
				return
			}
		}
	})
	if machoErr != nil {
		t.Fatal(machoErr)
	}
	return builtMachOs[arch]
}

func writeMachO(t *testing.T, path, arch string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, macho(t, arch), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestSignMachO(t *testing.T) {
	c := ca(t)
	ents, err := Entitlements(map[string]any{"com.apple.developer.endpoint-security.client": true})
	if err != nil {
		t.Fatal(err)
	}
	for _, arch := range []string{"arm64", "amd64"} {
		t.Run(arch, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "gatehoused")
			writeMachO(t, path, arch)
			mtime := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			if err := os.Chtimes(path, mtime, mtime); err != nil {
				t.Fatal(err)
			}
			if _, err := VerifyMachO(path, nil, nil, nil); err == nil {
				t.Fatal("verified before signing (Go's linker signs arm64 ad hoc, amd64 not at all)")
			}
			if err := SignMachO(context.Background(), MachO{Path: path, Identifier: "com.gatehouse.gatehoused", Entitlements: ents}, c.App); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o755 || !fi.ModTime().Equal(mtime) {
				t.Errorf("signed file: mode %v time %v, want 0755 and %v kept", fi.Mode(), fi.ModTime(), mtime)
			}
			s, err := VerifyMachO(path, nil, nil, c.Roots())
			if err != nil {
				t.Fatal(err)
			}
			if s.Identifier != "com.gatehouse.gatehoused" || s.TeamID != team || !s.Runtime || !s.Chained || s.Timestamped {
				t.Errorf("signed: %+v", s)
			}
			if s.Entitlements["com.apple.developer.endpoint-security.client"] != true || len(s.Entitlements) != 1 {
				t.Errorf("entitlements: %v", s.Entitlements)
			}
			// Another CA's roots do not chain.
			other, err := codesigntest.New("OTHERTEAM1")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := VerifyMachO(path, nil, nil, other.Roots()); err == nil {
				t.Error("verified against another root")
			}
			// Signed again without entitlements, it has none: the old
			// signature's are not carried over.
			again := filepath.Join(t.TempDir(), "again")
			if err := exec.Command("cp", "-p", path, again).Run(); err != nil {
				t.Fatal(err)
			}
			if err := SignMachO(context.Background(), MachO{Path: again, Identifier: "com.gatehouse.cli"}, c.App); err != nil {
				t.Fatal(err)
			}
			if s, err := VerifyMachO(again, nil, nil, c.Roots()); err != nil || len(s.Entitlements) != 0 || s.Identifier != "com.gatehouse.cli" {
				t.Errorf("re-signed without entitlements: %v, %+v", err, s)
			}
			// A changed byte in the code breaks the page hashes.
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			i := bytes.Index(b, []byte("hello"))
			if i < 0 {
				t.Fatal("no string to change")
			}
			b[i] = 'j'
			if err := os.WriteFile(path, b, 0o755); err != nil {
				t.Fatal(err)
			}
			if _, err := VerifyMachO(path, nil, nil, c.Roots()); err == nil {
				t.Error("a changed program verified")
			}
		})
	}
}

func TestSignMachOTimestamped(t *testing.T) {
	c := ca(t)
	srv := c.TSAServer()
	defer srv.Close()
	id := *c.App
	id.Timestamper = Timestamper{URL: srv.URL}
	path := filepath.Join(t.TempDir(), "gatehouse")
	writeMachO(t, path, "arm64")
	if err := SignMachO(context.Background(), MachO{Path: path, Identifier: "com.gatehouse.cli"}, &id); err != nil {
		t.Fatal(err)
	}
	s, err := VerifyMachO(path, nil, nil, c.Roots())
	if err != nil {
		t.Fatal(err)
	}
	if !s.Timestamped || len(s.Entitlements) != 0 {
		t.Errorf("signed: %+v, want a timestamp and no entitlements", s)
	}
	// A server that is not there is an error, not an unstamped signature.
	id.Timestamper = Timestamper{URL: "http://127.0.0.1:1/ts"}
	writeMachO(t, path, "arm64")
	if err := SignMachO(context.Background(), MachO{Path: path, Identifier: "com.gatehouse.cli"}, &id); err == nil || !strings.Contains(err.Error(), "timestamp server") {
		t.Errorf("sign with no timestamp server: %v", err)
	}
}

// bundle lays out a .app with a resource and returns its directory.
func bundle(t *testing.T, id, exe string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "Test.app")
	info, err := plist.MarshalIndent(map[string]any{"CFBundleIdentifier": id, "CFBundleExecutable": exe, "CFBundlePackageType": "APPL"}, plist.XMLFormat, "\t")
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string][]byte{
		"Contents/Info.plist":                   info,
		"Contents/Resources/en.lproj/hello.txt": []byte("hello\n"),
		"Contents/Resources/icon.icns":          []byte("not really an icon"),
		"Contents/Resources/.DS_Store":          []byte("finder"),
		"Contents/version.plist":                []byte("<plist/>"),
	} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeMachO(t, filepath.Join(dir, "Contents", "MacOS", exe), "arm64")
	return dir
}

func TestSignBundle(t *testing.T) {
	c := ca(t)
	dir := bundle(t, "com.gatehouse.gatehoused", "gatehoused")
	profile, err := c.Profile("Gatehouse ES", "com.gatehouse.gatehoused", map[string]any{"com.apple.developer.endpoint-security.client": true}, time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ents, _ := Entitlements(map[string]any{"com.apple.developer.endpoint-security.client": true})
	if err := SignBundle(context.Background(), Bundle{Dir: dir, Entitlements: ents, ProvisioningProfile: profile}, c.App); err != nil {
		t.Fatal(err)
	}
	s, err := VerifyBundle(dir, c.Roots())
	if err != nil {
		t.Fatal(err)
	}
	if s.Identifier != "com.gatehouse.gatehoused" || !s.Runtime || s.Entitlements["com.apple.developer.endpoint-security.client"] != true {
		t.Errorf("signed: %+v", s)
	}
	// What the seal names, and how.
	seal, err := os.ReadFile(filepath.Join(dir, "Contents", "_CodeSignature", "CodeResources"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Files  map[string]any `plist:"files"`
		Files2 map[string]any `plist:"files2"`
		Rules2 map[string]any `plist:"rules2"`
	}
	if _, err := plist.Unmarshal(seal, &doc); err != nil {
		t.Fatal(err)
	}
	var names2, names []string
	for k := range doc.Files2 {
		names2 = append(names2, k)
	}
	for k := range doc.Files {
		names = append(names, k)
	}
	want2 := []string{"Resources/en.lproj/hello.txt", "Resources/icon.icns", "embedded.provisionprofile", "version.plist"}
	if fmt.Sprint(sorted(names2)) != fmt.Sprint(want2) {
		t.Errorf("files2 %v, want %v (no Info.plist, main executable, .DS_Store or _CodeSignature)", sorted(names2), want2)
	}
	// The legacy rules have no .DS_Store exception.
	if want := []string{"Resources/.DS_Store", "Resources/en.lproj/hello.txt", "Resources/icon.icns", "version.plist"}; fmt.Sprint(sorted(names)) != fmt.Sprint(want) {
		t.Errorf("files %v, want %v", sorted(names), want)
	}
	if e, ok := doc.Files2["Resources/en.lproj/hello.txt"].(map[string]any); !ok || e["optional"] != true || len(e["hash2"].([]byte)) != 32 || len(e["hash"].([]byte)) != 20 {
		t.Errorf("files2 lproj entry: %#v", doc.Files2["Resources/en.lproj/hello.txt"])
	}
	if _, ok := doc.Rules2[`^(.*/)?\.DS_Store$`]; !ok || len(doc.Rules2) != len(rules2) {
		t.Errorf("rules2: %v", doc.Rules2)
	}

	// Each way of changing the bundle afterwards breaks it.
	for _, tc := range []struct {
		name   string
		change func(contents string) error
		want   string
	}{
		{"resource changed", func(c string) error {
			return os.WriteFile(filepath.Join(c, "Resources", "icon.icns"), []byte("another"), 0o644)
		}, "Resources/icon.icns: changed since it was sealed"},
		{"file added", func(c string) error {
			return os.WriteFile(filepath.Join(c, "Resources", "extra.txt"), []byte("x"), 0o644)
		}, "Resources/extra.txt: in the bundle, not sealed"},
		{"file removed", func(c string) error { return os.Remove(filepath.Join(c, "version.plist")) }, "version.plist: sealed, not in the bundle"},
		{"Info.plist changed", func(c string) error {
			p := filepath.Join(c, "Info.plist")
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, bytes.Replace(b, []byte("APPL"), []byte("FMWK"), 1), 0o644)
		}, "verifying mach-O signature"},
		{"seal changed", func(c string) error {
			p := filepath.Join(c, "_CodeSignature", "CodeResources")
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, append(b, '\n'), 0o644)
		}, "verifying mach-O signature"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := filepath.Join(t.TempDir(), "Test.app")
			if err := exec.Command("cp", "-a", dir, d).Run(); err != nil {
				t.Fatal(err)
			}
			if _, err := VerifyBundle(d, c.Roots()); err != nil {
				t.Fatalf("the copy: %v", err)
			}
			if err := tc.change(filepath.Join(d, "Contents")); err != nil {
				t.Fatal(err)
			}
			if _, err := VerifyBundle(d, c.Roots()); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("verify: %v, want %q", err, tc.want)
			}
		})
	}
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestSignBundleRefuses(t *testing.T) {
	c := ca(t)
	dir := bundle(t, "com.gatehouse.agent", "gatehouse-agent")
	writeMachO(t, filepath.Join(dir, "Contents", "MacOS", "helper"), "arm64")
	if err := SignBundle(context.Background(), Bundle{Dir: dir}, c.App); err == nil || !strings.Contains(err.Error(), "MacOS/helper: nested code") {
		t.Errorf("a bundle with a helper: %v", err)
	}
	dir = bundle(t, "", "gatehouse-agent")
	if err := SignBundle(context.Background(), Bundle{Dir: dir}, c.App); err == nil || !strings.Contains(err.Error(), "CFBundleIdentifier") {
		t.Errorf("a bundle without an identifier: %v", err)
	}
	dir = bundle(t, "com.gatehouse.agent", "../escape")
	if err := SignBundle(context.Background(), Bundle{Dir: dir}, c.App); err == nil || !strings.Contains(err.Error(), "CFBundleExecutable") {
		t.Errorf("an executable outside MacOS: %v", err)
	}
}

func TestLoadIdentities(t *testing.T) {
	c := ca(t)
	dir := t.TempDir()
	p12 := filepath.Join(dir, "app.p12")
	if err := codesigntest.WriteP12(c.App, p12, "s3cret"); err != nil {
		t.Fatal(err)
	}
	id, err := LoadP12(p12, "s3cret", Application)
	if err != nil {
		t.Fatal(err)
	}
	if TeamIDOf(id.Leaf) != team || len(id.Certificates) != 2 {
		t.Errorf("loaded: team %q, %d certificates", TeamIDOf(id.Leaf), len(id.Certificates))
	}
	if _, err := LoadP12(p12, "wrong", Application); err == nil || !strings.Contains(err.Error(), "wrong password") {
		t.Errorf("wrong password: %v", err)
	}
	if _, err := LoadP12(p12, "s3cret", Installer); err == nil || !strings.Contains(err.Error(), "is not a Developer ID Installer certificate") {
		t.Errorf("application identity as installer: %v", err)
	}
	other := filepath.Join(dir, "other.p12")
	if err := codesigntest.WriteP12(c.Other, other, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadP12(other, "x", Application); err == nil || !strings.Contains(err.Error(), "not a Developer ID Application") {
		t.Errorf("a plain code-signing certificate: %v", err)
	}
	// The leaf alone, without the intermediate the requirement names.
	alone := *c.Installer
	alone.Certificates = alone.Certificates[:1]
	lone := filepath.Join(dir, "lone.p12")
	if err := codesigntest.WriteP12(&alone, lone, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadP12(lone, "x", Installer); err == nil || !strings.Contains(err.Error(), "include its issuer") {
		t.Errorf("a leaf without its chain: %v", err)
	}
	cert, key := filepath.Join(dir, "inst.pem"), filepath.Join(dir, "inst.key")
	if err := codesigntest.WritePEM(c.Installer, cert, key); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadPEM(cert, key, Installer); err != nil {
		t.Errorf("PEM installer identity: %v", err)
	}
	if err := os.WriteFile(p12, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadP12(p12, "s3cret", Application); err == nil || !strings.Contains(err.Error(), "not a PKCS#12 file") {
		t.Errorf("garbage: %v", err)
	}
}

func TestProfileCheck(t *testing.T) {
	c := ca(t)
	es := "com.apple.developer.endpoint-security.client"
	now := time.Now()
	b, err := c.Profile("Gatehouse ES", "com.gatehouse.gatehoused", map[string]any{es: true}, now.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	p, err := ParseProfile(b)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "Gatehouse ES" || p.AppID() != team+".com.gatehouse.gatehoused" {
		t.Errorf("profile: %+v", p)
	}
	if err := p.Check(team, "com.gatehouse.gatehoused", es, now); err != nil {
		t.Error(err)
	}
	for _, tc := range []struct {
		team, id, ent string
		at            time.Time
		want          string
	}{
		{"OTHERTEAM1", "com.gatehouse.gatehoused", es, now, "the signing certificate is team OTHERTEAM1's"},
		{team, "com.gatehouse.agent", es, now, "not " + team + ".com.gatehouse.agent"},
		{team, "com.gatehouse.gatehoused", "com.apple.developer.networking.networkextension", now, "does not grant"},
		{team, "com.gatehouse.gatehoused", es, now.Add(2 * time.Hour), "expired"},
	} {
		if err := p.Check(tc.team, tc.id, tc.ent, tc.at); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Check(%s, %s, %s): %v, want %q", tc.team, tc.id, tc.ent, err, tc.want)
		}
	}
	if _, err := ParseProfile([]byte("<plist>not signed</plist>")); err == nil || !strings.Contains(err.Error(), "not CMS") {
		t.Errorf("an unsigned profile: %v", err)
	}
}

func TestSignProduct(t *testing.T) {
	c := ca(t)
	dir := t.TempDir()
	in, out := filepath.Join(dir, "unsigned.pkg"), filepath.Join(dir, "signed.pkg")
	mtime := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	files := []xar.File{
		{Name: "Distribution", Mode: 0o644, MTime: mtime, Data: []byte("<installer-gui-script/>"), Compress: true},
		{Name: "gatehouse.pkg/Payload", Mode: 0o644, MTime: mtime, Data: bytes.Repeat([]byte("payload "), 5000)},
	}
	var buf bytes.Buffer
	if err := xar.Write(&buf, files); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyProduct(in, nil); err == nil || !strings.Contains(err.Error(), "no signatures") {
		t.Errorf("unsigned: %v", err)
	}
	srv := c.TSAServer()
	defer srv.Close()
	id := *c.Installer
	id.Timestamper = Timestamper{URL: srv.URL}
	if err := SignProduct(context.Background(), in, out, &id); err != nil {
		t.Fatal(err)
	}
	s, err := VerifyProduct(out, c.Roots())
	if err != nil {
		t.Fatal(err)
	}
	if !s.Chained || !s.Timestamped || s.TeamID != team || !strings.HasPrefix(s.Signer.Subject.CommonName, "Developer ID Installer") {
		t.Errorf("signed: %+v", s)
	}
	// The project's reader reads the signed archive's files back.
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	a, err := xar.Read(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("our reader on the signed package: %v", err)
	}
	for _, f := range files {
		got, err := a.ReadFile(f.Name)
		if err != nil || !bytes.Equal(got, f.Data) {
			t.Errorf("%s after signing: %v", f.Name, err)
		}
	}
	if _, err := exec.LookPath("bsdtar"); err == nil {
		if o, err := exec.Command("bsdtar", "-tf", out).CombinedOutput(); err != nil || !strings.Contains(string(o), "gatehouse.pkg/Payload") {
			t.Errorf("bsdtar -tf on the signed package: %v\n%s", err, o)
		}
	} else if os.Getenv("CI") != "" {
		t.Error("bsdtar is not installed (scripts/setup installs libarchive-tools)")
	}
	// A changed byte in a file's data fails its checksum.
	i := bytes.LastIndex(b, []byte("payload"))
	b[i] = 'P'
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := VerifyProduct(out, c.Roots()); err == nil {
		t.Error("a changed package verified")
	}
	// An application identity does not chain as an installer one would,
	// but the signature itself is still checked: it is the Installer
	// kind that check() refuses at load time.
	if _, err := VerifyProduct(in, x509.NewCertPool()); err == nil {
		t.Error("unsigned verified")
	}
}
