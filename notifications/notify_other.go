//go:build !linux && !darwin

package notifications

import (
	"errors"
	"fmt"
	"runtime"
)

func newPlatform(Options) (Notifier, error) {
	return nil, fmt.Errorf("notifications on %s: %w", runtime.GOOS, errors.ErrUnsupported)
}
