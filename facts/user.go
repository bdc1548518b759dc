package facts

import (
	"errors"
	"fmt"
	"os"
	"os/user"
	"strconv"
)

// CurrentUser returns the name, uid and group names of the user running this
// process. See LookupUser for the groups.
func CurrentUser() (name string, uid uint32, groups []string, err error) {
	u, err := user.Current()
	if err != nil {
		return "", 0, nil, fmt.Errorf("look up the current user: %w", err)
	}
	uid, groups, err = userFacts(u)
	return u.Username, uid, groups, err
}

// LookupUser returns the uid and group names of the user called name.
// groups holds names, not ids, because policies scope rules by group name:
// the primary group first, then the supplementary groups. A group id with no
// name (common in containers) is left out, since no rule can name it.
func LookupUser(name string) (uid uint32, groups []string, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, nil, fmt.Errorf("look up user %q: %w", name, err)
	}
	return userFacts(u)
}

func userFacts(u *user.User) (uint32, []string, error) {
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return 0, nil, fmt.Errorf("user %s has uid %q, not a number", u.Username, u.Uid)
	}
	gids, err := u.GroupIds()
	if err != nil {
		return 0, nil, fmt.Errorf("list the groups of user %s: %w", u.Username, err)
	}
	seen := map[string]bool{}
	var groups []string
	for _, gid := range append([]string{u.Gid}, gids...) {
		if seen[gid] {
			continue
		}
		seen[gid] = true
		g, err := user.LookupGroupId(gid)
		if err != nil {
			if errors.As(err, new(user.UnknownGroupIdError)) {
				continue
			}
			return 0, nil, fmt.Errorf("look up group %s of user %s: %w", gid, u.Username, err)
		}
		groups = append(groups, g.Name)
	}
	return uint32(uid), groups, nil
}

// Machine returns this machine's host name, or "" if it cannot be read.
func Machine() string {
	h, err := os.Hostname()
	if err != nil {
		return ""
	}
	return h
}
