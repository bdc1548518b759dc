package fanotify

import (
	"fmt"
	"os"
)

// Mounts returns the mounts of this process's mount namespace.
func Mounts() ([]Mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("list mounts: %w", err)
	}
	defer f.Close()
	ms, err := parseMountinfo(f)
	if err != nil {
		return nil, fmt.Errorf("list mounts: %w", err)
	}
	return ms, nil
}

// LocalMounts returns the mount points of local filesystems that can hold
// programs: every mount except pseudo filesystems (proc, sysfs, cgroup, …)
// and network filesystems (nfs, cifs, 9p, fuse.sshfs, …), minus any point
// equal to or under an entry of exclude. Bind mounts are kept: a mount mark
// covers one mount, so each view of a filesystem needs its own.
func LocalMounts(exclude []string) ([]string, error) {
	ms, err := Mounts()
	if err != nil {
		return nil, err
	}
	return localMounts(ms, exclude), nil
}
