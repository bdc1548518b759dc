package enforcer

import (
	"os"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// fdPath is the path the kernel has for an open file (fcntl F_GETPATH).
func fdPath(f *os.File) (string, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return "", err
	}
	buf := make([]byte, unix.PathMax)
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		_, ferr = unix.FcntlInt(fd, unix.F_GETPATH, int(uintptr(unsafe.Pointer(&buf[0]))))
	}); err != nil {
		return "", err
	}
	runtime.KeepAlive(buf)
	if ferr != nil {
		return "", ferr
	}
	n := 0
	for n < len(buf) && buf[n] != 0 {
		n++
	}
	return string(buf[:n]), nil
}
