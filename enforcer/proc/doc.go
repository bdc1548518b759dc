// Package proc reads the Linux process table (/proc) for a task the kernel
// holds inside execve: who it is (Task), what it was asked to run with
// (ExecArgs), where it comes from (Ancestors, OpenExe, Cwd).
//
// Everything here comes from the kernel, never from the program: identity
// is read from /proc/PID/status and stat, argv from the task's own memory.
// It is all racy in the usual /proc way — a process that exits between two
// reads can have its pid reused — except for a task parked in a fanotify
// permission event, which cannot run, exit or exec until it is answered.
//
// The parsers build on every platform so that they are tested everywhere;
// the readers exist only on Linux.
package proc
