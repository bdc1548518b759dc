package bom

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/ours-small.bom from Write")

// smallTree is the tree testdata/mkbom-small.bom was made from
// (testdata/README.md), in the Bom's order, with uid 0 and gid 80 as mkbom
// -u 0 -g 80 gave it. smallContent is its files' contents.
var smallTree = []Entry{
	{Path: ".", Mode: 0o40755, GID: 80, MTime: secs(1700000012)},
	{Path: "./bin", Mode: 0o40755, GID: 80, MTime: secs(1700000010)},
	{Path: "./share", Mode: 0o40755, GID: 80, MTime: secs(1700000011)},
	{Path: "./bin/gatehouse", Mode: 0o100755, GID: 80, MTime: secs(1700000000), Size: 25, Checksum: 1239825366},
	{Path: "./bin/gh", Mode: 0o120777, GID: 80, MTime: secs(1700000001), Size: 9, Checksum: 137291564, LinkTarget: "gatehouse"},
	{Path: "./share/README", Mode: 0o100644, GID: 80, MTime: secs(1700000002), Size: 24, Checksum: 1085374012},
	{Path: "./share/empty", Mode: 0o100600, GID: 80, MTime: secs(1700000003), Size: 0, Checksum: 4294967295},
	{Path: "./share/naïve.txt", Mode: 0o100644, GID: 80, MTime: secs(1700000004), Size: 6, Checksum: 2581856615},
}

var smallContent = map[string]string{
	"./bin/gatehouse":   "#!/bin/sh\necho gatehouse\n",
	"./share/README":    "Gatehouse test payload.\n",
	"./share/empty":     "",
	"./share/naïve.txt": "café\n",
}

func secs(s int64) time.Time { return time.Unix(s, 0).UTC() }

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustRead(t testing.TB, b []byte) []Entry {
	t.Helper()
	entries, err := Read(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return entries
}

func mustWrite(t testing.TB, entries []Entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, entries); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return buf.Bytes()
}

// lsbomListing prints entries as bomutils' lsbom prints a Bom with -p
// params (its default is "fm/scl0"): a tab goes before a field only if the
// field before it was printed; times and checksums are printed for files and
// symlinks, sizes for all but directories, targets for symlinks.
func lsbomListing(entries []Entry, params string) string {
	var b strings.Builder
	for _, e := range entries {
		typ := e.Mode & modeType
		printed := true
		for j, c := range params {
			if j > 0 && printed {
				b.WriteByte('\t')
			}
			printed = true
			switch {
			case c == 'f':
				b.WriteString(e.Path)
			case c == 'm':
				fmt.Fprintf(&b, "%o", e.Mode)
			case c == 'u':
				fmt.Fprint(&b, e.UID)
			case c == 'g':
				fmt.Fprint(&b, e.GID)
			case c == '/':
				fmt.Fprintf(&b, "%d/%d", e.UID, e.GID)
			case c == 't' && (typ == modeRegular || typ == modeSymlink):
				fmt.Fprint(&b, e.MTime.Unix())
			case c == 'c' && (typ == modeRegular || typ == modeSymlink):
				fmt.Fprint(&b, e.Checksum)
			case c == 's' && typ != modeDir:
				fmt.Fprint(&b, e.Size)
			case c == 'l' && typ == modeSymlink:
				b.WriteString(e.LinkTarget)
			default:
				printed = false
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// parseListing reads the text mkbom -i takes (and ls4mkbom prints): per
// line path, octal mode, uid/gid, mtime, then for files size and checksum,
// for symlinks size, checksum and target, separated by tabs.
func parseListing(t testing.TB, text []byte) []Entry {
	t.Helper()
	var entries []Entry
	sc := bufio.NewScanner(bytes.NewReader(text))
	num := func(s string, base int) uint64 {
		n, err := strconv.ParseUint(s, base, 32)
		if err != nil {
			t.Fatalf("listing: %v", err)
		}
		return n
	}
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) < 4 {
			t.Fatalf("listing line %q has %d fields", sc.Text(), len(f))
		}
		uid, gid, _ := strings.Cut(f[2], "/")
		e := Entry{
			Path:  f[0],
			Mode:  uint32(num(f[1], 8)),
			UID:   uint32(num(uid, 10)),
			GID:   uint32(num(gid, 10)),
			MTime: secs(int64(num(f[3], 10))),
		}
		if len(f) >= 6 {
			e.Size, e.Checksum = num(f[4], 10), uint32(num(f[5], 10))
		}
		if len(f) >= 7 {
			e.LinkTarget = f[6]
		}
		entries = append(entries, e)
	}
	return entries
}

// byPath returns entries sorted by path, for comparing sets whose order
// differs.
func byPath(entries []Entry) []Entry {
	s := slices.Clone(entries)
	slices.SortFunc(s, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	return s
}
