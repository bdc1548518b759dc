package codesign

import (
	"bytes"
	"testing"
)

// BenchmarkFile verifies a signed ~2.5 MB darwin/arm64 binary. Page hashing
// dominates unless the kernel's cdhash is given; the CMS and chain
// verification is what the cache saves.
func BenchmarkFile(b *testing.B) {
	data := testSigned(b).arm64A
	pool := testCertificates(b).pool
	cdhash := independentCDHash(b, data)
	r := bytes.NewReader(data)
	run := func(b *testing.B, v func() *Verifier, kernel *[20]byte) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		for b.Loop() {
			got, err := v().File(r, int64(len(data)), kernel)
			if err != nil || got.Status != Signed {
				b.Fatalf("File = %v, %v (%s)", got.Status, err, got.Reason)
			}
		}
	}
	shared := NewVerifier(pool)
	b.Run("pages, cache hit", func(b *testing.B) {
		run(b, func() *Verifier { return shared }, nil)
	})
	b.Run("pages, cache miss", func(b *testing.B) {
		run(b, func() *Verifier { clear(shared.cache); return shared }, nil)
	})
	b.Run("kernel cdhash, cache hit", func(b *testing.B) {
		run(b, func() *Verifier { return shared }, &cdhash)
	})
	b.Run("kernel cdhash, cache miss", func(b *testing.B) {
		run(b, func() *Verifier { clear(shared.cache); return shared }, &cdhash)
	})
}
