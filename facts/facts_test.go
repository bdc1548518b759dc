package facts

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/policy"
)

func sums(b []byte) (string, string) {
	s1, s256 := sha1.Sum(b), sha256.Sum256(b)
	return hex.EncodeToString(s1[:]), hex.EncodeToString(s256[:])
}

func writeFile(t *testing.T, path string, data string, perm fs.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), perm); err != nil {
		t.Fatal(err)
	}
}

func TestHash(t *testing.T) {
	// Sizes around the buffer size exercise partial and exact final reads.
	for _, size := range []int{0, 1, 1000, hashBufSize - 1, hashBufSize, hashBufSize + 1, 3*hashBufSize + 17} {
		data := bytes.Repeat([]byte("gatehouse\x00\xff"), size/11+1)[:size]
		path := filepath.Join(t.TempDir(), "f")
		writeFile(t, path, string(data), 0o644)
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		got1, got256, err := Hash(f, int64(size))
		f.Close()
		want1, want256 := sums(data)
		if err != nil || got1 != want1 || got256 != want256 {
			t.Errorf("size %d: Hash = %s, %s, %v; want %s, %s", size, got1, got256, err, want1, want256)
		}
	}
}

func TestHashKnown(t *testing.T) {
	// Published digests of "abc" and of nothing.
	for in, want := range map[string][2]string{
		"":    {"da39a3ee5e6b4b0d3255bfef95601890afd80709", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		"abc": {"a9993e364706816aba3e25717850c26c9cd0d89d", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	} {
		got1, got256, err := Hash(strings.NewReader(in), int64(len(in)))
		if err != nil || got1 != want[0] || got256 != want[1] {
			t.Errorf("Hash(%q) = %s, %s, %v; want %s, %s", in, got1, got256, err, want[0], want[1])
		}
	}
}

func TestHashShrunk(t *testing.T) {
	_, _, err := Hash(strings.NewReader("short"), 100)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("Hash past the end: err = %v, want io.ErrUnexpectedEOF", err)
	}
	if _, _, err := Hash(strings.NewReader(""), -1); err == nil {
		t.Fatal("Hash with negative size: no error")
	}
}

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

func TestProgramLs(t *testing.T) {
	s, err := Program("/bin/ls")
	if err != nil {
		t.Fatal(err)
	}
	if s.Type != policy.Binary {
		t.Errorf("Type = %v, want binary", s.Type)
	}
	if !filepath.IsAbs(s.Path) {
		t.Errorf("Path %q is not absolute", s.Path)
	}
	if real, err := filepath.EvalSymlinks(s.Path); err != nil || real != s.Path {
		t.Errorf("Path %q has symbolic links: resolves to %q (%v)", s.Path, real, err)
	}
	if !hex64.MatchString(s.SHA256) {
		t.Errorf("SHA256 = %q, want 64 lowercase hex digits", s.SHA256)
	}
	data, err := os.ReadFile("/bin/ls")
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%x", sha256.Sum256(data)); s.SHA256 != want {
		t.Errorf("SHA256 = %s, sha256sum says %s", s.SHA256, want)
	}
}

func TestScripts(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct{ text, interp string }{
		{"#!/bin/sh\necho hi\n", "/bin/sh"},
		{"#!/usr/bin/env python3\nprint('hi')\n", "python3"},
	} {
		path := filepath.Join(dir, "script")
		writeFile(t, path, tt.text, 0o755)
		s, err := Program(path)
		if err != nil {
			t.Fatal(err)
		}
		want1, want256 := sums([]byte(tt.text))
		want := policy.Subject{Type: policy.Script, Path: path, SHA1: want1, SHA256: want256, Signature: "none (not a Mach-O file)"}
		if !reflect.DeepEqual(s, want) {
			t.Errorf("Program(%q):\ngot  %+v\nwant %+v", tt.text, s, want)
		}
		if got := Interpreter([]byte(tt.text)); got != tt.interp {
			t.Errorf("Interpreter(%q) = %q, want %q", tt.text, got, tt.interp)
		}
	}
}

