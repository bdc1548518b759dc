package facts

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/policy"
)

// DefaultAdminGroups are the groups whose members count as admins for
// protection: wheel and admin (macOS: admin owns /Applications), sudo and
// wheel (Linux: their members can become root anyway).
var DefaultAdminGroups = []string{"admin", "wheel", "sudo"}

// Admins says which users and groups are admins, from the names of the
// admin groups. Root (uid 0, gid 0) always is. Group membership is looked
// up once a minute per user.
type Admins struct {
	groups []string

	mu      sync.Mutex
	gids    map[uint32]bool
	gidsAt  time.Time
	users   map[uint32]adminEntry
	nowFunc func() time.Time
}

type adminEntry struct {
	admin bool
	at    time.Time
}

// adminTTL is how long an answer about a user or the groups is kept.
const adminTTL = time.Minute

// NewAdmins returns the admins of the named groups; groups that do not
// exist on this machine are skipped.
func NewAdmins(groups []string) *Admins {
	return &Admins{groups: slices.Clone(groups), users: map[uint32]adminEntry{}, nowFunc: time.Now}
}

// Group reports whether gid is root's or an admin group.
func (a *Admins) Group(gid uint32) bool {
	if gid == 0 {
		return true
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.adminGIDs()[gid]
}

// adminGIDs resolves the group names (a.mu held).
func (a *Admins) adminGIDs() map[uint32]bool {
	if now := a.nowFunc(); a.gids == nil || now.Sub(a.gidsAt) > adminTTL {
		m := map[uint32]bool{}
		for _, name := range a.groups {
			if g, err := user.LookupGroup(name); err == nil {
				if id, err := strconv.ParseUint(g.Gid, 10, 32); err == nil {
					m[uint32(id)] = true
				}
			}
		}
		a.gids, a.gidsAt = m, now
	}
	return a.gids
}

// User reports whether uid is root or a member of an admin group.
func (a *Admins) User(uid uint32) bool {
	if uid == 0 {
		return true
	}
	a.mu.Lock()
	now := a.nowFunc()
	if e, ok := a.users[uid]; ok && now.Sub(e.at) <= adminTTL {
		a.mu.Unlock()
		return e.admin
	}
	gids := a.adminGIDs()
	a.mu.Unlock()
	admin := false
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		if ids, err := u.GroupIds(); err == nil {
			for _, s := range ids {
				if id, err := strconv.ParseUint(s, 10, 32); err == nil && gids[uint32(id)] {
					admin = true
					break
				}
			}
		}
	}
	a.mu.Lock()
	if len(a.users) > 4096 {
		clear(a.users)
	}
	a.users[uid] = adminEntry{admin: admin, at: now}
	a.mu.Unlock()
	return admin
}

// ProtectionOf says whether users could have put the file at path (whose
// stat is st, or nil to stat it) where it is: it and every directory above
// it must be owned by root or an admin and be writable by no group but
// root's or an admin group, and not by everyone. path must be resolved
// (the kernel's path of an open file is). The detail says which folder
// fails and why.
func ProtectionOf(path string, st fs.FileInfo, a *Admins) (policy.Protection, string) {
	if !filepath.IsAbs(path) {
		return policy.ProtectionUnknown, fmt.Sprintf("%s is not an absolute path", path)
	}
	p := filepath.Clean(path)
	for {
		fi := st
		if fi == nil {
			var err error
			if fi, err = os.Lstat(p); err != nil {
				return policy.ProtectionUnknown, fmt.Sprintf("%s cannot be examined: %v", p, errno(err))
			}
		}
		st = nil
		if why := unprotected(p, fi, a); why != "" {
			return policy.Unprotected, why
		}
		if p == "/" {
			return policy.Protected, ""
		}
		p = filepath.Dir(p)
	}
}

// unprotected says why users could replace what is at p, or "" if they
// cannot.
func unprotected(p string, fi fs.FileInfo, a *Admins) string {
	uid, gid, ok := ownerOf(fi)
	if !ok {
		return fmt.Sprintf("%s: its owner cannot be read", p)
	}
	m := fi.Mode()
	switch {
	case m&fs.ModeSymlink != 0:
		return fmt.Sprintf("%s is a symbolic link", p)
	case m.Perm()&0o002 != 0:
		return fmt.Sprintf("%s is writable by everyone", p)
	case !a.User(uid):
		return fmt.Sprintf("%s belongs to %s, who is not an admin", p, userName(uid))
	case m.Perm()&0o020 != 0 && !a.Group(gid):
		return fmt.Sprintf("%s is writable by group %s, which is not an admin group", p, groupName(gid))
	}
	return ""
}

func userName(uid uint32) string {
	if u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		return fmt.Sprintf("%s (uid %d)", u.Username, uid)
	}
	return fmt.Sprintf("uid %d", uid)
}

func groupName(gid uint32) string {
	if g, err := user.LookupGroupId(strconv.FormatUint(uint64(gid), 10)); err == nil {
		return fmt.Sprintf("%s (gid %d)", g.Name, gid)
	}
	return fmt.Sprintf("gid %d", gid)
}
