package enforcer

import (
	"os/user"
	"strconv"
	"sync"
	"time"
)

// userCache maps uids and gids to names. os/user reads /etc/passwd and
// /etc/group (or NSS), which must not happen on every exec: entries live
// for a minute.
type userCache struct {
	mu     sync.Mutex
	users  map[uint32]nameEntry
	groups map[uint32]nameEntry
	now    func() time.Time
}

type nameEntry struct {
	name string
	at   time.Time
}

const userCacheTTL = time.Minute

func newUserCache(now func() time.Time) *userCache {
	return &userCache{users: map[uint32]nameEntry{}, groups: map[uint32]nameEntry{}, now: now}
}

func (c *userCache) lookup(m map[uint32]nameEntry, id uint32, resolve func(string) (string, error)) string {
	now := c.now()
	c.mu.Lock()
	e, ok := m[id]
	c.mu.Unlock()
	if ok && now.Sub(e.at) < userCacheTTL {
		return e.name
	}
	idStr := strconv.FormatUint(uint64(id), 10)
	name, err := resolve(idStr)
	if err != nil {
		name = "#" + idStr // unknown ids are still matched by number
	}
	c.mu.Lock()
	m[id] = nameEntry{name, now}
	c.mu.Unlock()
	return name
}

func (c *userCache) userName(uid uint32) string {
	return c.lookup(c.users, uid, func(id string) (string, error) {
		u, err := user.LookupId(id)
		if err != nil {
			return "", err
		}
		return u.Username, nil
	})
}

func (c *userCache) groupName(gid uint32) string {
	return c.lookup(c.groups, gid, func(id string) (string, error) {
		g, err := user.LookupGroupId(id)
		if err != nil {
			return "", err
		}
		return g.Name, nil
	})
}

func (c *userCache) groupNames(gids []uint32) []string {
	out := make([]string, 0, len(gids))
	for _, g := range gids {
		out = append(out, c.groupName(g))
	}
	return out
}

// UserGroupIDs returns the primary and supplementary groups of uid from the
// user database (for API callers and Endpoint Security execs, whose
// supplementary groups are not at hand).
func UserGroupIDs(uid uint32) []uint32 {
	u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
	if err != nil {
		return nil
	}
	ids, err := u.GroupIds()
	if err != nil {
		ids = []string{u.Gid}
	}
	var out []uint32
	for _, id := range ids {
		if g, err := strconv.ParseUint(id, 10, 32); err == nil {
			out = append(out, uint32(g))
		}
	}
	return out
}
