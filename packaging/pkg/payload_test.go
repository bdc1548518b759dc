package pkg

import (
	"bytes"
	"compress/gzip"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	cpio "github.com/korylprince/go-cpio-odc"
)

// stage makes a small staging tree: an app bundle's directories, an
// executable, a plain file and a symbolic link.
func stage(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	bin := filepath.Join(root, "Applications", "Gatehouse.app", "Contents", "MacOS")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(bin, "gatehouse-agent"), []byte("\xcf\xfa\xed\xfe binary"), 0o755)
	os.WriteFile(filepath.Join(root, "Applications", "Gatehouse.app", "Contents", "Info.plist"), []byte("<plist/>\n"), 0o644)
	os.Symlink("Contents/MacOS/gatehouse-agent", filepath.Join(root, "Applications", "Gatehouse.app", "agent"))
	return root
}

// The payload as Apple's tools and GNU cpio and bsdtar read it: every
// file, with its mode, owner root:wheel, the fixed time, and its bytes.
func TestPayloadIsOdcCpio(t *testing.T) {
	root := stage(t)
	entries, err := Walk(root)
	if err != nil {
		t.Fatal(err)
	}
	if entries[0].Path != "." || entries[1].Path != "./Applications" {
		t.Fatalf("entries start %q %q, want . and ./Applications", entries[0].Path, entries[1].Path)
	}
	mtime := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	if _, err := WriteArchive(&buf, entries, Owner{0, 0}, mtime); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte("070707")) {
		t.Fatalf("the archive starts %q, want odc's magic 070707", raw[:6])
	}

	// The library's reader.
	got := readCpio(t, raw)
	exe := got["./Applications/Gatehouse.app/Contents/MacOS/gatehouse-agent"]
	if exe == nil || exe.FileMode.Perm() != 0o755 || string(exe.Body) != "\xcf\xfa\xed\xfe binary" || exe.UID != 0 || !exe.ModifiedTime.Equal(mtime) {
		t.Errorf("the executable read back as %+v", exe)
	}
	if l := got["./Applications/Gatehouse.app/agent"]; l == nil || l.FileMode&fs.ModeSymlink == 0 || string(l.Body) != "Contents/MacOS/gatehouse-agent" {
		t.Errorf("the link read back as %+v", l)
	}
	if len(got) != len(entries) {
		t.Errorf("%d files read back, %d written", len(got), len(entries))
	}

	// Independent readers.
	for _, tool := range [][]string{{"cpio", "-itv"}, {"bsdtar", "-tvf", "-"}} {
		if !haveTool(t, tool[0]) {
			continue
		}
		in := raw
		if tool[0] == "bsdtar" {
			in = buf.Bytes() // it undoes the gzip itself
		}
		c := exec.Command(tool[0], tool[1:]...)
		c.Stdin = bytes.NewReader(in)
		out, err := c.CombinedOutput()
		if err != nil {
			t.Errorf("%s: %v\n%s", tool[0], err, out)
			continue
		}
		for _, want := range []string{"./Applications/Gatehouse.app/Contents/Info.plist", "-rwxr-xr-x", "agent -> Contents/MacOS/gatehouse-agent"} {
			if !strings.Contains(string(out), want) {
				t.Errorf("%s's listing lacks %q:\n%s", tool[0], want, out)
			}
		}
	}
	if kb := InstallKBytes(entries); kb != 2 {
		t.Errorf("install-kbytes %d, want 2 (two small files)", kb)
	}
}

// readCpio reads an (uncompressed) odc archive with the library's reader,
// by path.
func readCpio(t *testing.T, raw []byte) map[string]*cpio.File {
	t.Helper()
	r := cpio.NewReader(bytes.NewReader(raw))
	got := map[string]*cpio.File{}
	for {
		f, err := r.Next()
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatal(err)
		}
		got[f.Path] = f
	}
}

// haveTool says whether the independent reader name is installed: under
// CI a missing one fails the test (scripts/setup installs them all).
func haveTool(t *testing.T, name string) bool {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed: CI must run this check (scripts/setup installs it)", name)
		}
		t.Logf("not checked with %s: not installed (scripts/setup installs it)", name)
		return false
	}
	return true
}

// Only directories, files and links go in; names and sizes must fit.
func TestPayloadRefuses(t *testing.T) {
	root := stage(t)
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Walk(root); err == nil || !strings.Contains(err.Error(), "only directories") {
		t.Errorf("a FIFO: %v", err)
	}
	if _, err := WriteArchive(io.Discard, []Entry{{Path: ".", Mode: fs.ModeDir | 0o755}}, Owner{1 << 20, 0}, time.Now()); err == nil {
		t.Error("an owner the header cannot hold was written")
	}
	if _, err := WriteArchive(io.Discard, []Entry{{Path: "./big", Mode: 0o644, Size: 1 << 34}}, Owner{}, time.Now()); err == nil {
		t.Error("a file over 8 GiB was written")
	}
}
