package plist

import (
	"os"
	"syscall"
)

// canLimitAddressSpace says whether limitAddressSpace works here.
const canLimitAddressSpace = true

// limitAddressSpace caps the virtual memory of the calling process, so a
// decoder that tries to allocate without bound dies alone instead of taking
// the machine with it.
func limitAddressSpace(bytes uint64) error {
	return syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: bytes, Max: bytes})
}

// peakRSS is the largest resident set of a finished child process, in bytes.
func peakRSS(ps *os.ProcessState) int64 {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
		return ru.Maxrss << 10 // Linux reports KiB
	}
	return -1
}
