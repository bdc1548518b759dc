//go:build !linux

package plist

import (
	"errors"
	"os"
)

// The hostile-input comparison needs an address-space limit for its child
// processes, implemented on Linux only; elsewhere BenchmarkHostile skips.
const canLimitAddressSpace = false

func limitAddressSpace(uint64) error { return errors.ErrUnsupported }

func peakRSS(*os.ProcessState) int64 { return -1 }
