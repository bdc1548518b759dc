//go:build unix

package bom

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// makeTree creates entries (in Bom order, with contents) under a new
// directory and returns it, modes and mtimes set as listed.
func makeTree(t *testing.T, entries []Entry, content map[string]string) string {
	t.Helper()
	root := t.TempDir()
	on := func(p string) string { return filepath.Join(root, filepath.FromSlash(p)) }
	for _, e := range entries {
		var err error
		switch e.Mode & modeType {
		case modeDir:
			if e.Path != "." {
				err = os.Mkdir(on(e.Path), 0o700)
			}
		case modeRegular:
			err = os.WriteFile(on(e.Path), []byte(content[e.Path]), 0o600)
		case modeSymlink:
			err = os.Symlink(e.LinkTarget, on(e.Path))
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	// Children before their directories: creating a name changes its
	// directory's mtime.
	for _, e := range slices.Backward(entries) {
		p := on(e.Path)
		if e.Mode&modeType != modeSymlink {
			if err := os.Chmod(p, os.FileMode(e.Mode&0o777)|goModeBits(e.Mode)); err != nil {
				t.Fatal(err)
			}
		} else {
			// Linux keeps symlinks at 0777 and refuses to change them;
			// macOS takes the umask and lets lchmod set them.
			_ = unix.Fchmodat(unix.AT_FDCWD, p, e.Mode&0o7777, unix.AT_SYMLINK_NOFOLLOW)
		}
		ts := []unix.Timespec{unix.NsecToTimespec(e.MTime.UnixNano()), unix.NsecToTimespec(e.MTime.UnixNano())}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func goModeBits(m uint32) os.FileMode {
	var fm os.FileMode
	if m&0o4000 != 0 {
		fm |= os.ModeSetuid
	}
	if m&0o2000 != 0 {
		fm |= os.ModeSetgid
	}
	if m&0o1000 != 0 {
		fm |= os.ModeSticky
	}
	return fm
}

func TestEntriesFromDirMatchesMkbom(t *testing.T) {
	root := makeTree(t, smallTree, smallContent)
	got, err := EntriesFromDir(root, 0, 80)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(smallTree)
	identical := true
	if fi, err := os.Lstat(filepath.Join(root, "bin", "gh")); err == nil && fi.Mode().Perm() != 0o777 {
		// A system that kept the umask on the symlink: the Bom says so.
		want[4].Mode = modeSymlink | uint32(fi.Mode().Perm())
		identical = false
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("EntriesFromDir (-want +got):\n%s", diff)
	}
	if identical {
		if b := mustWrite(t, got); !bytes.Equal(b, readTestdata(t, "mkbom-small.bom")) {
			t.Errorf("Write(EntriesFromDir) differs from mkbom's Bom of the same tree at byte %d", firstDiff(b, readTestdata(t, "mkbom-small.bom")))
		}
	}
}

func TestEntriesFromDirListsDotfilesAndSpecialBits(t *testing.T) {
	tree := []Entry{
		{Path: ".", Mode: 0o41755, MTime: secs(3)},
		{Path: "./.hidden", Mode: 0o100644, MTime: secs(1), Size: 1, Checksum: cksumString("x")},
		{Path: "./tool", Mode: 0o104755, MTime: secs(2), Size: 0, Checksum: cksumString("")},
	}
	root := makeTree(t, tree, map[string]string{"./.hidden": "x"})
	got, err := EntriesFromDir(root, 7, 9)
	if err != nil {
		t.Fatal(err)
	}
	for i := range tree {
		tree[i].UID, tree[i].GID = 7, 9
	}
	if diff := cmp.Diff(tree, got); diff != "" {
		t.Errorf("EntriesFromDir (-want +got):\n%s", diff)
	}
}

func TestEntriesFromDirRefusesOtherFileTypes(t *testing.T) {
	root := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(root, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := EntriesFromDir(root, 0, 0)
	if !errors.Is(err, ErrInvalidEntry) || !strings.Contains(err.Error(), `"./fifo"`) {
		t.Errorf("EntriesFromDir = %v, want the fifo refused", err)
	}
}

func TestEntriesFromDirRefusesNamesWriteWouldRefuse(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "bad\xffname"), nil, 0o644); err != nil {
		t.Skipf("this file system does not take non-UTF-8 names: %v", err)
	}
	_, err := EntriesFromDir(root, 0, 0)
	if !errors.Is(err, ErrInvalidEntry) || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("EntriesFromDir = %v, want the name refused", err)
	}
}

func TestEntriesFromDirRefusesAFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := EntriesFromDir(p, 0, 0); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("EntriesFromDir = %v, want not a directory", err)
	}
}
