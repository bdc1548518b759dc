package xar_test

// Cross-checks against independent implementations of xar: libarchive's
// bsdtar (reads and writes xar) and 7-Zip (reads it). scripts/setup
// installs both (libarchive-tools, p7zip-full).

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/packaging/xar"
)

// requireTool returns the path of a command line tool, or skips the test
// without it; under CI=true a missing tool fails instead, so that CI never
// passes without the cross-check.
func requireTool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed: CI must run this cross-check (scripts/setup installs %s)", name, pkg)
	}
	t.Skipf("%s is not installed, so this cross-check is skipped: install %s (scripts/setup does)", name, pkg)
	return ""
}

func run(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out
}

func writeArchiveFile(t *testing.T, files []xar.File) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sample.xar")
	if err := os.WriteFile(path, writeArchive(t, files), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// listing is what a test expects a tool to list of an entry.
type listing struct {
	Mode string
	Size int64
}

// expectedListing is every entry of files, implied directories included,
// as ls -l would show its mode.
func expectedListing(t *testing.T, files []xar.File) map[string]listing {
	t.Helper()
	a := readArchive(t, writeArchive(t, files))
	want := map[string]listing{}
	for _, e := range a.Entries() {
		want[e.Name] = listing{e.Mode.String(), e.Size}
	}
	return want
}

func TestBsdtarListsAndExtractsOurArchive(t *testing.T) {
	bsdtar := requireTool(t, "bsdtar", "libarchive-tools")
	files := sampleFiles()
	archive := writeArchiveFile(t, files)

	// bsdtar -tv: mode, links, uid, gid, size, date (3 fields), name.
	got := map[string]listing{}
	sc := bufio.NewScanner(bytes.NewReader(run(t, bsdtar, "-tvf", archive)))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 9 {
			t.Fatalf("unexpected bsdtar -tv line %q", sc.Text())
		}
		size, err := strconv.ParseInt(f[4], 10, 64)
		if err != nil {
			t.Fatalf("bsdtar -tv line %q: %v", sc.Text(), err)
		}
		got[f[8]] = listing{f[0], size}
	}
	if diff := cmp.Diff(expectedListing(t, files), got); diff != "" {
		t.Errorf("bsdtar -tvf (-want +got):\n%s", diff)
	}

	for _, f := range files {
		if f.Mode.IsDir() {
			continue
		}
		if out := run(t, bsdtar, "-xOf", archive, f.Name); !bytes.Equal(out, f.Data) {
			t.Errorf("bsdtar -xOf %s gave %d bytes, want the %d written", f.Name, len(out), len(f.Data))
		}
	}

	// A full extraction verifies every checksum and restores the modes.
	dir := t.TempDir()
	run(t, bsdtar, "-xpf", archive, "-C", dir)
	for _, f := range files {
		st, err := os.Stat(filepath.Join(dir, filepath.FromSlash(f.Name)))
		if err != nil {
			t.Errorf("after bsdtar -x: %v", err)
			continue
		}
		if st.Mode() != f.Mode {
			t.Errorf("bsdtar -x made %s mode %v, want %v", f.Name, st.Mode(), f.Mode)
		}
		if !st.ModTime().Equal(f.MTime) {
			t.Errorf("bsdtar -x made %s time %v, want %v", f.Name, st.ModTime(), f.MTime)
		}
	}
}

