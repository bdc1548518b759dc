package facts

import (
	"os"

	"golang.org/x/sys/unix"
)

// errNoAttr is the errno for an extended attribute that is not set.
const errNoAttr = unix.ENODATA

// readSource reads the user.xdg.origin.url attribute of f.
func readSource(f *os.File) (string, error) {
	v, err := fgetxattr(f, originAttr)
	if err != nil || v == nil {
		return "", err
	}
	return parseOriginURL(v), nil
}
