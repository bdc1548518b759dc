package bom

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWriteIsByteIdenticalToMkbom(t *testing.T) {
	for _, tc := range []struct {
		name    string
		entries func(t *testing.T) []Entry
		bom     string
	}{
		{"small tree", func(*testing.T) []Entry { return smallTree }, "mkbom-small.bom"},
		// 621 paths: three leaves under a branch node.
		{"many paths from a listing", func(t *testing.T) []Entry { return parseListing(t, readTestdata(t, "mkbom-many.txt")) }, "mkbom-many.bom"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mustWrite(t, tc.entries(t))
			if want := readTestdata(t, tc.bom); !bytes.Equal(got, want) {
				t.Errorf("Write's %d bytes differ from mkbom's %d (first difference at byte %d)", len(got), len(want), firstDiff(got, want))
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestWriteGolden holds Write's output for the small tree to
// testdata/ours-small.bom, so that a change of format is a deliberate
// `go test -update`, checked again with lsbom (testdata/README.md).
func TestWriteGolden(t *testing.T) {
	got := mustWrite(t, smallTree)
	golden := filepath.Join("testdata", "ours-small.bom")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if want := readTestdata(t, "ours-small.bom"); !bytes.Equal(got, want) {
		t.Errorf("Write's output differs from %s at byte %d; if the change is meant, run go test -update and check it with lsbom", golden, firstDiff(got, want))
	}
}

func TestWriteThenReadGivesTheEntriesBack(t *testing.T) {
	got := mustRead(t, mustWrite(t, smallTree))
	if diff := cmp.Diff(smallTree, got); diff != "" {
		t.Errorf("Read(Write(smallTree)) (-want +got):\n%s", diff)
	}
}

func TestWriteAcceptsEntriesInAnyOrder(t *testing.T) {
	want := mustWrite(t, smallTree)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20 {
		shuffled := slices.Clone(smallTree)
		r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if got := mustWrite(t, shuffled); !bytes.Equal(got, want) {
			t.Fatalf("shuffle %d: output differs at byte %d", i, firstDiff(got, want))
		}
	}
}

func TestWriteDropsFractionsOfSecondsAndZones(t *testing.T) {
	entries := slices.Clone(smallTree)
	zone := time.FixedZone("UTC+5", 5*3600)
	for i := range entries {
		entries[i].MTime = entries[i].MTime.In(zone).Add(999 * time.Millisecond)
	}
	if got, want := mustWrite(t, entries), mustWrite(t, smallTree); !bytes.Equal(got, want) {
		t.Errorf("output differs at byte %d", firstDiff(got, want))
	}
}

func TestWriteHandlesManyLeaves(t *testing.T) {
	// 70,000 paths: 274 leaves under one branch node, as mkbom lays them.
	entries := []Entry{{Path: ".", Mode: 0o40755, MTime: secs(0)}}
	for d := range 70 {
		dir := fmt.Sprintf("./d%02d", d)
		entries = append(entries, Entry{Path: dir, Mode: 0o40755, MTime: secs(1)})
		for f := range 999 {
			entries = append(entries, Entry{Path: fmt.Sprintf("%s/f%03d", dir, f), Mode: 0o100644, MTime: secs(2), Size: uint64(f), Checksum: uint32(d*1000 + f)})
		}
	}
	got := mustRead(t, mustWrite(t, entries))
	if diff := cmp.Diff(byPath(entries), byPath(got)); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestWriteRefusesWhatTheFormatCannotCarry(t *testing.T) {
	root := Entry{Path: ".", Mode: 0o40755, MTime: secs(1)}
	file := func(p string) Entry { return Entry{Path: p, Mode: 0o100644, MTime: secs(1)} }
	with := func(e Entry, f func(*Entry)) Entry { f(&e); return e }
	for _, tc := range []struct {
		name    string
		entries []Entry
		want    string
	}{
		{"no entries", nil, "no entries"},
		{"no root", []Entry{file("./a")}, `no "." entry`},
		{"root is a file", []Entry{file(".")}, "root must be a directory"},
		{"path without ./", []Entry{root, file("a")}, `start with "./"`},
		{"absolute path", []Entry{root, file("/a")}, `start with "./"`},
		{"dot-dot component", []Entry{root, file("./..")}, `".."`},
		{"dot-dot deeper", []Entry{root, {Path: "./a", Mode: 0o40755, MTime: secs(1)}, file("./a/../b")}, `".."`},
		{"dot component", []Entry{root, file("./.")}, `"."`},
		{"trailing slash", []Entry{root, file("./a/")}, "empty component"},
		{"doubled slash", []Entry{root, file(".//a")}, "empty component"},
		{"NUL in name", []Entry{root, file("./a\x00b")}, "NUL"},
		{"non-UTF-8 name", []Entry{root, file("./a\xffb")}, "UTF-8"},
		{"path too long", []Entry{root, file("./" + strings.Repeat("a", MaxPathLen-1))}, "limit"},
		{"duplicate path", []Entry{root, file("./a"), file("./a")}, "listed twice"},
		{"missing parent", []Entry{root, file("./a/b")}, `parent "./a" is not among the entries`},
		{"parent is a file", []Entry{root, file("./a"), file("./a/b")}, "not a directory"},
		{"fifo", []Entry{root, with(file("./p"), func(e *Entry) { e.Mode = 0o10644 })}, "not a directory, regular file or symlink"},
		{"device", []Entry{root, with(file("./d"), func(e *Entry) { e.Mode = 0o20644 })}, "not a directory, regular file or symlink"},
		{"mode above 16 bits", []Entry{root, with(file("./a"), func(e *Entry) { e.Mode |= 1 << 16 })}, "16"},
		{"symlink without target", []Entry{root, with(file("./l"), func(e *Entry) { e.Mode = 0o120777 })}, "no target"},
		{"target on a file", []Entry{root, with(file("./a"), func(e *Entry) { e.LinkTarget = "b" })}, "only a symlink"},
		{"target with NUL", []Entry{root, {Path: "./l", Mode: 0o120777, MTime: secs(1), LinkTarget: "a\x00"}}, "NUL"},
		{"target not UTF-8", []Entry{root, {Path: "./l", Mode: 0o120777, MTime: secs(1), LinkTarget: "\xff"}}, "UTF-8"},
		{"target too long", []Entry{root, {Path: "./l", Mode: 0o120777, MTime: secs(1), LinkTarget: strings.Repeat("a", MaxLinkTargetLen+1)}}, "limit"},
		{"checksum on a directory", []Entry{with(root, func(e *Entry) { e.Checksum = 1 })}, "no checksum"},
		{"4 GiB file", []Entry{root, with(file("./a"), func(e *Entry) { e.Size = math.MaxUint32 + 1 })}, "4 GiB"},
		{"zero mtime", []Entry{root, with(file("./a"), func(e *Entry) { e.MTime = time.Time{} })}, "mtime"},
		{"mtime before 1970", []Entry{root, with(file("./a"), func(e *Entry) { e.MTime = secs(-1) })}, "mtime"},
		{"mtime after 2106", []Entry{root, with(file("./a"), func(e *Entry) { e.MTime = secs(math.MaxUint32 + 1) })}, "mtime"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Write(&bytes.Buffer{}, tc.entries)
			if !errors.Is(err, ErrInvalidEntry) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Write = %v, want an ErrInvalidEntry saying %q", err, tc.want)
			}
		})
	}
}

func TestWriteRefusesTooManyEntries(t *testing.T) {
	entries := make([]Entry, MaxEntries+1)
	err := Write(&bytes.Buffer{}, entries)
	if !errors.Is(err, ErrInvalidEntry) || !strings.Contains(err.Error(), "over the limit") {
		t.Errorf("Write = %v, want the entry limit", err)
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteReportsTheWritersError(t *testing.T) {
	err := Write(failingWriter{}, smallTree)
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Write = %v, want the writer's error", err)
	}
}

func BenchmarkWrite(b *testing.B) {
	entries := benchEntries()
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(&bytes.Buffer{}, entries); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	data := mustWrite(b, benchEntries())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Read(bytes.NewReader(data), int64(len(data))); err != nil {
			b.Fatal(err)
		}
	}
}

// benchEntries is a payload of 10,101 paths: 100 directories of 100 files.
func benchEntries() []Entry {
	entries := []Entry{{Path: ".", Mode: 0o40755, MTime: secs(1)}}
	for d := range 100 {
		dir := fmt.Sprintf("./Applications/Gatehouse.app/Contents/Resources/d%03d", d)
		if d == 0 {
			for _, p := range []string{"./Applications", "./Applications/Gatehouse.app", "./Applications/Gatehouse.app/Contents", "./Applications/Gatehouse.app/Contents/Resources"} {
				entries = append(entries, Entry{Path: p, Mode: 0o40755, MTime: secs(1)})
			}
		}
		entries = append(entries, Entry{Path: dir, Mode: 0o40755, MTime: secs(1)})
		for f := range 100 {
			entries = append(entries, Entry{Path: fmt.Sprintf("%s/file-%03d.txt", dir, f), Mode: 0o100644, MTime: secs(1), Size: 1000, Checksum: 7})
		}
	}
	return entries
}
