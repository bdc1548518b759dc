package plist

// This file measures this package against howett.net/plist, the plist
// library the project uses for writing, on the same inputs:
//
//   - TestHostileInputsRejected (runs in every `go test`): each hostile
//     input is rejected by Parse with an error, within a memory bound.
//   - BenchmarkHostile: each hostile input decoded by each library in a
//     child process whose address space is capped and which is killed after
//     -hostile.timeout, so a decoder that panics, recurses without end,
//     allocates without bound or loops cannot hurt the machine. It logs the
//     outcome (error, value, panic, fatal runtime error, timeout), the
//     decoding time and the child's peak RSS, as the table in
//     docs/benchmarks.md.
//   - BenchmarkNormal: ns/op, B/op and allocs/op on a real-looking
//     Info.plist (XML and binary) and a kMDItemWhereFroms value.
//   - FuzzAgainstHowett: where both libraries accept an input, they decode
//     the same values (modulo the documented differences in agree).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	howett "howett.net/plist"
)

// ---- hostile inputs ----

// hostileCase is one hostile input, or a family of them (variants > 1)
// decoded one after the other.
type hostileCase struct {
	name string
	what string // what the input is, for the log
	// gen returns variant i of the input.
	gen      func(i int) []byte
	variants int
}

// chainBinary is n nested one-element arrays around true, with refSize-byte
// references: n levels of nesting in about 7n bytes.
func chainBinary(n int) []byte {
	refSize := bytesFor(uint64(n))
	objs := make([][]byte, n+1)
	for i := range n {
		objs[i] = appendUint([]byte{0xA1}, uint64(i+1), refSize)
	}
	objs[n] = []byte{0x09}
	return assemble(objs, 0, refSize)
}

// chainBinaryOfSize is the deepest chainBinary that fits in size bytes.
func chainBinaryOfSize(size int) []byte {
	n := size / 7
	for {
		b := chainBinary(n)
		if len(b) <= size {
			return b
		}
		n -= (len(b)-size)/7 + 1
	}
}

// fanoutBinary is levels arrays, each holding width references to the
// next, around the integer 1: width^levels leaves from a few KB.
func fanoutBinary(width, levels int) []byte {
	refSize := 1
	objs := make([][]byte, levels+1)
	for i := range levels {
		a := bpHeader(nil, 0xA, width)
		for range width {
			a = append(a, byte(i+1))
		}
		objs[i] = a
	}
	objs[levels] = []byte{0x10, 1}
	return assemble(objs, 0, refSize)
}

// extLen is an object marker with an 8-byte extended length n.
func extLen(marker byte, n uint64) []byte {
	return appendUint([]byte{marker, 0x13}, n, 8)
}

