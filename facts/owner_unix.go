//go:build linux || darwin

package facts

import (
	"io/fs"
	"syscall"
)

// ownerOf is the owner and group of a file.
func ownerOf(fi fs.FileInfo) (uid, gid uint32, ok bool) {
	sys, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return uint32(sys.Uid), uint32(sys.Gid), true
}
