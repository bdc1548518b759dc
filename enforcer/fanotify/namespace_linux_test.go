package fanotify

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/gatehouse/gatehouse/internal/scratch"

	"golang.org/x/sys/unix"
)

// The ways around a per-mount mark (issue 13 item 1): the same filesystem
// reached through another mount — a bind mount, the copy of the mount in a
// new mount namespace, the copy in an unprivileged user's own user and
// mount namespace. A filesystem mark holds them all.

// nobody is the uid the unprivileged cases run as; numeric, so no user
// database is needed.
const nobody = 65534

// publicTmpfs mounts a scratch tmpfs on a directory every user can reach
// (t.TempDir's parent is 0700), for programs run as another uid.
func publicTmpfs(t *testing.T) string {
	t.Helper()
	scratch.NeedRoot(t, "mounts a scratch tmpfs and marks it with fanotify permission events")
	dir, err := os.MkdirTemp("", "gatehouse-fanotify-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if dir, err = filepath.EvalSymlinks(dir); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	mnt := filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	scratch.Mount(t, mnt)
	return mnt
}

// publicHelper copies this test binary where every user may run it (the
// build directory is 0700), next to the scratch mount but not on it: the
// helper's own exec must not be held.
func publicHelper(t *testing.T, mnt string) string {
	t.Helper()
	p := filepath.Join(filepath.Dir(mnt), "helper")
	scratch.CopyFile(t, os.Args[0], p, 0o755)
	return p
}

// inNamespaces returns a helper command that execs path from a new mount
// namespace (unshare -m) or, with uid set, as that uid from its own user
// and mount namespace (setpriv … unshare -Urm), as an unprivileged user
// would.
func inNamespaces(t *testing.T, helperBin, path string, uid int) *exec.Cmd {
	t.Helper()
	var argv []string
	if uid != 0 {
		argv = append(argv, "setpriv", "--reuid", strconv.Itoa(uid), "--regid", strconv.Itoa(uid), "--clear-groups", "unshare", "-Urm")
	} else {
		argv = append(argv, "unshare", "-m", "--propagation", "private")
	}
	for _, tool := range argv[:1] {
		_, err := exec.LookPath(tool)
		scratch.Need(t, err == nil, tool+" (util-linux)")
	}
	argv = append(argv, helperBin, filepath.Base(path))
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), execHelperEnv+"="+path)
	cmd.Dir = "/"
	return cmd
}

// userNamespacesAllowed reports whether an unprivileged user may create a
// user namespace here, by trying it.
func userNamespacesAllowed(t *testing.T) bool {
	t.Helper()
	out, err := exec.Command("setpriv", "--reuid", strconv.Itoa(nobody), "--regid", strconv.Itoa(nobody), "--clear-groups",
		"unshare", "-Urm", "true").CombinedOutput()
	if err != nil {
		t.Logf("unprivileged user namespaces are not allowed here: %v %s", err, out)
		return false
	}
	return true
}

// TestMarkHoldsEveryMountOfTheFilesystem marks a scratch tmpfs and runs a
// denied program on it through each other way of reaching the same
// filesystem: each exec is held and denied (EPERM, which is fanotify's
// answer; file permissions would give EACCES), and counted.
func TestMarkHoldsEveryMountOfTheFilesystem(t *testing.T) {
	mnt := publicTmpfs(t)
	bin := publicHelper(t, mnt)
	denied := filepath.Join(mnt, "denied")
	scratch.CopyFile(t, "/bin/true", denied, 0o755)
	var st unix.Stat_t
	if err := unix.Stat(denied, &st); err != nil {
		t.Fatal(err)
	}

	// Another view of the same filesystem in this namespace.
	bind := filepath.Join(filepath.Dir(mnt), "bind")
	if err := os.Mkdir(bind, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount(mnt, bind, "", unix.MS_BIND, ""); err != nil {
		t.Fatalf("bind mount: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(bind, unix.MNT_DETACH) })

	var held atomic.Int32
	l, _ := listen(t, []string{mnt}, func(ev *Event) {
		var fst unix.Stat_t
		isDenied := unix.Fstat(int(ev.File.Fd()), &fst) == nil && fst.Dev == st.Dev && fst.Ino == st.Ino
		if isDenied {
			held.Add(1)
		}
		ev.Respond(!isDenied)
	})

	cases := []struct {
		name       string
		cmd        func() *exec.Cmd
		needUserNS func() bool // nil: nothing beyond root
	}{
		{"marked mount", func() *exec.Cmd { return helper(denied, "denied") }, nil},
		{"bind mount", func() *exec.Cmd { return helper(filepath.Join(bind, "denied"), "denied") }, nil},
		{"another mount namespace", func() *exec.Cmd { return inNamespaces(t, bin, denied, 0) }, nil},
		{"an unprivileged user's own user and mount namespace", func() *exec.Cmd { return inNamespaces(t, bin, denied, nobody) },
			func() bool { return userNamespacesAllowed(t) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.needUserNS != nil {
				scratch.Need(t, tc.needUserNS(), "unprivileged user namespaces")
			}
			before := held.Load()
			if errno := execErrno(t, tc.cmd()); errno != syscall.EPERM {
				t.Errorf("exec of a denied program: errno %d (%v), want EPERM: the exec was not held", errno, errno)
			}
			if held.Load() != before+1 {
				t.Errorf("the listener held the exec %d times, want 1", held.Load()-before)
			}
		})
	}
	if m := l.Marks(); !slices.Equal(m, []string{mnt}) {
		t.Errorf("Marks() = %q, want [%q]", m, mnt)
	}
}
