//go:build !darwin

package opendirectory

import (
	"errors"
	"testing"
)

func TestNewIsUnsupportedOffMacOS(t *testing.T) {
	if g, err := New(); g != nil || !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("New = %v, %v; want errors.ErrUnsupported", g, err)
	}
}
