// Package scratch gives tests that mark filesystems with fanotify
// permission events something safe to mark: a throwaway tmpfs they mount
// themselves. A permission listener that hangs freezes every exec on what
// it marks, so tests mark only these, never a real mount. NeedRoot is for
// every test that needs root: it skips, saying why, except under CI.
package scratch
