//go:build !unix

package offline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Secret files are checked for their owner on Unix only; elsewhere loading
// one fails rather than trusting a file of unknown owner.

func openNoFollow(path string) (*os.File, error) {
	return nil, fmt.Errorf("open offline secret %s: %w", path, errors.ErrUnsupported)
}

func checkOwner(path string, fi fs.FileInfo) error {
	return fmt.Errorf("check owner of offline secret %s: %w", path, errors.ErrUnsupported)
}

func checkDirOwner(dir string, fi fs.FileInfo) error {
	return fmt.Errorf("check owner of %s: %w", dir, errors.ErrUnsupported)
}