func hostileCases(tb testing.TB) []hostileCase {
	one := func(b []byte) func(int) []byte { return func(int) []byte { return b } }
	lazy := func(f func() []byte) func(int) []byte { return func(int) []byte { return f() } }
	info := encodeBinary(tb, infoPlistValue)
	small := encodeBinary(tb, whereFromsValue)
	return []hostileCase{
		// (a) deep nesting
		{name: "xml-array-100k-deep", what: "XML: <array> nested 100,000 deep (1.5 MB)", variants: 1,
			gen: lazy(func() []byte {
				return []byte("<plist>" + strings.Repeat("<array>", 100_000) + strings.Repeat("</array>", 100_000) + "</plist>")
			})},
		{name: "xml-array-4MiB-deep", what: "XML: <array> nested as deep as a 4 MiB Info.plist allows (280,000)", variants: 1,
			gen: lazy(func() []byte {
				n := (4<<20 - 20) / 15
				return []byte("<plist>" + strings.Repeat("<array>", n) + strings.Repeat("</array>", n) + "</plist>")
			})},
		{name: "openstep-paren-4MiB", what: "4 MiB of \"(\" (howett falls back to its OpenStep parser)", variants: 1,
			gen: lazy(func() []byte { return bytes.Repeat([]byte("("), 4<<20) })},
		{name: "bplist-chain-20k-deep", what: "binary: arrays nested 20,000 deep (100 KB)", variants: 1,
			gen: lazy(func() []byte { return chainBinary(20_000) })},
		{name: "bplist-chain-100k-deep", what: "binary: arrays nested 100,000 deep (700 KB)", variants: 1,
			gen: lazy(func() []byte { return chainBinary(100_000) })},
		{name: "bplist-chain-1MiB-deep", what: "binary: arrays nested as deep as 1 MiB (the xattr cap) allows (150,000)", variants: 1,
			gen: lazy(func() []byte { return chainBinaryOfSize(1 << 20) })},
		{name: "bplist-chain-4MiB-deep", what: "binary: arrays nested as deep as 4 MiB (the Info.plist cap) allows (600,000)", variants: 1,
			gen: lazy(func() []byte { return chainBinaryOfSize(4 << 20) })},

		// (b) shared references that amplify
		{name: "bplist-fanout-2x40", what: "binary: 40 levels of [x, x] (2^40 leaves, 203 bytes)", variants: 1,
			gen: one(fanoutBinary(2, 40))},
		{name: "bplist-fanout-1000x4", what: "binary: 4 levels of 1,000 refs to the next (10^12 leaves, 4 KB)", variants: 1,
			gen: one(fanoutBinary(1000, 4))},
		{name: "bplist-data-1MiB-x1000", what: "binary: one 1 MiB data object referenced 1,000 times", variants: 1,
			gen: lazy(func() []byte {
				arr := bpHeader(nil, 0xA, 1000)
				arr = append(arr, bytes.Repeat([]byte{1}, 1000)...)
				data := append(bpHeader(nil, 0x4, 1<<20), make([]byte, 1<<20)...)
				return assemble([][]byte{arr, data}, 0, 1)
			})},

		// (c) reference cycles
		{name: "bplist-self-cycle", what: "binary: an array that contains itself", variants: 1,
			gen: one(assemble([][]byte{{0xA1, 0}}, 0, 1))},
		{name: "bplist-indirect-cycle", what: "binary: A → B → C → A", variants: 1,
			gen: one(assemble([][]byte{{0xA1, 1}, {0xA1, 2}, {0xA2, 3, 0}, {0x09}}, 0, 1))},
		{name: "bplist-dict-cycle", what: "binary: a dict whose value is itself", variants: 1,
			gen: one(assemble([][]byte{{0xD1, 1, 0}, {0x51, 'k'}}, 0, 1))},

		// (d) huge declared counts and lengths in a short file
		{name: "bplist-array-2^40-refsize0", what: "binary: array of 2^40 elements, 0-byte references (51 bytes)", variants: 1,
			gen: one(assemble([][]byte{extLen(0xAF, 1<<40)}, 0, 0))},
		{name: "bplist-array-2^62-wraps", what: "binary: array of 2^62 elements × 4-byte refs (size wraps to 0)", variants: 1,
			gen: one(assemble([][]byte{extLen(0xAF, 1<<62)}, 0, 4))},
		{name: "bplist-dict-2^63-wraps", what: "binary: dict of 2^63 entries (2×count wraps to 0)", variants: 1,
			gen: one(assemble([][]byte{extLen(0xDF, 1<<63)}, 0, 1))},
		{name: "bplist-data-len-wraps", what: "binary: data of 2^64-1 bytes (end offset wraps)", variants: 1,
			gen: one(assemble([][]byte{extLen(0x4F, math.MaxUint64)}, 0, 1))},
		{name: "bplist-string-len-wraps", what: "binary: ASCII string of 2^64-1 bytes (end offset wraps)", variants: 1,
			gen: one(assemble([][]byte{extLen(0x5F, math.MaxUint64)}, 0, 1))},
		{name: "bplist-utf16-len-wraps", what: "binary: UTF-16 string of 2^63 units (2×length wraps to 0)", variants: 1,
			gen: one(assemble([][]byte{extLen(0x6F, 1<<63)}, 0, 1))},
		{name: "bplist-array-2^40", what: "binary: array of 2^40 elements, 1-byte refs", variants: 1,
			gen: one(assemble([][]byte{extLen(0xAF, 1<<40)}, 0, 1))},
		{name: "bplist-numobjects-2^62", what: "binary: trailer claims 2^62 objects", variants: 1,
			gen: one(setNumObjects(small, 1<<62))},

		// (e) truncated and garbage trailers and offset tables
		{name: "bplist-every-truncation", what: "binary Info.plist cut at every length (1 variant per length)",
			variants: len(info), gen: func(i int) []byte { return info[:i] }},
		{name: "xml-every-truncation", what: "XML Info.plist cut at every length up to its last \">\"",
			variants: len(infoPlistXML) - 1, gen: func(i int) []byte { return []byte(infoPlistXML[:i]) }},
		{name: "bplist-random-trailer", what: "binary Info.plist, trailer fields random (10,000 variants)",
			variants: 10_000, gen: func(i int) []byte { return randomTrailer(info, i) }},
		{name: "bplist-random-offsets", what: "binary Info.plist, offset table entries random (10,000 variants)",
			variants: 10_000, gen: func(i int) []byte { return randomOffsets(info, i) }},
		{name: "bplist-random-bytes", what: "binary Info.plist, 8 random bytes overwritten (10,000 variants)",
			variants: 10_000, gen: func(i int) []byte { return randomBytes(info, i) }},
		{name: "xml-billion-laughs", what: "XML: nested DTD entities (\"billion laughs\")", variants: 1,
			gen: one([]byte(`<?xml version="1.0"?>
<!DOCTYPE plist [
<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
<!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<plist><string>&d;</string></plist>`))},
	}
}

