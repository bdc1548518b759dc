package enforcer

import (
	"testing"

	"github.com/gatehouse/gatehouse/policy"
	"github.com/google/go-cmp/cmp"
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
