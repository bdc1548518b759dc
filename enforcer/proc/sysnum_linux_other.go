//go:build linux && !amd64 && !arm64

package proc

// ExecArgs has no system call table for this architecture.
const (
	archSupported = false
	sysExecve     = -1
	sysExecveat   = -1
	ptrSize       = 8
)
