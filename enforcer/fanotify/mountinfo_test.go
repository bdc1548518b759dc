package fanotify

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseMountinfo(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []Mount
		wantErr bool
	}{
		{name: "empty", in: ""},
		{
			name: "typical",
			in: "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n" +
				"23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n" +
				"24 22 0:22 / /sys rw,nosuid shared:7 master:2 - sysfs sysfs rw\n",
			want: []Mount{
				{ID: 22, Parent: 1, Dev: "8:1", Point: "/", Options: "rw,relatime", FSType: "ext4", Source: "/dev/sda1"},
				{ID: 23, Parent: 22, Dev: "0:21", Point: "/proc", Options: "rw,nosuid,nodev,noexec,relatime", FSType: "proc", Source: "proc"},
				{ID: 24, Parent: 22, Dev: "0:22", Point: "/sys", Options: "rw,nosuid", FSType: "sysfs", Source: "sysfs"},
			},
		},
		{
			name: "no optional fields, no trailing newline",
			in:   "30 22 0:40 / /run rw - tmpfs tmpfs rw,size=100k",
			want: []Mount{{ID: 30, Parent: 22, Dev: "0:40", Point: "/run", Options: "rw", FSType: "tmpfs", Source: "tmpfs"}},
		},
		{
			name: "escaped space tab newline backslash",
			in:   `31 22 0:41 / /mnt/my\040disk\011x\012y\134z rw - fuse.sshfs me@host:/a\040b rw` + "\n",
			want: []Mount{{ID: 31, Parent: 22, Dev: "0:41", Point: "/mnt/my disk\tx\ny\\z", Options: "rw", FSType: "fuse.sshfs", Source: "me@host:/a b"}},
		},
		{
			name: "lone backslash kept",
			in:   `32 22 0:42 / /mnt/a\b\04 rw - tmpfs t rw` + "\n",
			want: []Mount{{ID: 32, Parent: 22, Dev: "0:42", Point: `/mnt/a\b\04`, Options: "rw", FSType: "tmpfs", Source: "t"}},
		},
		{name: "no separator", in: "22 1 8:1 / / rw shared:1 ext4 /dev/sda1 rw\n", wantErr: true},
		{name: "separator too early", in: "22 1 - ext4 /dev/sda1 rw x y\n", wantErr: true},
		{name: "bad id", in: "x 1 8:1 / / rw - ext4 /dev/sda1 rw\n", wantErr: true},
		{name: "bad parent", in: "2 y 8:1 / / rw - ext4 /dev/sda1 rw\n", wantErr: true},
		{name: "nothing after separator", in: "22 1 8:1 / / rw - ext4\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseMountinfo(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("mounts (-want +got):\n%s", diff)
			}
		})
	}
}

