package pkg

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/packaging/bom"
	"github.com/gatehouse/gatehouse/packaging/codesign"
	"github.com/gatehouse/gatehouse/packaging/codesign/codesigntest"
	"github.com/gatehouse/gatehouse/packaging/xar"
)

// A signed package: every program signed inside out by the test CA's
// Developer ID Application identity, the product by its Installer one,
// read back by pkg.Verify (relic's verifiers and our seal check), by our
// xar, Bom and cpio readers, by bsdtar, 7z and plistutil.
func TestSignedProductArchive(t *testing.T) {
	ca, err := codesigntest.New("GH7TEST123")
	if err != nil {
		t.Fatal(err)
	}
	bins := t.TempDir()
	for _, b := range []string{"gatehoused", "gatehouse", "gatehouse-agent"} {
		if err := codesigntest.MachO(filepath.Join(bins, b), "arm64"); err != nil {
			t.Fatal(err)
		}
	}
	es := map[string]any{"com.apple.developer.endpoint-security.client": true}
	profile, err := ca.Profile("Gatehouse ES", "com.gatehouse.gatehoused", es, time.Now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	p := Product{Version: "1.2.0", Daemon: filepath.Join(bins, "gatehoused"), CLI: filepath.Join(bins, "gatehouse"),
		Agent: filepath.Join(bins, "gatehouse-agent"), Root: filepath.Join("..", ".."), MTime: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC),
		Sign: &Signing{App: ca.App, Profile: profile}}
	dir := t.TempDir()
	unsigned, signed := filepath.Join(dir, "unsigned.pkg"), filepath.Join(dir, "Gatehouse.pkg")
	build := func(p Product, path string) error {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return Build(p, f)
	}
	if err := build(p, unsigned); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(unsigned, ca.Roots()); err == nil || !strings.Contains(err.Error(), "no signatures") {
		t.Errorf("verify before the product is signed: %v", err)
	}
	srv := ca.TSAServer()
	defer srv.Close()
	inst := *ca.Installer
	inst.Timestamper = codesign.Timestamper{URL: srv.URL}
	if err := codesign.SignProduct(context.Background(), unsigned, signed, &inst); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(signed, ca.Roots())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Product.Chained || !rep.Product.Timestamped || len(rep.Programs) != 3 {
		t.Errorf("report: product %+v, %d programs", rep.Product, len(rep.Programs))
	}
	for _, pr := range rep.Programs {
		if !pr.Chained || !pr.Runtime || pr.TeamID != "GH7TEST123" {
			t.Errorf("%s: %+v", pr.Path, pr.Signed)
		}
	}
	if d := rep.Programs[0]; d.Entitlements["com.apple.application-identifier"] != "GH7TEST123.com.gatehouse.gatehoused" {
		t.Errorf("gatehoused's entitlements: %v", d.Entitlements)
	}

	// The parts, read back by our readers: the seals and the profile are
	// in the payload and in the Bom.
	b, _ := os.ReadFile(signed)
	a, err := xar.Read(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	pl, err := a.ReadFile("gatehouse.pkg/Payload")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(pl))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(zr)
	files := readCpio(t, raw)
	bb, _ := a.ReadFile("gatehouse.pkg/Bom")
	be, err := bom.Read(bytes.NewReader(bb), int64(len(bb)))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, e := range be {
		listed = append(listed, e.Path)
	}
	seals := []string{"./Library/Gatehouse/Gatehoused.app/Contents/_CodeSignature/CodeResources", "./Applications/Gatehouse.app/Contents/_CodeSignature/CodeResources"}
	for _, want := range append(seals, "./Library/Gatehouse/Gatehoused.app/Contents/embedded.provisionprofile") {
		if files[want] == nil || !slices.Contains(listed, want) {
			t.Errorf("%s: in the payload %v, in the Bom %v", want, files[want] != nil, slices.Contains(listed, want))
		}
	}
	if f := files["./Library/Gatehouse/Gatehoused.app/Contents/embedded.provisionprofile"]; f != nil && !bytes.Equal(f.Body, profile) {
		t.Error("the embedded profile is not the one given")
	}
	for _, tool := range [][]string{{"bsdtar", "-tf", signed}, {"7z", "t", signed}} {
		if !haveTool(t, tool[0]) {
			continue
		}
		if o, err := exec.Command(tool[0], tool[1:]...).CombinedOutput(); err != nil {
			t.Errorf("%s on the signed package: %v\n%s", tool[0], err, o)
		}
	}
	if haveTool(t, "plistutil") {
		for _, s := range seals {
			in := filepath.Join(dir, "CodeResources")
			os.WriteFile(in, files[s].Body, 0o644)
			if o, err := exec.Command("plistutil", "-i", in, "-o", "-", "-f", "bin").CombinedOutput(); err != nil || !bytes.HasPrefix(o, []byte("bplist00")) {
				t.Errorf("plistutil on %s: %v\n%.200s", s, err, o)
			}
		}
	}

	// What Verify refuses.
	if err := codesign.SignProduct(context.Background(), unsigned, filepath.Join(dir, "app-signed.pkg"), ca.App); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(filepath.Join(dir, "app-signed.pkg"), ca.Roots()); err == nil || !strings.Contains(err.Error(), "not a Developer ID Installer") {
		t.Errorf("a package signed with the application identity: %v", err)
	}
	if rep, err := Verify(signed, nil); err != nil || rep.Product.Chained {
		t.Errorf("without roots: %v, chained %v", err, rep != nil && rep.Product.Chained)
	}
	other, err := codesigntest.New("OTHERTEAM1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(signed, other.Roots()); err == nil {
		t.Error("verified against another root")
	}
	// A profile without the Endpoint Security entitlement stops the build.
	noES, _ := ca.Profile("Gatehouse", "com.gatehouse.gatehoused", nil, time.Now().Add(time.Hour))
	p.Sign = &Signing{App: ca.App, Profile: noES}
	if err := build(p, filepath.Join(dir, "x.pkg")); err == nil || !strings.Contains(err.Error(), "does not grant com.apple.developer.endpoint-security.client") {
		t.Errorf("a profile without the entitlement: %v", err)
	}
}
