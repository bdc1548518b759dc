//go:build !darwin

package opendirectory

import (
	"errors"
	"fmt"
	"runtime"
)

// New fails: the admin group through Directory Services is macOS's.
func New() (*Group, error) {
	return nil, fmt.Errorf("the admin group through Directory Services on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
