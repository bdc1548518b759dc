//go:build !darwin

package alerts

import (
	"context"
	"errors"
)

// New returns the platform's dismisser: here none, as no system alert
// follows a denied program.
func New() Dismisser { return none{} }

type none struct{}

func (none) Dismiss(context.Context, string) error { return errors.ErrUnsupported }
