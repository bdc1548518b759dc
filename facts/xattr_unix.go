//go:build linux || darwin

package facts

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// firstXattrRead is the buffer of the first read; most URLs fit, longer
// values cost a second call for their size.
const firstXattrRead = 1 << 10

// fgetxattr returns the value of the extended attribute attr of the open
// file f, or nil if it is not set or the file system has no extended
// attributes.
func fgetxattr(f *os.File, attr string) ([]byte, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", attr, err)
	}
	get := func(buf []byte) (n int, err error) {
		cerr := rc.Control(func(fd uintptr) { n, err = unix.Fgetxattr(int(fd), attr, buf) })
		if cerr != nil {
			return 0, cerr
		}
		return n, err
	}
	buf := make([]byte, firstXattrRead)
	// The value can grow between asking its size and reading it: retry a
	// few times, then give up.
	for range 3 {
		n, err := get(buf)
		switch {
		case err == nil:
			return buf[:n], nil
		case errors.Is(err, errNoAttr), errors.Is(err, unix.ENOTSUP), errors.Is(err, unix.EOPNOTSUPP):
			return nil, nil
		case !errors.Is(err, unix.ERANGE):
			return nil, fmt.Errorf("get %s: %w", attr, err)
		}
		if n, err = get(nil); err != nil {
			return nil, fmt.Errorf("get size of %s: %w", attr, err)
		}
		if n > maxAttrSize {
			return nil, fmt.Errorf("%s is %d bytes, more than %d", attr, n, maxAttrSize)
		}
		buf = make([]byte, n)
	}
	return nil, fmt.Errorf("get %s: value keeps changing size", attr)
}
