package enforcer

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"runtime"
	"runtime/pprof"
	"strconv"
	"testing"

	"github.com/gatehouse/gatehouse/policy"
	"github.com/gatehouse/gatehouse/policy/policyfile"
)

// What gatehoused's memory is made of, in the two parts that grow: the
// fact cache (per entry) and the compiled policy. scripts/bench-exec
// measures the whole daemon (VmRSS); these say where the bytes go. Figures
// are in docs/benchmarks.md.

// heapAfterGC returns the live heap after two collections (the second
// finishes what the first's finalizers and sweeping left).
func heapAfterGC() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// writeHeapProfile writes a heap profile to the file named by $env, if
// set, while what the benchmark measures is still live (go test
// -memprofile writes its profile after the benchmark, when it is garbage).
// Read it with go tool pprof -sample_index=inuse_space.
func writeHeapProfile(b *testing.B, env string) {
	path := os.Getenv(env)
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkFactCache100k fills a cache with 100,000 distinct files, as
// gatehoused does after 100,000 first execs, and reports the live bytes
// per entry (map slot, its share of empty slots, and nothing else: plain
// binaries have no extra facts).
func BenchmarkFactCache100k(b *testing.B) {
	const n = 100_000
	subjects := make([]policy.Subject, n)
	for i := range subjects {
		data := []byte("gh-bench" + strconv.Itoa(i))
		s1, s256 := sha1.Sum(data), sha256.Sum256(data)
		subjects[i] = policy.Subject{Type: policy.TypeUnknown, SHA1: hex.EncodeToString(s1[:]), SHA256: hex.EncodeToString(s256[:])}
	}
	b.ReportAllocs()
	var perEntry float64
	for b.Loop() {
		before := heapAfterGC()
		c := newFactCache(n + 1)
		for i := range subjects {
			c.put(fileKey{dev: 42, ino: uint64(i) + 1000}, fileStamp{size: 16, mtimeNs: int64(i), ctimeNs: int64(i)}, subjects[i])
		}
		after := heapAfterGC()
		if c.len() != n {
			b.Fatalf("cache holds %d entries, want %d", c.len(), n)
		}
		perEntry = float64(after-before) / n
		writeHeapProfile(b, "GATEHOUSE_BENCH_CACHE_HEAP")
		runtime.KeepAlive(c)
	}
	b.ReportMetric(perEntry, "B/entry")
	b.ReportMetric(perEntry*n/1e6, "MB/100k")
}

// BenchmarkPolicyLoad compiles the policy file named by
// $GATEHOUSE_BENCH_POLICY as gatehoused loads it, and reports the live heap
// the compiled policy keeps and the bytes allocated while loading (garbage
// that, until the Go runtime returns it, is resident). scripts/bench-exec
// -keep leaves its generated policy-10000.yaml in its work directory.
func BenchmarkPolicyLoad(b *testing.B) {
	path := os.Getenv("GATEHOUSE_BENCH_POLICY")
	if path == "" {
		b.Skip("set GATEHOUSE_BENCH_POLICY to a policy file (scripts/bench-exec -keep leaves policy-10000.yaml in its work directory)")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	var live, allocated uint64
	var defs int
	for b.Loop() {
		before := heapAfterGC()
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		eng, _, diags := policyfile.Compile(path, data)
		runtime.ReadMemStats(&ms1)
		if diags.HasErrors() {
			b.Fatalf("%s: %v", path, diags.Err())
		}
		live = heapAfterGC() - before
		allocated = ms1.TotalAlloc - ms0.TotalAlloc
		defs = eng.Stats().Entries
		writeHeapProfile(b, "GATEHOUSE_BENCH_POLICY_HEAP")
		runtime.KeepAlive(eng)
	}
	b.ReportMetric(float64(live)/1e6, "MB-live")
	b.ReportMetric(float64(allocated)/1e6, "MB-allocated")
	b.ReportMetric(float64(live)/float64(defs), "B-live/definition")
}
