//go:build !linux

package backstop

import (
	"context"
	"errors"
	"fmt"
)

// Backstop exists only on Linux.
type Backstop struct{}

// Open returns errors.ErrUnsupported: there is no BPF here.
func Open(Config) (*Backstop, error) {
	return nil, fmt.Errorf("%w: %w", ErrUnavailable, errors.ErrUnsupported)
}

// Run returns errors.ErrUnsupported.
func (*Backstop) Run(context.Context, func(Report)) error { return errors.ErrUnsupported }

// Stats returns errors.ErrUnsupported.
func (*Backstop) Stats() (Stats, error) { return Stats{}, errors.ErrUnsupported }

// Close does nothing.
func (*Backstop) Close() error { return nil }