func randomTrailer(b []byte, i int) []byte {
	r := rand.New(rand.NewPCG(1, uint64(i)))
	b = clone(b)
	t := b[len(b)-32:]
	switch i % 4 {
	case 0: // everything random
		for j := range t {
			t[j] = byte(r.Uint32())
		}
	case 1: // small sizes, random counts and offsets
		t[6], t[7] = byte(r.IntN(10)), byte(r.IntN(10))
		binary.BigEndian.PutUint64(t[8:], r.Uint64()>>r.IntN(64))
		binary.BigEndian.PutUint64(t[16:], r.Uint64()>>r.IntN(64))
		binary.BigEndian.PutUint64(t[24:], r.Uint64()>>r.IntN(64))
	case 2: // one field set to an edge value
		edges := []uint64{0, 1, 2, 7, 8, 9, math.MaxInt64, 1 << 63, math.MaxUint64, uint64(len(b)), uint64(len(b) - 33)}
		f := 8 + 8*r.IntN(3)
		binary.BigEndian.PutUint64(t[f:], edges[r.IntN(len(edges))])
	case 3: // sizes only
		t[6], t[7] = byte(r.IntN(256)), byte(r.IntN(256))
	}
	return b
}

func randomOffsets(b []byte, i int) []byte {
	r := rand.New(rand.NewPCG(2, uint64(i)))
	b = clone(b)
	t := b[len(b)-32:]
	offSize := int(t[6])
	n := int(binary.BigEndian.Uint64(t[8:]))
	table := int(binary.BigEndian.Uint64(t[24:]))
	for range 1 + r.IntN(3) {
		e := table + offSize*r.IntN(n)
		v := uint64(8 + r.IntN(table-8)) // somewhere in the object area
		for j := offSize - 1; j >= 0; j-- {
			b[e+j] = byte(v)
			v >>= 8
		}
	}
	return b
}

func randomBytes(b []byte, i int) []byte {
	r := rand.New(rand.NewPCG(3, uint64(i)))
	b = clone(b)
	for range 8 {
		b[8+r.IntN(len(b)-8)] = byte(r.Uint32())
	}
	return b
}

// ---- decoders under comparison ----

// infoFields is what a caller decoding an Info.plist with howett would
// declare: a struct, so only these keys are converted.
type infoFields struct {
	CFBundleIdentifier         string `plist:"CFBundleIdentifier"`
	CFBundleShortVersionString string `plist:"CFBundleShortVersionString"`
	CFBundleVersion            string `plist:"CFBundleVersion"`
	CFBundleExecutable         string `plist:"CFBundleExecutable"`
}

type decoder struct {
	name   string
	decode func([]byte) (any, error)
}

var decoders = []decoder{
	{"internal/plist", Parse},
	{"howett→any", func(b []byte) (any, error) {
		var v any
		_, err := howett.Unmarshal(b, &v)
		return v, err
	}},
	{"howett→struct", func(b []byte) (any, error) {
		var v infoFields
		_, err := howett.Unmarshal(b, &v)
		return v, err
	}},
}

// tryDecode runs dec, turning a panic into a value: howett recovers the
// panics it raises itself but re-raises runtime errors (index out of
// range, makeslice).
func tryDecode(dec decoder, in []byte) (v any, err error, panicked any) {
	defer func() {
		if r := recover(); r != nil {
			panicked = r
		}
	}()
	v, err = dec.decode(in)
	return v, err, nil
}

