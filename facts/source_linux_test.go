package facts

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// setxattr sets a user attribute on path, skipping the test only when the
// file system does not support user attributes (tmpfs before Linux 6.6).
func setxattr(t *testing.T, path, attr, value string) {
	t.Helper()
	err := unix.Setxattr(path, attr, []byte(value), 0)
	if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EOPNOTSUPP) {
		t.Skipf("the file system of %s does not support user extended attributes (setxattr: %v)", filepath.Dir(path), err)
	}
	if err != nil {
		t.Fatalf("setxattr %s %s: %v", path, attr, err)
	}
}

func TestSourceOriginURL(t *testing.T) {
	dir := t.TempDir()
	const url = "https://downloads.example.com/tool_1.2_amd64.deb"
	path := filepath.Join(dir, "tool")
	writeFile(t, path, "#!/bin/sh\n", 0o755)
	setxattr(t, path, originAttr, url)
	s, err := Program(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Source != url {
		t.Errorf("Source = %q, want %q", s.Source, url)
	}

	// A terminating NUL, as some writers store it, is not part of the URL.
	setxattr(t, path, originAttr, url+"\x00")
	if s, err = Program(path); err != nil || s.Source != url {
		t.Errorf("with NUL: Source = %q, %v; want %q", s.Source, err, url)
	}

	// Longer than the first read buffer (ext4 keeps values up to a block).
	long := "https://example.com/?q=" + strings.Repeat("x", 3*firstXattrRead)
	setxattr(t, path, originAttr, long)
	if s, err = Program(path); err != nil || s.Source != long {
		t.Errorf("long URL: Source has %d bytes, %v; want %d", len(s.Source), err, len(long))
	}

	// No attribute: no source, no error.
	plain := filepath.Join(dir, "plain")
	writeFile(t, plain, "#!/bin/sh\n", 0o755)
	if s, err = Program(plain); err != nil || s.Source != "" {
		t.Errorf("no attribute: Source = %q, %v", s.Source, err)
	}
}

func TestSourceBundle(t *testing.T) {
	dir := t.TempDir()
	const url = "https://example.com/Foo.zip"
	app := makeBundle(t, dir, "Foo.app", infoPlist, "Foo")
	setxattr(t, filepath.Join(app, "Contents", "MacOS", "Foo"), originAttr, url)
	s, err := Program(app)
	if err != nil || s.Source != url {
		t.Fatalf("executable attribute: Source = %q, %v; want %q", s.Source, err, url)
	}
	const dirURL = "https://example.com/other.zip"
	setxattr(t, app, originAttr, dirURL)
	if s, err = Program(app); err != nil || s.Source != dirURL {
		t.Fatalf("directory attribute: Source = %q, %v; want %q", s.Source, err, dirURL)
	}
}

func TestFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pipe")
	if err := unix.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	// Opening a FIFO for reading blocks until a writer comes; open it
	// non-blocking as the enforcer's descriptor would be.
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), path)
	defer f.Close()
	if _, err := File(f, path); err == nil || !strings.Contains(err.Error(), "named pipe") {
		t.Fatalf("File(fifo) error = %v, want a named-pipe error", err)
	}
}