func Test7zTestsAndListsOurArchive(t *testing.T) {
	sevenZip := requireTool(t, "7z", "p7zip-full")
	files := sampleFiles()
	archive := writeArchiveFile(t, files)

	if out := run(t, sevenZip, "t", archive); !bytes.Contains(out, []byte("Everything is Ok")) {
		t.Errorf("7z t did not say Everything is Ok:\n%s", out)
	}

	// 7z l -slt: after the "----------" line, one "Key = value" block per
	// entry.
	got := map[string]listing{}
	var path, mode string
	var size int64
	flush := func() {
		if path != "" {
			got[path] = listing{mode, size}
		}
		path, mode, size = "", "", 0
	}
	_, entries, ok := strings.Cut(string(run(t, sevenZip, "l", "-slt", archive)), "\n----------\n")
	if !ok {
		t.Fatal("7z l -slt printed no entry list")
	}
	for line := range strings.SplitSeq(entries, "\n") {
		k, v, _ := strings.Cut(line, " = ")
		switch k {
		case "":
			flush()
		case "Path":
			path = v
		case "Mode":
			mode = v
		case "Size":
			size, _ = strconv.ParseInt(v, 10, 64)
		}
	}
	flush()
	// 7-Zip also shows the TOC itself as a pseudo-file.
	if toc, n := got["[TOC].xml"], len(tocOf(t, writeArchive(t, files))); toc.Size != int64(n) {
		t.Errorf("7z lists [TOC].xml as %d bytes, want the TOC's %d", toc.Size, n)
	}
	delete(got, "[TOC].xml")
	if diff := cmp.Diff(expectedListing(t, files), got); diff != "" {
		t.Errorf("7z l -slt (-want +got):\n%s", diff)
	}

	// 7z x -so checks the file's checksum as it extracts.
	for _, f := range files {
		if f.Mode.IsDir() || len(f.Data) == 0 {
			continue
		}
		if out := run(t, sevenZip, "x", "-so", archive, f.Name); !bytes.Equal(out, f.Data) {
			t.Errorf("7z x -so %s gave %d bytes, want the %d written", f.Name, len(out), len(f.Data))
		}
	}
}

// TestToolsNoticeACorruptedFile makes sure the cross-checks above could
// fail: both tools refuse our archive once a payload byte is flipped.
func TestToolsNoticeACorruptedFile(t *testing.T) {
	bsdtar := requireTool(t, "bsdtar", "libarchive-tools")
	sevenZip := requireTool(t, "7z", "p7zip-full")
	b := writeArchive(t, sampleFiles())
	b[len(b)-100] ^= 1 // inside the stored Payload
	path := filepath.Join(t.TempDir(), "bad.xar")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(bsdtar, "-xOf", path, "Gatehouse.pkg/Payload").Run(); err == nil {
		t.Error("bsdtar -xOf extracted a corrupted Payload without an error")
	}
	if err := exec.Command(sevenZip, "t", path).Run(); err == nil {
		t.Error("7z t passed an archive with a corrupted Payload")
	}
	if _, err := readArchive(t, b).ReadFile("Gatehouse.pkg/Payload"); !errors.Is(err, xar.ErrChecksum) {
		t.Errorf("ReadFile(corrupted Payload) = %v, want ErrChecksum", err)
	}
}

// treeFile is a file or directory that makeTree creates.
type treeFile struct {
	name string
	mode os.FileMode
	data []byte
}

func sampleTree() []treeFile {
	return []treeFile{
		{"pkg", os.ModeDir | 0o755, nil},
		{"pkg/Distribution", 0o644, []byte(strings.Repeat("<choice id=\"default\"/>\n", 30))},
		{"pkg/empty", 0o644, nil},
		{"pkg/sub", os.ModeDir | 0o700, nil},
		{"pkg/sub/run.sh", 0o755, []byte("#!/bin/sh\necho hi\n")},
		{"pkg/sub/deep", os.ModeDir | 0o755, nil},
		{"pkg/sub/deep/blob.bin", 0o600, randomBytes(50_000, 2)},
	}
}

