//go:build unix

package offline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// openNoFollow opens path for reading, refusing a symbolic link.
func openNoFollow(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) && pe.Err == syscall.ELOOP {
			return nil, fmt.Errorf("%s is a symbolic link; replace the link with the file itself", path)
		}
		return nil, err
	}
	return f, nil
}

// checkOwner refuses a secret file not owned by the user running this.
func checkOwner(path string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("offline secret %s: no owner information", path)
	}
	if euid := uint32(os.Geteuid()); st.Uid != euid {
		return fmt.Errorf("offline secret %s is owned by uid %d, not %s", path, st.Uid, userName(euid))
	}
	return nil
}

// checkDirOwner refuses a directory owned by neither root nor this user.
func checkDirOwner(dir string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("offline secret directory %s: no owner information", dir)
	}
	if euid := uint32(os.Geteuid()); st.Uid != 0 && st.Uid != euid {
		return fmt.Errorf("offline secret directory %s is owned by uid %d, who could replace the secret; use a directory owned by %s", dir, st.Uid, userName(euid))
	}
	return nil
}

func userName(uid uint32) string {
	if uid == 0 {
		return "root"
	}
	return fmt.Sprintf("uid %d (you)", uid)
}
