package facts

import (
	"os"

	"golang.org/x/sys/unix"
)

// errNoAttr is the errno for an extended attribute that is not set.
const errNoAttr = unix.ENOATTR

// readSource reads the first URL of the kMDItemWhereFroms attribute of f.
func readSource(f *os.File) (string, error) {
	v, err := fgetxattr(f, whereFromsAttr)
	if err != nil || v == nil {
		return "", err
	}
	return parseWhereFroms(v)
}
