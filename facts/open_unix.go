//go:build linux || darwin

package facts

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// readFlags open a file for reading without waiting for a writer (a named
// pipe) or a carrier (a device), and without making a terminal the
// caller's controlling one.
const readFlags = os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY

// sameFileAt reports whether name below the directory dir is the open file
// f (same device and inode). It only stats name; nothing is opened.
func sameFileAt(dir *os.File, name string, f *os.File) (bool, error) {
	rc, err := dir.SyscallConn()
	if err != nil {
		return false, err
	}
	var st unix.Stat_t
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Fstatat(int(fd), name, &st, 0) }); err != nil {
		return false, err
	}
	if serr != nil {
		return false, serr
	}
	fi, err := f.Stat()
	if err != nil {
		return false, err
	}
	sys, ok := fi.Sys().(*syscall.Stat_t)
	return ok && uint64(sys.Dev) == uint64(st.Dev) && uint64(sys.Ino) == uint64(st.Ino), nil
}
