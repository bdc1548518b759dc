//go:build !linux && !darwin

package facts

import "io/fs"

// ownerOf is not known here: no file counts as protected.
func ownerOf(fs.FileInfo) (uid, gid uint32, ok bool) { return 0, 0, false }
