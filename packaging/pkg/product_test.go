package pkg

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/packaging/bom"
	"github.com/gatehouse/gatehouse/packaging/xar"
)

// The product archive read back: by our xar reader (its parts, the
// payload's files the same as the Bom's, the bundles' versions set), by
// bsdtar and 7z, and the payload by GNU cpio; the same input gives the
// same bytes.
func TestProductArchive(t *testing.T) {
	bins := t.TempDir()
	for _, b := range []string{"gatehoused", "gatehouse", "gatehouse-agent"} {
		os.WriteFile(filepath.Join(bins, b), []byte("\xcf\xfa\xed\xfe "+b), 0o755)
	}
	p := Product{Version: "1.2.0", Daemon: filepath.Join(bins, "gatehoused"), CLI: filepath.Join(bins, "gatehouse"),
		Agent: filepath.Join(bins, "gatehouse-agent"), Root: filepath.Join("..", ".."), MTime: time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)}
	var out bytes.Buffer
	if err := Build(p, &out); err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := Build(p, &again); err != nil || !bytes.Equal(out.Bytes(), again.Bytes()) {
		t.Errorf("two builds of the same input differ (%v)", err)
	}
	a, err := xar.Read(bytes.NewReader(out.Bytes()), int64(out.Len()))
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		t.Helper()
		b, err := a.ReadFile(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return b
	}
	if d := read("Distribution"); !bytes.Contains(d, []byte("#gatehouse.pkg</pkg-ref>")) {
		t.Errorf("Distribution:\n%s", d)
	}
	if pi := read("gatehouse.pkg/PackageInfo"); !bytes.Contains(pi, []byte(`identifier="com.gatehouse.pkg.gatehouse"`)) {
		t.Errorf("PackageInfo:\n%s", pi)
	}
	zr, err := gzip.NewReader(bytes.NewReader(read("gatehouse.pkg/Payload")))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(zr)
	files := readCpio(t, raw)
	var payload []string
	for p := range files {
		payload = append(payload, p)
	}
	bb := read("gatehouse.pkg/Bom")
	be, err := bom.Read(bytes.NewReader(bb), int64(len(bb)))
	if err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, e := range be {
		listed = append(listed, e.Path)
	}
	slices.Sort(payload)
	slices.Sort(listed)
	if !slices.Equal(payload, listed) {
		t.Errorf("payload %q\nBom %q", payload, listed)
	}
	for _, want := range []string{"./Library/Gatehouse/Gatehoused.app/Contents/MacOS/gatehoused", "./Applications/Gatehouse.app/Contents/MacOS/gatehouse-agent",
		"./Library/LaunchDaemons/com.gatehouse.gatehoused.plist", "./Library/LaunchDaemons/com.gatehouse.sync.plist", "./Library/Gatehouse/bin/gatehouse", "./Library/Gatehouse/uninstall.sh"} {
		if !slices.Contains(payload, want) {
			t.Errorf("the payload lacks %s", want)
		}
	}
	if info := files["./Applications/Gatehouse.app/Contents/Info.plist"]; info == nil || !bytes.Contains(info.Body, []byte("<string>1.2.0</string>")) {
		t.Errorf("the agent's Info.plist does not carry the version: %+v", info)
	}

	pkgFile := filepath.Join(t.TempDir(), "Gatehouse.pkg")
	os.WriteFile(pkgFile, out.Bytes(), 0o644)
	for _, tool := range [][]string{{"bsdtar", "-tf", pkgFile}, {"7z", "t", pkgFile}} {
		if !haveTool(t, tool[0]) {
			continue
		}
		o, err := exec.Command(tool[0], tool[1:]...).CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", tool[0], err, o)
		}
		if tool[0] == "bsdtar" && !strings.Contains(string(o), "gatehouse.pkg/Payload") {
			t.Errorf("bsdtar lists:\n%s", o)
		}
	}
	if haveTool(t, "cpio") {
		c := exec.Command("cpio", "-it")
		c.Stdin = bytes.NewReader(raw)
		o, err := c.CombinedOutput()
		if err != nil || !strings.Contains(string(o), "./Library/Gatehouse/Gatehoused.app/Contents/MacOS/gatehoused") {
			t.Errorf("cpio -it: %v\n%s", err, o)
		}
	}
}