func TestLocalMountsFilter(t *testing.T) {
	ms := []Mount{
		{ID: 1, Parent: 0, Point: "/", FSType: "ext4"},
		{ID: 2, Parent: 1, Point: "/proc", FSType: "proc"},
		{ID: 3, Parent: 1, Point: "/sys", FSType: "sysfs"},
		{ID: 4, Parent: 3, Point: "/sys/fs/cgroup", FSType: "cgroup2"},
		{ID: 5, Parent: 1, Point: "/dev", FSType: "devtmpfs"},
		{ID: 6, Parent: 5, Point: "/dev/pts", FSType: "devpts"},
		{ID: 7, Parent: 1, Point: "/home", FSType: "xfs"},
		{ID: 8, Parent: 1, Point: "/srv/nfs", FSType: "nfs4"},
		{ID: 9, Parent: 1, Point: "/mnt/remote", FSType: "fuse.sshfs"},
		{ID: 10, Parent: 1, Point: "/run/user/1000/gvfs", FSType: "fuse.gvfsd-fuse"},
		{ID: 11, Parent: 1, Point: "/snap/core/1", FSType: "squashfs"},
		{ID: 12, Parent: 1, Point: "/snap/core/2", FSType: "squashfs"},
		{ID: 13, Parent: 1, Point: "/snapshot", FSType: "ext4"},
		{ID: 14, Parent: 1, Point: "/var/lib/docker/overlay2/x/merged", FSType: "overlay"},
		{ID: 16, Parent: 15, Point: "/opt", FSType: "tmpfs"}, // on top of 15, listed first
		{ID: 15, Parent: 1, Point: "/opt", FSType: "ext4"},
		{ID: 17, Parent: 1, Point: "/stacked", FSType: "ext4"},
		{ID: 18, Parent: 17, Point: "/stacked", FSType: "proc"}, // proc on top refuses marks
		{ID: 19, Parent: 1, Point: "/bind", FSType: "ext4"},
		{ID: 20, Parent: 1, Point: "/bind", FSType: "ext4"}, // the same point twice, neither on the other
	}
	tests := []struct {
		name    string
		exclude []string
		want    []string
	}{
		{name: "no exclude", want: []string{"/", "/dev", "/home", "/snap/core/1", "/snap/core/2", "/snapshot", "/var/lib/docker/overlay2/x/merged", "/opt", "/bind"}},
		{name: "exclude subtree, not siblings with the prefix", exclude: []string{"/snap/", "/var/lib/docker"},
			want: []string{"/", "/dev", "/home", "/snapshot", "/opt", "/bind"}},
		{name: "exclude exact point", exclude: []string{"/home", "", "/opt/../dev", "/bind"}, want: []string{"/", "/snap/core/1", "/snap/core/2", "/snapshot", "/var/lib/docker/overlay2/x/merged", "/opt"}},
		{name: "exclude root", exclude: []string{"/"}, want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, localMounts(ms, tt.exclude)); diff != "" {
				t.Errorf("local mounts (-want +got):\n%s", diff)
			}
		})
	}
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add("22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n")
	f.Add(`31 22 0:41 / /mnt/my\040disk rw - fuse.sshfs a\134 rw`)
	f.Add("1 2 3 4 5 6 - \n\n- - -")
	f.Fuzz(func(t *testing.T, in string) {
		ms, err := parseMountinfo(strings.NewReader(in))
		if err != nil {
			return
		}
		for _, m := range ms {
			if m.Point == "" || m.FSType == "" {
				t.Fatalf("empty field in %+v from %q", m, in)
			}
		}
	})
}

func TestLocalFilesystems(t *testing.T) {
	ms := []Mount{
		{ID: 1, Parent: 0, Point: "/", FSType: "ext4", Dev: "8:1"},
		{ID: 2, Parent: 1, Point: "/proc", FSType: "proc", Dev: "0:20"},
		{ID: 3, Parent: 1, Point: "/home", FSType: "xfs", Dev: "8:2"},
		{ID: 4, Parent: 1, Point: "/srv/home", FSType: "xfs", Dev: "8:2"}, // a bind mount of /home's filesystem
		{ID: 5, Parent: 1, Point: "/data", FSType: "ext4", Dev: "8:3"},
		{ID: 6, Parent: 1, Point: "/mnt/data", FSType: "ext4", Dev: "8:3"},
		{ID: 8, Parent: 7, Point: "/opt", FSType: "tmpfs", Dev: "0:40"}, // on top of 7
		{ID: 7, Parent: 1, Point: "/opt", FSType: "ext4", Dev: "8:4"},
	}
	tests := []struct {
		name    string
		exclude []string
		want    []Filesystem
	}{
		{name: "one point per filesystem", want: []Filesystem{{"/", "8:1"}, {"/home", "8:2"}, {"/data", "8:3"}, {"/opt", "0:40"}}},
		{name: "a filesystem excluded at one point is marked through another", exclude: []string{"/home", "/data", "/mnt"},
			want: []Filesystem{{"/", "8:1"}, {"/srv/home", "8:2"}, {"/opt", "0:40"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, localFilesystems(ms, tt.exclude)); diff != "" {
				t.Errorf("local filesystems (-want +got):\n%s", diff)
			}
		})
	}
}