func TestProgramResolves(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "real", "run")
	writeFile(t, script, "#!/bin/sh\n", 0o755)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(filepath.Join("real", "run"), link); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	for _, p := range []string{link, "link", "./real/../link"} {
		s, err := Program(p)
		if err != nil {
			t.Fatal(err)
		}
		// t.TempDir may itself sit below a symbolic link (macOS /var).
		want, _ := filepath.EvalSymlinks(script)
		if s.Path != want || s.Type != policy.Script {
			t.Errorf("Program(%q) = %v %q, want script %q", p, s.Type, s.Path, want)
		}
	}
}

func TestUnknownTypeIsHashed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notes.txt")
	writeFile(t, path, "hello\n", 0o644)
	s, err := Program(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Type != policy.TypeUnknown || s.SHA256 == "" {
		t.Errorf("got %+v, want unknown type with hashes", s)
	}
}

func TestPackage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "foo_1.0_amd64.deb")
	writeFile(t, path, "!<arch>\ndebian-binary   1342943816  0     0     100644  4         `\n2.0\n", 0o644)
	s, err := Program(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Type != policy.Package {
		t.Errorf("Type = %v, want package", s.Type)
	}
}

// File must hash what the descriptor holds, not whatever the path names
// by the time it runs.
func TestFileReadsDescriptor(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "prog")
	const content = "#!/bin/sh\necho original\n"
	writeFile(t, path, content, 0o755)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, "\x7fELF replaced", 0o755)
	// A moved file offset must not matter either.
	if _, err := f.Seek(5, io.SeekStart); err != nil {
		t.Fatal(err)
	}

	s, err := File(f, path)
	if err != nil {
		t.Fatal(err)
	}
	want1, want256 := sums([]byte(content))
	if s.Type != policy.Script || s.SHA1 != want1 || s.SHA256 != want256 || s.Path != path {
		t.Errorf("File = %+v, want the original script %s %s", s, want1, want256)
	}
	// Without SHA-1 or the signature: the same facts, SHA1 and Signature
	// empty.
	s2, err := FileWant(f, path, Want{})
	if err != nil {
		t.Fatal(err)
	}
	s.SHA1, s.Signature = "", ""
	if diff := cmp.Diff(s, s2); diff != "" {
		t.Errorf("FileWant(none) (-want +got):\n%s", diff)
	}
}

const infoPlist = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>CFBundleExecutable</key>
	<string>Foo</string>
	<key>CFBundleIdentifier</key>
	<string>com.example.foo</string>
	<key>CFBundleShortVersionString</key>
	<string>2.4.1</string>
	<key>CFBundleVersion</key>
	<string>241</string>