// describe summarises a decoded value without walking it (an amplified
// value may be too large to walk, a corrupt string too dangerous to read).
func describe(v any) string {
	switch x := v.(type) {
	case string:
		return fmt.Sprintf("string of length %d", len(x))
	case []any:
		return fmt.Sprintf("array of %d", len(x))
	case map[string]any:
		return fmt.Sprintf("dict of %d", len(x))
	}
	return fmt.Sprintf("%T", v)
}

// ---- the child process ----

var hostileTimeout = flag.Duration("hostile.timeout", 5*time.Second, "how long BenchmarkHostile gives each child process")

const (
	hostileMemory = 4 << 30 // address space of the child
	childEnv      = "PLIST_HOSTILE_CHILD"
	childMarker   = "HOSTILE-RESULT "
)

type childResult struct {
	Outcome string  // "error", "value", "panic", or a summary for several variants
	Detail  string  // the first error, value or panic
	Ms      float64 // decoding time, all variants
	AllocMB float64 // bytes allocated while decoding
}

// TestHostileChild is the body of the child process BenchmarkHostile
// starts. In a normal test run it is the parent of one such child, on an
// input internal/plist must refuse, and checks what comes back: the
// benchmark's figures rest on this exchange.
func TestHostileChild(t *testing.T) {
	spec := os.Getenv(childEnv)
	if spec == "" {
		r, err := runChild(context.Background(), "bplist-self-cycle", "internal/plist")
		if err != nil {
			t.Fatal(err)
		}
		if r.outcome != "error" || !strings.HasPrefix(r.detail, "error: ") {
			t.Errorf("child on a self-referencing bplist: outcome %q, detail %q; want internal/plist's error", r.outcome, r.detail)
		}
		return
	}
	caseName, decName, _ := strings.Cut(spec, ",")
	// Where no limit can be set, BenchmarkHostile runs no child: only the
	// parent above does, with internal/plist, which bounds itself.
	if err := limitAddressSpace(hostileMemory); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("limit address space: %v", err)
	}
	var hc *hostileCase
	for _, c := range hostileCases(t) {
		if c.name == caseName {
			hc = &c
		}
	}
	var dec *decoder
	for _, d := range decoders {
		if d.name == decName {
			dec = &d
		}
	}
	if hc == nil || dec == nil {
		t.Fatalf("unknown case %q", spec)
	}
	inputs := make([][]byte, hc.variants)
	for i := range inputs {
		inputs[i] = hc.gen(i)
	}
	var res childResult
	counts := map[string]int{}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	alloc0 := ms.TotalAlloc
	start := time.Now()
	for _, in := range inputs {
		// Report the first detail before decoding the rest: if a later
		// variant kills the process, the parent still learns what it was.
		v, err, p := tryDecode(*dec, in)
		kind, detail := "value", describe(v)
		switch {
		case p != nil:
			kind, detail = "panic", fmt.Sprint(p)
		case err != nil:
			kind, detail = "error", err.Error()
		}
		if counts[kind] == 0 {
			fmt.Printf("%s%s: %s\n", childMarker+"#", kind, short(detail))
		}
		counts[kind]++
		if res.Detail == "" || kind == "panic" && !strings.HasPrefix(res.Detail, "panic") {
			res.Detail = kind + ": " + short(detail)
		}
	}
	res.Ms = float64(time.Since(start).Microseconds()) / 1000
	runtime.ReadMemStats(&ms)
	res.AllocMB = float64(ms.TotalAlloc-alloc0) / (1 << 20)
	if len(inputs) == 1 {
		for k := range counts {
			res.Outcome = k
		}
	} else {
		var parts []string
		for _, k := range []string{"error", "value", "panic"} {
			if counts[k] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
			}
		}
		res.Outcome = strings.Join(parts, ", ")
	}
	j, _ := json.Marshal(res)
	fmt.Printf("%s%s\n", childMarker, j)
}

// hostileRun is what the parent learns from one child.
type hostileRun struct {
	outcome string // error, value, panic, fatal: ..., timeout
	detail  string
	ms      float64
	peakMB  float64
	allocMB float64
}

