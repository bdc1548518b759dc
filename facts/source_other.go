//go:build !linux && !darwin

package facts

import (
	"errors"
	"os"
)

// readSource reports that this system records no download source.
func readSource(*os.File) (string, error) { return "", errors.ErrUnsupported }
