package enforcer

import (
	"fmt"
	"os"
	"strings"
)

// fdPath is the path the kernel has for an open file (/proc/self/fd).
func fdPath(f *os.File) (string, error) {
	p, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil {
		return "", err
	}
	return strings.TrimSuffix(p, " (deleted)"), nil
}
