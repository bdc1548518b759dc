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

// LocalFilesystems returns one mount point of each local filesystem that
// can hold programs (as LocalMounts chooses them): marking it marks the
// filesystem, whatever mount or mount namespace it is reached through. A
// filesystem is left out only when every mount of it is excluded.
func LocalFilesystems(exclude []string) ([]Filesystem, error) {
	ms, err := Mounts()
	if err != nil {
		return nil, err
	}
	return localFilesystems(ms, exclude), nil
}

// LocalMounts returns the mount points of local filesystems that can hold
// programs: every mount except pseudo filesystems (proc, sysfs, cgroup, …)
// and network filesystems (nfs, cifs, 9p, fuse.sshfs, …), minus any point
// equal to or under an entry of exclude, bind mounts included.
func LocalMounts(exclude []string) ([]string, error) {
	ms, err := Mounts()
	if err != nil {
		return nil, err
	}
	return localMounts(ms, exclude), nil
}
