//go:build !linux

package facts

import "testing"

// asNobody runs f; only the Linux version drops root's file access.
func asNobody(t *testing.T, f func()) { f() }