func runChild(ctx context.Context, caseName, decName string) (hostileRun, error) {
	ctx, cancel := context.WithTimeout(ctx, *hostileTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHostileChild$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+caseName+","+decName, "GOTRACEBACK=single")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	runErr := cmd.Run()
	elapsed := time.Since(start)
	if cmd.ProcessState == nil {
		return hostileRun{}, fmt.Errorf("start child: %w", runErr)
	}
	r := hostileRun{peakMB: float64(peakRSS(cmd.ProcessState)) / (1 << 20)}
	var first string
	sc := bufio.NewScanner(&stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, childMarker+"#"); ok {
			if first == "" {
				first = rest
			}
		} else if rest, ok := strings.CutPrefix(line, childMarker); ok {
			var res childResult
			if err := json.Unmarshal([]byte(rest), &res); err != nil {
				return r, fmt.Errorf("child result %q: %w", rest, err)
			}
			r.outcome, r.detail, r.ms, r.allocMB = res.Outcome, res.Detail, res.Ms, res.AllocMB
			return r, nil
		}
	}
	// No result: the child died or was killed.
	r.ms = float64(elapsed.Microseconds()) / 1000
	r.detail = first
	errText := stderr.String()
	switch {
	case ctx.Err() != nil:
		r.outcome = fmt.Sprintf("timeout (killed after %v)", *hostileTimeout)
	case strings.Contains(errText, "stack overflow") || strings.Contains(errText, "stack exceeds"):
		r.outcome = "fatal: stack overflow"
	case strings.Contains(errText, "out of memory"):
		r.outcome = "fatal: out of memory"
	case strings.Contains(errText, "fatal error:"):
		line, _, _ := strings.Cut(errText[strings.Index(errText, "fatal error:"):], "\n")
		r.outcome = "fatal: " + line
	default:
		tail := errText
		if len(tail) > 400 {
			tail = tail[len(tail)-400:]
		}
		return r, fmt.Errorf("child died without a result (%v): %s", runErr, tail)
	}
	return r, nil
}

