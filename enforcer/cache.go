package enforcer

import (
	"encoding/hex"
	"hash/maphash"
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

// cacheEntry is one file's facts in 72 bytes and no pointers, so the
// collector never scans the table: at 100,000 entries every byte counts
// ~100 KB. Hashes are stored as bytes, not hex; the device is an index into
// the few devices seen; the rarely present facts (bundle, signing, download
// source) live in a side table that is empty for most files.
type cacheEntry struct {
	ino    uint64
	stamp  fileStamp
	sha256 [32]byte
	extra  uint32 // 1 + index into factCache.extras; 0 when none
	dev    uint16 // index into factCache.devs
	typ    policy.AppType
	sha1   bool // the chunk's sha1 array holds this entry's SHA-1
}

// Entries live in fixed-size chunks: growing never copies the table (which
// would leave a second copy as garbage) and wastes at most one chunk.
const (
	chunkBits = 12
	chunkLen  = 1 << chunkBits
)

// A chunk's SHA-1 array is allocated with its first SHA-1: a policy
// without SHA-1 criteria has the daemon skip SHA-1 (facts.FileSHA256), and
// its cache then has none (2 MB less at 100,000 entries).
type entryChunk struct {
	e    [chunkLen]cacheEntry
	sha1 *[chunkLen][20]byte
}

// factCache maps file identities to their content facts. Bounded: when full
// it is cleared (with a logged reason) rather than tracking recency on the
// hot path; at 100,000 entries a refill costs one hash per file in use.
//
// It is an open-addressing table (linear probing, backward-shift deletion)
// of 4-byte slots pointing into densely packed entries: about 100 bytes per
// file where a Go map of the same entries took 147. The probe sequence is
// seeded per process: inode numbers are partly chosen by whoever creates
// files, and must not be able to lengthen every lookup.
type factCache struct {
	mu     sync.RWMutex
	seed   maphash.Seed
	slots  []uint32 // 0: empty; otherwise 1 + index into the entries
	n      int      // entries in use, packed at indexes [0, n)
	chunks []*entryChunk
	devs   []uint64 // device numbers; a handful in practice
	extras []policy.Subject
	free   []uint32 // unused indexes into extras
	max    int

	flushes map[string]uint64
}

func newFactCache(max int) *factCache {
	return &factCache{seed: maphash.MakeSeed(), max: max, flushes: map[string]uint64{}}
}

func (c *factCache) at(i int) *cacheEntry { return &c.chunks[i>>chunkBits].e[i&(chunkLen-1)] }

// sha1At returns entry i's SHA-1 slot, allocating its chunk's array.
func (c *factCache) sha1At(i int) *[20]byte {
	ch := c.chunks[i>>chunkBits]
	if ch.sha1 == nil {
		ch.sha1 = new([chunkLen][20]byte)
	}
	return &ch.sha1[i&(chunkLen-1)]
}

func (c *factCache) home(k fileKey) int {
	return int(maphash.Comparable(c.seed, k) & uint64(len(c.slots)-1))
}

func (c *factCache) keyAt(i int) fileKey {
	e := c.at(i)
	return fileKey{dev: c.devs[e.dev], ino: e.ino}
}

// find returns the slot holding k, or the empty slot where it would go and
// false. The table is never full (see grow), so the probe ends.
func (c *factCache) find(k fileKey) (int, bool) {
	if len(c.slots) == 0 {
		return -1, false
	}
	mask := len(c.slots) - 1
	for s := c.home(k); ; s = (s + 1) & mask {
		v := c.slots[s]
		if v == 0 {
			return s, false
		}
		if e := c.at(int(v - 1)); e.ino == k.ino && c.devs[e.dev] == k.dev {
			return s, true
		}
	}
}

func (c *factCache) get(k fileKey, st fileStamp) (policy.Subject, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.find(k)
	if !ok {
		return policy.Subject{}, false
	}
	i := int(c.slots[s] - 1)
	e := c.at(i)
	if e.stamp != st {
		return policy.Subject{}, false
	}
	var subj policy.Subject
	if e.extra != 0 {
		subj = c.extras[e.extra-1]
	}
	subj.Type = e.typ
	// Both hashes in one allocation: this runs on every cached exec.
	var buf [2 * (20 + 32)]byte
	if e.sha1 {
		hex.Encode(buf[:40], c.chunks[i>>chunkBits].sha1[i&(chunkLen-1)][:])
		hex.Encode(buf[40:], e.sha256[:])
		hashes := string(buf[:])
		subj.SHA1, subj.SHA256 = hashes[:40], hashes[40:]
	} else {
		hex.Encode(buf[:64], e.sha256[:])
		subj.SHA256 = string(buf[:64])
	}
	return subj, true
}

// decodeHash decodes lower-case hex into dst; anything else (including
// upper case, which would not round-trip) is refused.
func decodeHash(dst []byte, s string) bool {
	if len(s) != hex.EncodedLen(len(dst)) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	_, err := hex.Decode(dst, []byte(s))
	return err == nil
}

func hasExtra(s *policy.Subject) bool {
	return s.BundleID != "" || s.Version != "" || s.Publisher != "" || s.TeamID != "" || s.SigningID != "" || s.Source != ""
}

// put stores facts; it reports true when the cache had to be cleared first.
func (c *factCache) put(k fileKey, st fileStamp, s policy.Subject) (flushed bool) {
	var sha1 [20]byte
	e := cacheEntry{ino: k.ino, stamp: st, typ: s.Type, sha1: s.SHA1 != ""}
	if e.sha1 && !decodeHash(sha1[:], s.SHA1) || !decodeHash(e.sha256[:], s.SHA256) {
		return false // facts without a well-formed SHA-256 (and SHA-1, if given) are not cached
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	slot, ok := c.find(k)
	if ok {
		c.removeAt(slot) // replaced below; keeps the extras bookkeeping in one place
	} else if c.n >= c.max {
		c.clear()
		c.flushes["full"]++
		flushed = true
	}
	dev, ok := c.devIndex(k.dev)
	if !ok {
		c.clear()
		c.flushes["devices"]++
		flushed = true
		dev, _ = c.devIndex(k.dev)
	}
	e.dev = dev
	if hasExtra(&s) {
		x := s
		x.Type, x.SHA1, x.SHA256, x.Path, x.Args = 0, "", "", "", nil
		if n := len(c.free); n > 0 {
			e.extra = c.free[n-1] + 1
			c.free = c.free[:n-1]
			c.extras[e.extra-1] = x
		} else {
			c.extras = append(c.extras, x)
			e.extra = uint32(len(c.extras))
		}
	}
	if (c.n+1)*8 > len(c.slots)*7 {
		c.grow()
	}
	i := c.n
	if i>>chunkBits == len(c.chunks) {
		c.chunks = append(c.chunks, new(entryChunk))
	}
	*c.at(i) = e
	if e.sha1 {
		*c.sha1At(i) = sha1
	}
	c.n++
	slot, _ = c.find(k)
	c.slots[slot] = uint32(i + 1)
	return flushed
}

// devIndex returns the index of device dev, adding it; false when the
// index space is used up (the caller clears the cache, which resets it).
func (c *factCache) devIndex(dev uint64) (uint16, bool) {
	for i, d := range c.devs {
		if d == dev {
			return uint16(i), true
		}
	}
	if len(c.devs) > 0xffff {
		return 0, false
	}
	c.devs = append(c.devs, dev)
	return uint16(len(c.devs) - 1), true
}

// grow doubles the slot table (at least 1,024 slots). The load stays
// under 7/8: a hit then probes about four slots on average, nothing next to
// the rest of a decision, and a miss is followed by hashing the file anyway.
func (c *factCache) grow() {
	size := max(1024, 2*len(c.slots))
	c.slots = make([]uint32, size)
	mask := size - 1
	for i := 0; i < c.n; i++ {
		s := c.home(c.keyAt(i))
		for c.slots[s] != 0 {
			s = (s + 1) & mask
		}
		c.slots[s] = uint32(i + 1)
	}
}

// removeAt empties slot s and the entry it points to. The last entry moves
// into the hole so entries stay packed; later slots of the same probe run
// shift back so no lookup stops early at the emptied slot.
func (c *factCache) removeAt(s int) {
	i := int(c.slots[s] - 1)
	if x := c.at(i).extra; x != 0 {
		c.extras[x-1] = policy.Subject{}
		c.free = append(c.free, x-1)
	}
	mask := len(c.slots) - 1
	for j := (s + 1) & mask; c.slots[j] != 0; j = (j + 1) & mask {
		h := c.home(c.keyAt(int(c.slots[j] - 1)))
		// Slot j's entry may move to s if s lies cyclically in [h, j).
		if (j-h)&mask >= (j-s)&mask {
			c.slots[s] = c.slots[j]
			s = j
		}
	}
	c.slots[s] = 0
	last := c.n - 1
	if i != last {
		ls, _ := c.find(c.keyAt(last))
		*c.at(i) = *c.at(last)
		if c.at(i).sha1 {
			*c.sha1At(i) = *c.sha1At(last)
		}
		c.slots[ls] = uint32(i + 1)
	}
	c.n--
}

// clear empties the cache and gives its memory back to the collector.
func (c *factCache) clear() {
	c.slots, c.chunks, c.devs, c.extras, c.free = nil, nil, nil, nil, nil
	c.n = 0
}

// flush empties the cache for reason (logged by the caller, counted here).
func (c *factCache) flush(reason string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.n
	c.clear()
	c.flushes[reason]++
	return n
}

func (c *factCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.n
}

// remove forgets one file (it was written); it reports whether it was cached.
func (c *factCache) remove(k fileKey) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.find(k)
	if ok {
		c.removeAt(s)
		c.flushes["written"]++
	}
	return ok
}
