package fanotify

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"
)

// Mount is one line of /proc/self/mountinfo.
type Mount struct {
	ID     int
	Parent int    // ID of the mount this one is mounted on
	Dev    string // "major:minor" of the filesystem: mounts of one filesystem share it
	Point  string // mount point, unescaped
	// Options are the per-mount options, e.g. "rw,nosuid,nodev,noexec".
	Options string
	FSType  string // e.g. "ext4", "fuse.sshfs"
	Source  string // e.g. "/dev/sda1", "tmpfs"
}

// parseMountinfo parses the format of proc(5) /proc/PID/mountinfo:
//
//	36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
//
// Fields 5 (mount point) and 10 (source) have space, tab, newline and
// backslash escaped as \ooo octal.
func parseMountinfo(r io.Reader) ([]Mount, error) {
	var mounts []Mount
	// Lines are unbounded (overlay lists every lower directory), so no
	// bufio.Scanner with its token limit.
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, err
		}
		if line = strings.TrimRight(line, "\n"); line != "" {
			m, perr := parseMountinfoLine(line)
			if perr != nil {
				return nil, fmt.Errorf("mountinfo line %d: %w", n, perr)
			}
			mounts = append(mounts, m)
		}
		if err != nil {
			return mounts, nil
		}
	}
}

func parseMountinfoLine(line string) (Mount, error) {
	f := strings.Split(line, " ")
	// ID parent major:minor root point options [optional...] - fstype source superoptions
	sep := -1
	for i := 6; i < len(f); i++ {
		if f[i] == "-" {
			sep = i
			break
		}
	}
	if sep < 0 || len(f) < sep+3 {
		return Mount{}, fmt.Errorf("want \"ID PARENT MAJ:MIN ROOT POINT OPTIONS ... - FSTYPE SOURCE ...\", got %q", line)
	}
	id, err := strconv.Atoi(f[0])
	if err != nil {
		return Mount{}, fmt.Errorf("mount ID %q: %w", f[0], err)
	}
	parent, err := strconv.Atoi(f[1])
	if err != nil {
		return Mount{}, fmt.Errorf("parent mount ID %q: %w", f[1], err)
	}
	if f[4] == "" || f[sep+1] == "" {
		return Mount{}, fmt.Errorf("empty mount point or filesystem type in %q", line)
	}
	return Mount{
		ID:      id,
		Parent:  parent,
		Dev:     f[2],
		Point:   unescapeOctal(f[4]),
		Options: f[5],
		FSType:  unescapeOctal(f[sep+1]),
		Source:  unescapeOctal(f[sep+2]),
	}, nil
}

// unescapeOctal undoes the kernel's mangle(): \ooo becomes the byte ooo.
// A backslash not followed by three octal digits stays as it is.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			v := (s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0')
			b.WriteByte(v)
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// skipFSTypes are filesystems that do not hold programs a user can run, or
// that a root daemon must not wait on.
//
// Pseudo filesystems are kernel views (proc also refuses permission marks).
// Network filesystems are left out because the daemon reads every file it
// decides on: a slow or hung server would hold every exec on that mount,
// and the server, not this host, controls the content. Per-user FUSE
// daemons (gvfsd-fuse, the document portal) refuse root without
// allow_other, so marking them fails.
var skipFSTypes = map[string]bool{
	// pseudo and virtual
	"proc": true, "sysfs": true, "cgroup": true, "cgroup2": true, "devpts": true,
	"mqueue": true, "debugfs": true, "tracefs": true, "securityfs": true,
	"pstore": true, "bpf": true, "configfs": true, "fusectl": true,
	"hugetlbfs": true, "autofs": true, "binfmt_misc": true, "rpc_pipefs": true,
	"nsfs": true, "efivarfs": true, "selinuxfs": true,
	"fuse.lxcfs": true, "fuse.gvfsd-fuse": true, "fuse.portal": true,
	// network
	"nfs": true, "nfs4": true, "cifs": true, "smb3": true, "smbfs": true,
	"9p": true, "fuse.sshfs": true, "ceph": true, "glusterfs": true,
	"fuse.glusterfs": true, "afs": true, "lustre": true,
}

// localFilesystems keeps one mount point of each filesystem localMounts
// would keep (the first in mountinfo order): a filesystem mark covers every
// mount of it. A filesystem stays out only when every mount of it that
// could be marked is excluded or skipped.
func localFilesystems(ms []Mount, exclude []string) []Filesystem {
	// The device of the mount on top at each point (see localMounts).
	type at struct {
		point string
		id    int
	}
	covered := make(map[at]bool, len(ms))
	for _, m := range ms {
		covered[at{m.Point, m.Parent}] = true
	}
	top := make(map[string]string, len(ms))
	for _, m := range ms {
		if _, ok := top[m.Point]; !ok && !covered[at{m.Point, m.ID}] {
			top[m.Point] = m.Dev
		}
	}
	var fss []Filesystem
	seen := make(map[string]bool, len(ms))
	for _, p := range localMounts(ms, exclude) {
		if d := top[p]; !seen[d] {
			seen[d] = true
			fss = append(fss, Filesystem{Point: p, Dev: d})
		}
	}
	return fss
}

// Filesystem is one filesystem to mark, by one of its mount points.
type Filesystem struct {
	Point string
	Dev   string // "major:minor", from mountinfo
}

// localMounts keeps the mount points of ms that are not of a skipped type
// and not equal to or under an entry of exclude, each once, in order.
//
// When several mounts stack on one point, only the one on top — the one a
// mark on that path reaches, on which no other mount at the point sits — is
// considered.
func localMounts(ms []Mount, exclude []string) []string {
	ex := make([]string, 0, len(exclude))
	for _, e := range exclude {
		if e != "" {
			ex = append(ex, filepath.Clean(e))
		}
	}
	type at struct {
		point string
		id    int
	}
	covered := make(map[at]bool, len(ms))
	for _, m := range ms {
		covered[at{m.Point, m.Parent}] = true
	}
	seen := make(map[string]bool, len(ms))
	var points []string
	for _, m := range ms {
		if covered[at{m.Point, m.ID}] || seen[m.Point] || skipFSTypes[m.FSType] || under(m.Point, ex) {
			continue
		}
		seen[m.Point] = true
		points = append(points, m.Point)
	}
	return points
}

// under reports whether p is equal to or below any of dirs.
func under(p string, dirs []string) bool {
	p = filepath.Clean(p)
	for _, d := range dirs {
		if p == d || d == "/" || strings.HasPrefix(p, d+"/") {
			return true
		}
	}
	return false
}
