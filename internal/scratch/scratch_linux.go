package scratch

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Tmpfs mounts a 64 MiB tmpfs on a new temporary directory and returns its
// path (symlinks resolved, as the kernel reports paths). See Mount.
func Tmpfs(t testing.TB) string {
	t.Helper()
	NeedRoot(t, "mounts a scratch tmpfs and marks it with fanotify permission events")
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	Mount(t, dir)
	return dir
}

// Mount mounts a 64 MiB tmpfs (mode 0755) on the existing directory dir,
// unmounts it when the test ends, and fails the test unless dir is now the
// root of a tmpfs of its own — so that a caller never marks anything else.
// Outside root the test is skipped with the reason.
func Mount(t testing.TB, dir string) {
	t.Helper()
	NeedRoot(t, "mounts a scratch tmpfs and marks it with fanotify permission events")
	MountSize(t, dir, "64m")
}

// MountSize is Mount with another size (as tmpfs takes it: 512k, 4m), for
// a test that fills the file system.
func MountSize(t testing.TB, dir, size string) {
	t.Helper()
	NeedRoot(t, "mounts a scratch tmpfs")
	if err := unix.Mount("gatehouse-test", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "size="+size+",mode=0755"); err != nil {
		t.Fatalf("mount scratch tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	if err := check(dir); err != nil {
		t.Fatal(err)
	}
}

// check makes sure dir is the root of a tmpfs: the filesystem type is
// tmpfs and dir lies on another device than its parent.
func check(dir string) error {
	var fs unix.Statfs_t
	if err := unix.Statfs(dir, &fs); err != nil {
		return err
	}
	var here, parent unix.Stat_t
	if err := unix.Stat(dir, &here); err != nil {
		return err
	}
	if err := unix.Stat(filepath.Dir(dir), &parent); err != nil {
		return err
	}
	if fs.Type != unix.TMPFS_MAGIC || here.Dev == parent.Dev {
		return fmt.Errorf("refusing to use %s: it is not the root of the scratch tmpfs just mounted", dir)
	}
	return nil
}

// CopyFile copies src to dst with mode.
func CopyFile(t testing.TB, src, dst string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		t.Fatal(err)
	}
}

// Cgroup creates a cgroup v2 directory of its own for the test, named
// after prefix, and removes it at the end (after the processes moved into
// it have left).
func Cgroup(t testing.TB, prefix string) string {
	t.Helper()
	root := cgroup2Root()
	Need(t, root != "", "a cgroup v2 hierarchy mounted")
	cg, err := os.MkdirTemp(root, prefix)
	if err != nil {
		t.Fatalf("create a test cgroup: %v", err)
	}
	t.Cleanup(func() {
		for range 50 { // the last processes may still be leaving
			if err := os.Remove(cg); err == nil || errors.Is(err, os.ErrNotExist) {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Errorf("remove test cgroup %s", cg)
	})
	return cg
}

// cgroup2Root is where a cgroup v2 hierarchy is mounted ("" if none): a
// line of /proc/self/mountinfo whose file system type, after " - ", is
// cgroup2 (the mount point is its fifth field).
func cgroup2Root() string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return ""
	}
	for _, line := range strings.Split(string(data), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		fields := strings.Fields(pre)
		if ok && strings.HasPrefix(post, "cgroup2 ") && len(fields) >= 5 {
			return fields[4]
		}
	}
	return ""
}
