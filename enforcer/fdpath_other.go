//go:build !linux && !darwin

package enforcer

import (
	"errors"
	"fmt"
	"os"
)

// fdPath is not needed here: the only source on this platform (Endpoint
// Security) reports the path with every exec.
func fdPath(f *os.File) (string, error) {
	return "", fmt.Errorf("path of descriptor %d: %w (the event source must report the path)", f.Fd(), errors.ErrUnsupported)
}
