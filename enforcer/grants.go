package enforcer

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/request"
)

// grant is the in-memory form of a stored grant. The hot path reads these;
// the store is written off the hot path.
type grant struct {
	id        int64
	uid       uint32
	path      string
	key       fileKey
	sha256    string
	cdhash    string // "" binds to sha256 alone
	notBefore time.Time
	expires   time.Time
	usesLeft  int // -1 = unlimited
	reason    string
	origin    request.Origin
	requestID int64
}

// grantKey binds a grant to a user and a file identity. The path is part
// of the key, so a renamed file (same inode) does not inherit the grant;
// the SHA-256 is checked on use, so a file replaced in place does not
// either; the uid keeps another user out.
type grantKey struct {
	uid  uint32
	file fileKey
	path string
}

type grantTable struct {
	mu    sync.Mutex
	byKey map[grantKey][]*grant
	byID  map[int64]*grant
	files map[fileKey]int // grants per file, whoever they are for
	n     atomic.Int64    // len(byID), read without the lock
}

func newGrantTable() *grantTable {
	return &grantTable{byKey: map[grantKey][]*grant{}, byID: map[int64]*grant{}, files: map[fileKey]int{}}
}

func (t *grantTable) add(g *grant) {
	t.mu.Lock()
	defer t.mu.Unlock()
	k := grantKey{g.uid, g.key, g.path}
	if _, dup := t.byID[g.id]; !dup {
		t.files[g.key]++
	}
	t.byKey[k] = append(t.byKey[k], g)
	t.byID[g.id] = g
	t.n.Store(int64(len(t.byID)))
}

// any reports whether the table holds a grant at all, without the lock.
func (t *grantTable) any() bool { return t.n.Load() > 0 }

// usable reports whether g lets this file (hash sha256, code cdhash) run
// now. A grant bound to a cdhash lets only that code run: the kernel
// validates the pages that execute against it.
func (g *grant) usable(sha256, cdhash string, now time.Time) bool {
	return g.sha256 == sha256 && (g.cdhash == "" || g.cdhash == cdhash) && g.usesLeft != 0 &&
		!now.After(g.expires) && !now.Before(g.notBefore)
}

// use finds a grant that lets uid run this exact file now and consumes one
// use. It returns nil when none applies.
func (t *grantTable) use(uid uint32, key fileKey, path, sha256, cdhash string, now time.Time) *grant {
	t.mu.Lock()
	defer t.mu.Unlock()
	gs := t.byKey[grantKey{uid, key, path}]
	for _, g := range gs {
		if !g.usable(sha256, cdhash, now) {
			continue
		}
		if g.usesLeft > 0 {
			g.usesLeft--
		}
		cp := *g
		return &cp
	}
	return nil
}

func (t *grantTable) remove(id int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.byID[id]
	if g == nil {
		return
	}
	delete(t.byID, id)
	t.n.Store(int64(len(t.byID)))
	if t.files[g.key]--; t.files[g.key] <= 0 {
		delete(t.files, g.key)
	}
	k := grantKey{g.uid, g.key, g.path}
	gs := t.byKey[k]
	for i, x := range gs {
		if x == g {
			gs = append(gs[:i], gs[i+1:]...)
			break
		}
	}
	if len(gs) == 0 {
		delete(t.byKey, k)
	} else {
		t.byKey[k] = gs
	}
}

// prune drops grants that can no longer be used.
func (t *grantTable) prune(now time.Time) {
	t.mu.Lock()
	var dead []int64
	for id, g := range t.byID {
		if g.usesLeft == 0 || now.After(g.expires) {
			dead = append(dead, id)
		}
	}
	t.mu.Unlock()
	for _, id := range dead {
		t.remove(id)
	}
}

func (t *grantTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byID)
}

// names reports whether any grant names this user, file and path,
// whatever its hash and window.
func (t *grantTable) names(uid uint32, key fileKey, path string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byKey[grantKey{uid, key, path}]) > 0
}

// onFile reports whether any grant, for anyone, names the file.
func (t *grantTable) onFile(key fileKey) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.files[key] > 0
}

// peek is use without consuming: what the engine would do now.
func (t *grantTable) peek(uid uint32, key fileKey, path, sha256, cdhash string, now time.Time) *grant {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, g := range t.byKey[grantKey{uid, key, path}] {
		if g.usable(sha256, cdhash, now) {
			cp := *g
			return &cp
		}
	}
	return nil
}
