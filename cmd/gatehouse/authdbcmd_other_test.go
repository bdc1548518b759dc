//go:build !darwin

package main

import (
	"errors"
	"testing"
)

// Off macOS the real runner only says where gatehouse authdb runs.
func TestSecurityRunnerOffMacOS(t *testing.T) {
	_, err := newSecurityRunner().read("system.preferences")
	if err == nil || err.Error() != "gatehouse authdb runs on macOS (it changes the authorization database with /usr/bin/security)" || !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("read: %v", err)
	}
	if err := newSecurityRunner().write("x", nil); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("write: %v", err)
	}
}