// makeTree creates tree below a new directory, every entry with
// sampleTime as its time, and returns the directory.
func makeTree(t *testing.T, tree []treeFile) string {
	t.Helper()
	root := t.TempDir()
	for _, f := range tree {
		p := filepath.Join(root, filepath.FromSlash(f.name))
		var err error
		if f.mode.IsDir() {
			err = os.Mkdir(p, f.mode.Perm())
		} else {
			err = os.WriteFile(p, f.data, f.mode.Perm())
		}
		if err == nil {
			err = os.Chmod(p, f.mode.Perm()) // past the umask
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := len(tree) - 1; i >= 0; i-- { // children first: they touch their directory
		if err := os.Chtimes(filepath.Join(root, filepath.FromSlash(tree[i].name)), sampleTime, sampleTime); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// bsdtarArchive has bsdtar write tree as xar with extra options, and
// returns the archive's bytes.
func bsdtarArchive(t *testing.T, bsdtar string, tree []treeFile, options ...string) []byte {
	t.Helper()
	root := makeTree(t, tree)
	out := filepath.Join(t.TempDir(), "bsdtar.xar")
	args := append([]string{"--format", "xar"}, options...)
	run(t, bsdtar, append(args, "-cf", out, "-C", root, "pkg")...)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestReadsWhatBsdtarWrites(t *testing.T) {
	bsdtar := requireTool(t, "bsdtar", "libarchive-tools")
	tree := sampleTree()
	want := []entrySummary{}
	for _, f := range tree {
		want = append(want, entrySummary{f.name, f.mode, sampleTime, int64(len(f.data)), false})
	}
	for _, tc := range []struct {
		name       string
		options    []string
		compressed bool
	}{
		{"zlib (bsdtar's default)", nil, true},
		{"stored", []string{"--options", "xar:compression=none"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := readArchive(t, bsdtarArchive(t, bsdtar, tree, tc.options...))
			got := summarize(a.Entries())
			for i := range got {
				got[i].Compressed = false // checked below
			}
			// bsdtar orders siblings its own way; compare by name.
			if diff := cmp.Diff(byName(want), byName(got)); diff != "" {
				t.Errorf("entries (-want +got):\n%s", diff)
			}
			for _, f := range tree {
				if f.mode.IsDir() {
					continue
				}
				data, err := a.ReadFile(f.name)
				if err != nil {
					t.Errorf("ReadFile(%q): %v", f.name, err)
				} else if !bytes.Equal(data, f.data) {
					t.Errorf("ReadFile(%q) = %d bytes, want the %d on disk", f.name, len(data), len(f.data))
				}
				if e, _ := a.Lookup(f.name); len(f.data) > 0 && e.Compressed != tc.compressed {
					t.Errorf("%s: Compressed = %v, want %v", f.name, e.Compressed, tc.compressed)
				}
			}
		})
	}
}

func byName(es []entrySummary) map[string]entrySummary {
	m := map[string]entrySummary{}
	for _, e := range es {
		m[e.Name] = e
	}
	return m
}

func TestReadRefusesWhatItCannotVerifyOrDecodeFromBsdtar(t *testing.T) {
	bsdtar := requireTool(t, "bsdtar", "libarchive-tools")
	tree := sampleTree()
	for _, tc := range []struct {
		option string
		atRead bool // the error comes from Read, not from ReadFile
	}{
		{"xar:toc-checksum=none", true},
		{"xar:toc-checksum=md5", true},
		{"xar:checksum=none", true},
		{"xar:checksum=md5", true},
		{"xar:compression=bzip2", false},
		{"xar:compression=xz", false},
	} {
		t.Run(tc.option, func(t *testing.T) {
			b := bsdtarArchive(t, bsdtar, tree, "--options", tc.option)
			a, err := xar.Read(bytes.NewReader(b), int64(len(b)))
			if !tc.atRead {
				if err != nil {
					t.Fatalf("Read: %v", err)
				}
				_, err = a.ReadFile("pkg/sub/deep/blob.bin")
			}
			if !errors.Is(err, errors.ErrUnsupported) {
				t.Fatalf("got %v, want an errors.ErrUnsupported", err)
			}
			t.Logf("%s: %v", tc.option, err)
		})
	}
}

// TestBsdtarSeedIsCurrent refreshes testdata/bsdtar.xar, FuzzRead's seed
// from an independent writer, under -update; otherwise it checks that the
// kept seed still reads.
func TestBsdtarSeedIsCurrent(t *testing.T) {
	seed := filepath.Join("testdata", "bsdtar.xar")
	if *update {
		bsdtar := requireTool(t, "bsdtar", "libarchive-tools")
		small := []treeFile{
			{"pkg", os.ModeDir | 0o755, nil},
			{"pkg/a.txt", 0o644, []byte("hello, xar\n")},
			{"pkg/empty", 0o644, nil},
			{"pkg/sub", os.ModeDir | 0o755, nil},
			{"pkg/sub/b.bin", 0o600, randomBytes(64, 3)},
		}
		if err := os.WriteFile(seed, bsdtarArchive(t, bsdtar, small), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(seed)
	if err != nil {
		t.Fatalf("%v (run go test -run TestBsdtarSeedIsCurrent -update with bsdtar installed)", err)
	}
	a := readArchive(t, b)
	if data, err := a.ReadFile("pkg/a.txt"); err != nil || string(data) != "hello, xar\n" {
		t.Errorf("ReadFile(pkg/a.txt) = %q, %v", data, err)
	}
	if e, ok := a.Lookup("pkg/sub/b.bin"); !ok || e.Size != 64 || !e.MTime.Equal(sampleTime) {
		t.Errorf("Lookup(pkg/sub/b.bin) = %+v, %v", e, ok)
	}
}
