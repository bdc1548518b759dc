//go:build !linux && !darwin

package facts

import (
	"errors"
	"os"
	"path/filepath"
)

const readFlags = os.O_RDONLY

// sameFileAt compares by path where no *at call is available.
func sameFileAt(dir *os.File, name string, f *os.File) (bool, error) {
	a, err := os.Stat(filepath.Join(dir.Name(), name))
	if err != nil {
		return false, err
	}
	b, err := f.Stat()
	if err != nil {
		return false, err
	}
	if a == nil || b == nil {
		return false, errors.ErrUnsupported
	}
	return os.SameFile(a, b), nil
}