// BenchmarkHostile decodes each hostile input with each library in a capped
// child process. Run it once per case:
//
//	go test -run='^$' -bench=Hostile -benchtime=1x ./internal/plist/
//
// The metrics are the child's: decode-ms (time spent decoding), peak-MiB
// (the child's peak RSS, including the ~10 MiB of an idle test binary) and
// alloc-MiB (bytes allocated while decoding). ns/op is suppressed: it would
// be the time to start a process. The outcome is logged per run, and the
// whole table at the end. -hostile.timeout raises the time a child is
// given (5 s by default).
func BenchmarkHostile(b *testing.B) {
	if !canLimitAddressSpace {
		b.Skip("needs an address-space limit for the child process (Linux only)")
	}
	var table strings.Builder
	table.WriteString("\n| input | decoder | outcome | time | peak RSS |\n|---|---|---|---:|---:|\n")
	for _, hc := range hostileCases(b) {
		for _, dec := range decoders {
			b.Run(hc.name+"/"+dec.name, func(b *testing.B) {
				var r hostileRun
				var err error
				for b.Loop() {
					if r, err = runChild(b.Context(), hc.name, dec.name); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(0, "ns/op")
				b.ReportMetric(r.ms, "decode-ms")
				b.ReportMetric(r.peakMB, "peak-MiB")
				b.ReportMetric(r.allocMB, "alloc-MiB")
				b.Logf("%s: outcome %s; %s", hc.what, r.outcome, r.detail)
				fmt.Fprintf(&table, "| %s | %s | %s | %.1f ms | %.0f MiB |\n", hc.name, dec.name, r.outcome, r.ms, r.peakMB)
			})
		}
	}
	// Printed, not logged: a parent benchmark's log is dropped when its
	// sub-benchmarks pass.
	fmt.Print(table.String())
}

// TestHostileInputsRejected holds this package to its documented limits on
// every hostile input above: each is rejected with an error, never a
// panic, and decoding allocates a bounded amount.
func TestHostileInputsRejected(t *testing.T) {
	// 1<<20 objects of a few dozen bytes each, plus the 64 MiB data budget,
	// plus copies of the input: generous, but far below what the inputs
	// would expand to.
	const allocBound = 512 << 20
	mayDecode := map[string]bool{
		// Random corruption sometimes leaves a valid plist (a changed
		// string byte, an offset moved onto another valid object).
		"bplist-random-offsets": true,
		"bplist-random-bytes":   true,
		"bplist-random-trailer": true,
	}
	for _, hc := range hostileCases(t) {
		t.Run(hc.name, func(t *testing.T) {
			inputs := make([][]byte, hc.variants)
			for i := range inputs {
				inputs[i] = hc.gen(i)
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			alloc0 := ms.TotalAlloc
			for i, in := range inputs {
				v, err, p := tryDecode(decoders[0], in)
				if p != nil {
					t.Fatalf("variant %d: Parse panicked: %v", i, p)
				}
				if err == nil && !mayDecode[hc.name] {
					t.Fatalf("variant %d: Parse accepted a hostile input: %s", i, describe(v))
				}
			}
			runtime.ReadMemStats(&ms)
			if got := ms.TotalAlloc - alloc0; got > allocBound {
				t.Errorf("decoding allocated %d MiB, more than %d MiB", got>>20, allocBound>>20)
			}
		})
	}
}

// ---- normal inputs ----

func normalInputs(tb testing.TB) []struct {
	name string
	in   []byte
} {
	return []struct {
		name string
		in   []byte
	}{
		{"Info.plist-xml", []byte(infoPlistXML)},
		{"Info.plist-binary", encodeBinary(tb, infoPlistValue)},
		{"WhereFroms-binary", encodeBinary(tb, whereFromsValue)},
	}
}

// BenchmarkNormal compares the libraries on the inputs the callers read:
//
//	go test -run='^$' -bench=Normal -benchmem -count=6 ./internal/plist/ | benchstat -
//
// howett→struct decodes the Info.plists into infoFields and the WhereFroms
// value into []string, as a caller of howett would.
func BenchmarkNormal(b *testing.B) {
	for _, in := range normalInputs(b) {
		b.Run(in.name+"/internal/plist", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Parse(in.in); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(in.name+"/howett→any", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var v any
				if _, err := howett.Unmarshal(in.in, &v); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(in.name+"/howett→struct", func(b *testing.B) {
			b.ReportAllocs()
			var target func() any
			if strings.HasPrefix(in.name, "WhereFroms") {
				target = func() any { return new([]string) }
			} else {
				target = func() any { return new(infoFields) }
			}
			for b.Loop() {
				if _, err := howett.Unmarshal(in.in, target()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestNormalInputsAgree checks that the benchmarked decoders read the
// normal inputs alike, so BenchmarkNormal compares like with like.
func TestNormalInputsAgree(t *testing.T) {
	for _, in := range normalInputs(t) {
		ours, err := Parse(in.in)
		if err != nil {
			t.Fatalf("%s: Parse: %v", in.name, err)
		}
		var theirs any
		if _, err := howett.Unmarshal(in.in, &theirs); err != nil {
			t.Fatalf("%s: howett: %v", in.name, err)
		}
		if err := agree(ours, theirs); err != nil {
			t.Errorf("%s: %v", in.name, err)
		}
	}
}

// ---- differential fuzzing ----

// FuzzAgainstHowett decodes each input with both libraries and, where both
// accept it, requires the same values. howett is only run on inputs this
// package accepts: those are bounded (≤ 512 levels, ≤ 1<<20 objects after
// expansion), so howett cannot be driven into the unbounded cases
// BenchmarkHostile shows. Inputs only one library accepts are not failures:
// the libraries differ on purpose (see agree).
func FuzzAgainstHowett(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	for _, in := range normalInputs(f) {
		f.Add(in.in)
	}
	f.Add([]byte(wrapXML(`<dict><key>u</key><dict><key>CF$UID</key><integer>3</integer></dict><key>n</key><integer>-0x10</integer></dict>`)))
	f.Add(assemble([][]byte{{0xA3, 1, 2, 3}, {0x52, 'a', 0xE9}, appendUint([]byte{0x33}, math.Float64bits(-1.25), 8), {0x22, 0x3F, 0xC0, 0, 0}}, 0, 1))
	f.Fuzz(func(t *testing.T, in []byte) {
		ours, err := Parse(in)
		if err != nil {
			return
		}
		var theirs any
		_, herr, p := tryDecode(decoder{decode: func(b []byte) (any, error) {
			_, err := howett.Unmarshal(b, &theirs)
			return nil, err
		}}, in)
		if p != nil || herr != nil {
			return // howett rejects (or trips on) something this package accepts
		}
		if err := agree(ours, theirs); err != nil {
			t.Fatalf("the libraries disagree: %v\nours   %#v\nhowett %#v", err, ours, theirs)
		}
	})
}

// agree reports whether howett's value theirs is ours, allowing for the
// differences between the libraries that are by design:
//
//   - integers: ours are int64 (uint64 above MaxInt64), howett's uint64
//     unless negative; only the numeric value is compared.
//   - 4-byte binary reals: howett returns float32, ours float64.
//   - ASCII strings (values and dict keys) with bytes >= 0x80: ours decodes
//     them as Latin-1 so the result is valid UTF-8; howett returns the raw
//     bytes.
//   - dates: howett adds the 2001 epoch to the float64 seconds before
//     splitting them, so it loses precision ours keeps; dates may differ by
//     a few units in the last place of that sum.
//   - XML {CF$UID: n}: howett turns it into a UID, ours keeps the dict.
//   - nil and empty []byte are the same data.
func agree(ours, theirs any) error {
	switch o := ours.(type) {
	case map[string]any:
		if u, ok := theirs.(howett.UID); ok {
			if len(o) == 1 && o["CF$UID"] != nil {
				return agree(o["CF$UID"], uint64(u))
			}
			return fmt.Errorf("dict %v vs UID %d", o, u)
		}
		m, ok := theirs.(map[string]any)
		if !ok {
			return fmt.Errorf("dict vs %T", theirs)
		}
		if len(m) != len(o) {
			return fmt.Errorf("dict of %d vs %d", len(o), len(m))
		}
		// Keys are strings too: howett's raw bytes are ours in Latin-1.
		byOurs := make(map[string]any, len(m))
		for k, v := range m {
			byOurs[latin1([]byte(k))] = v
		}
		for k, v := range o {
			tv, ok := m[k]
			if !ok {
				tv, ok = byOurs[k]
			}
			if !ok {
				return fmt.Errorf("key %q missing", k)
			}
			if err := agree(v, tv); err != nil {
				return fmt.Errorf("key %q: %w", k, err)
			}
		}
		return nil
	case []any:
		a, ok := theirs.([]any)
		if !ok {
			return fmt.Errorf("array vs %T", theirs)
		}
		if len(a) != len(o) {
			return fmt.Errorf("array of %d vs %d", len(o), len(a))
		}
		for i := range o {
			if err := agree(o[i], a[i]); err != nil {
				return fmt.Errorf("[%d]: %w", i, err)
			}
		}
		return nil
	case int64, uint64:
		if intText(ours) != intText(theirs) {
			return fmt.Errorf("integer %v vs %v (%T)", ours, theirs, theirs)
		}
		return nil
	case float64:
		var f float64
		switch x := theirs.(type) {
		case float64:
			f = x
		case float32:
			f = float64(x)
		default:
			return fmt.Errorf("real vs %T", theirs)
		}
		if f != o && !(math.IsNaN(f) && math.IsNaN(o)) {
			return fmt.Errorf("real %v vs %v", o, f)
		}
		return nil
	case string:
		s, ok := theirs.(string)
		if !ok {
			return fmt.Errorf("string vs %T", theirs)
		}
		if s != o && latin1([]byte(s)) != o {
			return fmt.Errorf("string %q vs %q", o, s)
		}
		return nil
	case time.Time:
		tt, ok := theirs.(time.Time)
		if !ok {
			return fmt.Errorf("date vs %T", theirs)
		}
		// One unit in the last place of howett's float64 seconds since 1970.
		secs := math.Abs(float64(o.Unix())) + appleEpoch
		tol := time.Duration(2 * (math.Nextafter(secs, math.Inf(1)) - secs) * 1e9)
		if d := o.Sub(tt).Abs(); d > max(tol, time.Microsecond) {
			return fmt.Errorf("date %v vs %v (%v apart)", o, tt, d)
		}
		return nil
	case []byte:
		d, ok := theirs.([]byte)
		if !ok || !bytes.Equal(o, d) {
			return fmt.Errorf("data %x vs %#v", o, theirs)
		}
		return nil
	case UID:
		if u, ok := theirs.(howett.UID); !ok || uint64(u) != uint64(o) {
			return fmt.Errorf("UID %d vs %#v", o, theirs)
		}
		return nil
	case bool:
		if theirs != ours {
			return fmt.Errorf("%v vs %#v", o, theirs)
		}
		return nil
	}
	if !reflect.DeepEqual(ours, theirs) {
		return fmt.Errorf("%#v vs %#v", ours, theirs)
	}
	return nil
}

func intText(v any) string {
	switch v.(type) {
	case int64, uint64:
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("%T", v)
}