</dict>
</plist>
`

const machO = "\xcf\xfa\xed\xfe\x0c\x00\x00\x01 fake Mach-O"

// makeBundle builds dir/name with the given Info.plist (none if "") and
// main executable Contents/MacOS/exe.
func makeBundle(t *testing.T, dir, name, info, exe string) string {
	t.Helper()
	b := filepath.Join(dir, name)
	if info != "" {
		writeFile(t, filepath.Join(b, "Contents", "Info.plist"), info, 0o644)
	}
	writeFile(t, filepath.Join(b, "Contents", "MacOS", exe), machO, 0o755)
	writeFile(t, filepath.Join(b, "Contents", "Resources", "en.lproj", "x.strings"), "x", 0o644)
	return b
}

func TestBundle(t *testing.T) {
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	want1, want256 := sums([]byte(machO))
	// The fake Mach-O's signature is read and found wanting.
	const badSig = "invalid, treated as unsigned: malformed Mach-O file: shorter than a Mach-O header"

	app := makeBundle(t, dir, "Foo.app", infoPlist, "Foo")
	s, err := Program(app)
	if err != nil {
		t.Fatal(err)
	}
	want := policy.Subject{Type: policy.Bundle, Path: app, SHA1: want1, SHA256: want256,
		BundleID: "com.example.foo", Version: "2.4.1", Signature: badSig}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Program(bundle):\ngot  %+v\nwant %+v", s, want)
	}

	// A program inside a bundle is a binary in its own right.
	exe := filepath.Join(app, "Contents", "MacOS", "Foo")
	s, err = Program(exe)
	if err != nil {
		t.Fatal(err)
	}
	if want := (policy.Subject{Type: policy.Binary, Path: exe, SHA1: want1, SHA256: want256, Signature: badSig}); !reflect.DeepEqual(s, want) {
		t.Errorf("Program(inside bundle):\ngot  %+v\nwant %+v", s, want)
	}

	// A preference pane, with a binary Info.plist without a short version
	// and without CFBundleExecutable (the name without extension is used).
	info := bplist(
		[]byte{0xD2, 1, 2, 3, 4}, // dict of 2: keys 1, 2; values 3, 4
		bpString("CFBundleIdentifier"), bpString("CFBundleVersion"),
		bpString("com.example.pane"), bpString("7"))
	pane := makeBundle(t, dir, "Pane.prefPane", string(info), "Pane")
	s, err = Program(pane + "/")
	if err != nil {
		t.Fatal(err)
	}
	want = policy.Subject{Type: policy.SystemPreference, Path: pane, SHA1: want1, SHA256: want256,
		BundleID: "com.example.pane", Version: "7", Signature: badSig}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Program(prefPane):\ngot  %+v\nwant %+v", s, want)
	}
}

func TestErrors(t *testing.T) {
	dir, _ := filepath.EvalSymlinks(t.TempDir())
	noInfo := makeBundle(t, dir, "NoInfo.app", "", "NoInfo")
	noExe := makeBundle(t, dir, "NoExe.app", infoPlist, "Other")
	badInfo := makeBundle(t, dir, "Bad.app", "<plist><dict><key>x</key>", "Bad")
	escape := makeBundle(t, dir, "Escape.app", strings.Replace(infoPlist, "<string>Foo<", "<string>../../../etc/passwd<", 1), "Foo")
	link := makeBundle(t, dir, "Link.app", infoPlist, "Real")
	if err := os.Symlink("/bin/ls", filepath.Join(link, "Contents", "MacOS", "Foo")); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain")
	if err := os.Mkdir(plain, 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		path string
		want []string
		is   error
	}{
		{"empty path", "", []string{"no program given"}, nil},
		{"not found", filepath.Join(dir, "missing"), []string{"missing not found", "check the path"}, fs.ErrNotExist},
		{"bare name not found", "no-such-command", []string{"no-such-command not found", "command -v no-such-command"}, fs.ErrNotExist},
		{"dangling link", filepath.Join(dir, "Link.app", "Contents", "MacOS", "Nope"), []string{"not found"}, fs.ErrNotExist},
		{"plain directory", plain, []string{"is a directory, not an app bundle"}, nil},
		{"bundle without Info.plist", noInfo, []string{"NoInfo.app", "Contents/Info.plist is missing", "reinstall"}, fs.ErrNotExist},
		{"bundle without executable", noExe, []string{"Contents/MacOS/Foo", "is missing", "reinstall"}, fs.ErrNotExist},
		{"malformed Info.plist", badInfo, []string{"Bad.app", "Contents/Info.plist", "plist"}, nil},
		{"executable name escapes", escape, []string{"not a file name"}, nil},
		{"executable links outside", link, []string{"Link.app", "Contents/MacOS/Foo", "inside the bundle"}, nil},
		{"device", os.DevNull, []string{"character device", "not a program file"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Program(tt.path)
			if err == nil {
				t.Fatalf("Program(%q) = %+v, want an error", tt.path, s)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
		})
	}
}

func TestPermissionDenied(t *testing.T) {
	path := filepath.Join(t.TempDir(), "secret")
	writeFile(t, path, "#!/bin/sh\n", 0o000)
	var err error
	asNobody(t, func() { _, err = Program(path) })
	if !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("err = %v, want permission denied", err)
	}
}

func BenchmarkHash(b *testing.B) {
	data := bytes.Repeat([]byte{0x5a}, 8<<20)
	r := bytes.NewReader(data)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Hash(r, int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}
