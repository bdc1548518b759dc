package proc

// System call numbers of arm64 (include/uapi/asm-generic/unistd.h). A
// 32-bit (compat) task reports other numbers and is treated as not in
// execve.
const (
	archSupported = true
	sysExecve     = 221
	sysExecveat   = 281
	ptrSize       = 8
)
