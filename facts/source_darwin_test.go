package facts

import (
	"errors"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestSourceWhereFroms(t *testing.T) {
	const url = "https://dl.example.com/Foo.dmg"
	path := filepath.Join(t.TempDir(), "tool")
	writeFile(t, path, "#!/bin/sh\n", 0o755)
	err := unix.Setxattr(path, whereFromsAttr, whereFroms(url, "https://example.com/"), 0)
	if errors.Is(err, unix.ENOTSUP) {
		t.Skipf("the file system of %s does not support extended attributes (setxattr: %v)", filepath.Dir(path), err)
	}
	if err != nil {
		t.Fatal(err)
	}
	s, err := Program(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.Source != url {
		t.Errorf("Source = %q, want %q", s.Source, url)
	}
}
