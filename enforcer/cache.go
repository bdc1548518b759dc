package enforcer

import (
	"encoding/hex"
	"sync"

	"github.com/gatehouse/gatehouse/policy"
)

// fileKey identifies a file's contents as the kernel sees them: device and
// inode, validated by size, mtime and ctime, so a write, truncate, chmod or
// replacement through the same inode makes the entry stale.
type fileKey struct {
	dev, ino uint64
}

type fileStamp struct {
	size             int64
	mtimeNs, ctimeNs int64
}

// cacheEntry is kept small: at 100,000 entries every byte counts ~100 KB.
// Hashes are stored as bytes, not hex; the rarely present facts (bundle,
// signing, download source) live behind a pointer that is nil for most
// files.
type cacheEntry struct {
	stamp  fileStamp
	typ    policy.AppType
	sha1   [20]byte
	sha256 [32]byte
	extra  *policy.Subject // bundle, signing and source facts; nil when none
}

func packSubject(s policy.Subject) (cacheEntry, bool) {
	e := cacheEntry{typ: s.Type}
	if hex.DecodedLen(len(s.SHA1)) != len(e.sha1) || hex.DecodedLen(len(s.SHA256)) != len(e.sha256) {
		return e, false
	}
	if _, err := hex.Decode(e.sha1[:], []byte(s.SHA1)); err != nil {
		return e, false
	}
	if _, err := hex.Decode(e.sha256[:], []byte(s.SHA256)); err != nil {
		return e, false
	}
	// Only lower-case hex round-trips exactly.
	if hex.EncodeToString(e.sha256[:]) != s.SHA256 || hex.EncodeToString(e.sha1[:]) != s.SHA1 {
		return e, false
	}
	if s.BundleID != "" || s.Version != "" || s.Publisher != "" || s.TeamID != "" || s.SigningID != "" || s.Source != "" {
		x := s
		x.SHA1, x.SHA256, x.Path, x.Args = "", "", "", nil
		e.extra = &x
	}
	return e, true
}

func (e *cacheEntry) subject() policy.Subject {
	var s policy.Subject
	if e.extra != nil {
		s = *e.extra
	}
	s.Type = e.typ
	s.SHA1 = hex.EncodeToString(e.sha1[:])
	s.SHA256 = hex.EncodeToString(e.sha256[:])
	return s
}

// factCache maps file identities to their content facts. Bounded: when full
// it is cleared (with a logged reason) rather than tracking recency on the
// hot path; at 100,000 entries a refill costs one hash per file in use.
type factCache struct {
	mu      sync.RWMutex
	entries map[fileKey]cacheEntry
	max     int
	flushes map[string]uint64
}

func newFactCache(max int) *factCache {
	return &factCache{entries: make(map[fileKey]cacheEntry), max: max, flushes: map[string]uint64{}}
}

func (c *factCache) get(k fileKey, st fileStamp) (policy.Subject, bool) {
	c.mu.RLock()
	e, ok := c.entries[k]
	c.mu.RUnlock()
	if !ok || e.stamp != st {
		return policy.Subject{}, false
	}
	return e.subject(), true
}

// put stores facts; it reports true when the cache had to be cleared first.
func (c *factCache) put(k fileKey, st fileStamp, s policy.Subject) (flushed bool) {
	e, ok := packSubject(s)
	if !ok {
		return false // facts without both hashes are not cached
	}
	e.stamp = st
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		if _, ok := c.entries[k]; !ok {
			clear(c.entries)
			c.flushes["full"]++
			flushed = true
		}
	}
	c.entries[k] = e
	return flushed
}

// flush empties the cache for reason (logged by the caller, counted here).
func (c *factCache) flush(reason string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.entries)
	clear(c.entries)
	c.flushes[reason]++
	return n
}

func (c *factCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.entries)
}

// remove forgets one file (it was written); it reports whether it was cached.
func (c *factCache) remove(k fileKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.entries[k]
	if ok {
		delete(c.entries, k)
		c.flushes["written"]++
	}
	return ok
}
