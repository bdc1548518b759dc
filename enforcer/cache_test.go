package enforcer

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/policy"
)

func TestFactCache(t *testing.T) {
	c := newFactCache(100)
	plain := policy.Subject{Type: policy.Binary, SHA1: "da39a3ee5e6b4b0d3255bfef95601890afd80709",
		SHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Path: "/x", Args: []string{"a"}}
	rich := plain
	rich.Type, rich.BundleID, rich.Version, rich.Publisher, rich.Source = policy.Bundle, "com.example.app", "1.2", "Example", "https://example.com/x"
	k1, k2 := fileKey{1, 1}, fileKey{1, 2}
	st := fileStamp{size: 10, mtimeNs: 5, ctimeNs: 6}
	c.put(k1, st, plain)
	c.put(k2, st, rich)
	for _, tt := range []struct {
		k    fileKey
		want policy.Subject
	}{{k1, plain}, {k2, rich}} {
		got, ok := c.get(tt.k, st)
		want := tt.want
		want.Path, want.Args = "", nil // per exec, not cached
		if !ok || !cmp.Equal(got, want) {
			t.Errorf("get(%v) = %+v, %v; want %+v", tt.k, got, ok, want)
		}
	}
	if _, ok := c.get(k1, fileStamp{size: 10, mtimeNs: 5, ctimeNs: 7}); ok {
		t.Error("entry served with a changed ctime")
	}
	if !c.remove(k1) || c.remove(k1) {
		t.Error("remove did not report the entry once")
	}
	// Without SHA-1 (a policy with no SHA-1 criterion): cached, and served
	// with SHA1 empty; no SHA-1 array is allocated for it.
	noSHA1 := plain
	noSHA1.SHA1 = ""
	c2 := newFactCache(100)
	c2.put(k1, st, noSHA1)
	if got, ok := c2.get(k1, st); !ok || got.SHA1 != "" || got.SHA256 != plain.SHA256 {
		t.Errorf("get without SHA-1 = %+v, %v", got, ok)
	}
	if c2.chunks[0].sha1 != nil {
		t.Error("a SHA-1 array was allocated for entries without SHA-1")
	}
	// Upper-case or missing hashes are not cached (they could not round-trip).
	bad := plain
	bad.SHA256 = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"
	c.put(fileKey{2, 2}, st, bad)
	if _, ok := c.get(fileKey{2, 2}, st); ok {
		t.Error("subject with an upper-case hash was cached")
	}
	for i := 0; i < 100; i++ {
		c.put(fileKey{3, uint64(i)}, st, plain)
	}
	if c.len() > 100 {
		t.Errorf("cache holds %d entries, max 100", c.len())
	}
	if c.flushes["full"] == 0 {
		t.Error("a full cache was not flushed with reason full")
	}
}

// TestFactCacheModel runs random puts, gets, removes and flushes against a
// map and checks that the table agrees after every step: replacement,
// backward-shift deletion, the move of the last entry into a hole, table
// growth and the extras' free list.
func TestFactCacheModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	type val struct {
		st   fileStamp
		subj policy.Subject
	}
	subject := func(i int) policy.Subject {
		s1, s256 := sha1.Sum([]byte{byte(i), byte(i >> 8)}), sha256.Sum256([]byte{byte(i), byte(i >> 8)})
		s := policy.Subject{Type: policy.AppType(i % 7), SHA1: hex.EncodeToString(s1[:]), SHA256: hex.EncodeToString(s256[:])}
		if i%5 == 0 {
			s.BundleID, s.Source = fmt.Sprintf("com.example.%d", i), "https://example.com"
		}
		if i%3 == 0 {
			s.SHA1 = "" // hashed for a policy without SHA-1 criteria
		}
		return s
	}
	const max = 5000
	c := newFactCache(max)
	model := map[fileKey]val{}
	key := func() fileKey { return fileKey{dev: uint64(rng.IntN(3)), ino: uint64(rng.IntN(8000))} }
	for step := 0; step < 200_000; step++ {
		k := key()
		switch op := rng.IntN(10_000); {
		case op < 5_500:
			v := val{fileStamp{size: int64(rng.IntN(3))}, subject(rng.IntN(1000))}
			if _, ok := model[k]; !ok && len(model) >= max {
				clear(model)
			}
			c.put(k, v.st, v.subj)
			model[k] = v
		case op < 8_500:
			_, want := model[k]
			if got := c.remove(k); got != want {
				t.Fatalf("step %d: remove(%v) = %v, want %v", step, k, got, want)
			}
			delete(model, k)
		case op < 9_998:
			v, ok := model[k]
			got, hit := c.get(k, v.st)
			if hit != ok {
				t.Fatalf("step %d: get(%v) hit %v, want %v", step, k, hit, ok)
			}
			if ok && !cmp.Equal(got, v.subj) {
				t.Fatalf("step %d: get(%v) = %+v, want %+v", step, k, got, v.subj)
			}
			if ok {
				st := v.st
				st.size++
				if _, hit := c.get(k, st); hit {
					t.Fatalf("step %d: get(%v) served an entry for a changed size", step, k)
				}
			}
		default:
			c.flush("test")
			clear(model)
		}
		if c.flushes["full"] == 0 && step == 199_999 {
			t.Error("the cache never filled up")
		}
		if c.len() != len(model) {
			t.Fatalf("step %d: len %d, want %d", step, c.len(), len(model))
		}
	}
	for k, v := range model {
		if got, ok := c.get(k, v.st); !ok || !cmp.Equal(got, v.subj) {
			t.Fatalf("get(%v) = %+v, %v at the end; want %+v", k, got, ok, v.subj)
		}
	}
}

// BenchmarkFactCacheGet is a hit in a cache of 100,000 files, as on every
// exec of a file seen before.
func BenchmarkFactCacheGet(b *testing.B) {
	const n = 100_000
	c := newFactCache(n)
	s1, s256 := sha1.Sum(nil), sha256.Sum256(nil)
	subj := policy.Subject{Type: policy.Binary, SHA1: hex.EncodeToString(s1[:]), SHA256: hex.EncodeToString(s256[:])}
	st := fileStamp{size: 16, mtimeNs: 1, ctimeNs: 2}
	for i := range n {
		c.put(fileKey{dev: 42, ino: uint64(i)}, st, subj)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := c.get(fileKey{dev: 42, ino: uint64(i % n)}, st); !ok {
			b.Fatal("miss")
		}
		i += 7919
	}
}
