package facts

import (
	"os"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// asNobody runs f on this goroutine's thread with the file-system uid of
// nobody, so that root (CI) is refused like any user: setfsuid is per
// thread, and a non-zero fsuid drops root's file-permission override.
func asNobody(t *testing.T, f func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		f()
		return
	}
	runtime.LockOSThread()
	unix.Setfsuid(65534)
	if prev, _ := unix.SetfsuidRetUid(65534); prev != 65534 {
		t.Fatalf("setfsuid(65534) did not take (fsuid %d)", prev)
	}
	f()
	unix.Setfsuid(0)
	if prev, _ := unix.SetfsuidRetUid(0); prev != 0 {
		// The thread is left locked, so it ends with this goroutine.
		t.Fatalf("could not restore fsuid 0 (fsuid %d)", prev)
	}
	runtime.UnlockOSThread()
}
