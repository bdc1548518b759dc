package proc

// System call numbers of the 64-bit ABI (arch/x86/entry/syscalls/syscall_64.tbl).
// A 32-bit task (ia32 or x32 ABI) reports other numbers and is treated as
// not in execve.
const (
	archSupported = true
	sysExecve     = 59
	sysExecveat   = 322
	ptrSize       = 8
)
