package bom

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// FuzzRead feeds Read arbitrary bytes: it must return entries or an
// ErrMalformed, never panic or hang; what it returns must carry valid paths,
// and if Write takes them, Read must give them back from Write's output.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"mkbom-small.bom", "mkbom-many.bom", "ours-small.bom"} {
		f.Add(readTestdata(f, name))
	}
	f.Add(smallRaw(f).appleLayout())
	f.Add([]byte("BOMStore"))
	f.Fuzz(func(t *testing.T, data []byte) {
		entries, err := Read(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Read error %v is not an ErrMalformed", err)
			}
			return
		}
		if len(entries) == 0 || len(entries) > MaxEntries {
			t.Fatalf("Read returned %d entries", len(entries))
		}
		for _, e := range entries {
			if why := checkPath(e.Path); why != "" {
				t.Fatalf("Read returned path %q, which %s", e.Path, why)
			}
		}
		var buf bytes.Buffer
		if err := Write(&buf, entries); err != nil {
			if !errors.Is(err, ErrInvalidEntry) {
				t.Fatalf("Write error %v is not an ErrInvalidEntry", err)
			}
			return // a foreign Bom may hold what Write refuses (devices, say)
		}
		again, err := Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatalf("Read(Write(Read(data))): %v", err)
		}
		if diff := cmp.Diff(byPath(entries), byPath(again)); diff != "" {
			t.Fatalf("Read(Write(entries)) (-entries +again):\n%s", diff)
		}
	})
}

// FuzzRoundTrip writes generated trees and reads them back. The generator
// knows whether it broke the tree on purpose (a NUL, a "..", a non-UTF-8
// name, a duplicate, a missing parent and the like): Write must refuse
// exactly those, and give back exactly the others, in any input order.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x05\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"))
	for b := range 20 {
		f.Add(bytes.Repeat([]byte{byte(b), 7, 200, 3, 1}, 30))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g := &gen{data: data}
		entries, broken := g.tree()
		var buf bytes.Buffer
		err := Write(&buf, entries)
		if broken != "" {
			if err == nil {
				t.Fatalf("Write took entries with %s:\n%+v", broken, entries)
			}
			if !errors.Is(err, ErrInvalidEntry) {
				t.Fatalf("Write error %v is not an ErrInvalidEntry", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Write refused a valid tree: %v\n%+v", err, entries)
		}
		got, err := Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatalf("Read(Write(entries)): %v", err)
		}
		want := make([]Entry, len(entries))
		for i, e := range entries {
			e.MTime = time.Unix(e.MTime.Unix(), 0).UTC()
			want[i] = e
		}
		if diff := cmp.Diff(byPath(want), byPath(got)); diff != "" {
			t.Fatalf("Read(Write(entries)) (-want +got):\n%s", diff)
		}
		// Write is a function of the set of entries, not of their order.
		if again := mustWrite(t, got); !bytes.Equal(again, buf.Bytes()) {
			t.Fatalf("writing the entries in Read's order gave other bytes")
		}
	})
}

// gen turns fuzz bytes into a tree of entries, reading zeros past the end.
type gen struct {
	data []byte
}

func (g *gen) byte() byte {
	if len(g.data) == 0 {
		return 0
	}
	b := g.data[0]
	g.data = g.data[1:]
	return b
}

func (g *gen) u32() uint32 {
	return uint32(g.byte())<<24 | uint32(g.byte())<<16 | uint32(g.byte())<<8 | uint32(g.byte())
}

func (g *gen) intn(n int) int { return int(g.byte()) % n }

// nameRunes mixes cases (byte order puts "Z" before "a"), a space, a dot
// and multibyte UTF-8.
var nameRunes = []rune("aZ0 ._-éï€")

func (g *gen) name() string {
	var b strings.Builder
	for range 1 + g.intn(12) {
		b.WriteRune(nameRunes[g.intn(len(nameRunes))])
	}
	if s := b.String(); s != "." && s != ".." {
		return s
	}
	return "x"
}

func (g *gen) mtime() time.Time {
	t := time.Unix(int64(g.u32()), int64(g.intn(4))*250_000_000)
	if g.intn(2) == 0 {
		return t.In(time.FixedZone("test", -7*3600))
	}
	return t.UTC()
}

// tree returns entries and, if it broke them on purpose, how.
func (g *gen) tree() ([]Entry, string) {
	entries := []Entry{{Path: ".", Mode: modeDir | g.u32()&0o7777, UID: g.u32(), GID: g.u32(), MTime: g.mtime()}}
	dirs := []string{"."}
	paths := map[string]bool{".": true}
	for range g.intn(48) {
		parent := dirs[g.intn(len(dirs))]
		p := parent + "/" + g.name()
		if paths[p] || len(p) > MaxPathLen {
			continue
		}
		paths[p] = true
		e := Entry{Path: p, Mode: g.u32() & 0o7777, UID: g.u32(), GID: g.u32(), MTime: g.mtime()}
		switch g.intn(3) {
		case 0:
			e.Mode |= modeDir
			if g.intn(4) == 0 {
				e.Size = uint64(g.u32())
			}
			dirs = append(dirs, p)
		case 1:
			e.Mode |= modeRegular
			e.Size, e.Checksum = uint64(g.u32()), g.u32()
		case 2:
			e.Mode |= modeSymlink
			e.LinkTarget = g.name()
			for range g.intn(3) {
				e.LinkTarget = "../" + e.LinkTarget
			}
			e.Size, e.Checksum = uint64(len(e.LinkTarget)), cksumString(e.LinkTarget)
		}
		entries = append(entries, e)
	}
	broken := g.breakTree(&entries, dirs)
	for i := len(entries) - 1; i > 0; i-- { // shuffle
		j := g.intn(i + 1)
		entries[i], entries[j] = entries[j], entries[i]
	}
	return entries, broken
}

// breakTree breaks entries in one way the writer must refuse, or in none
// (most of the time), and says how.
func (g *gen) breakTree(entries *[]Entry, dirs []string) string {
	es := *entries
	way := g.intn(32)
	if way < 16 {
		return ""
	}
	if len(es) == 1 {
		es = append(es, Entry{Path: "./f", Mode: 0o100644, MTime: time.Unix(1, 0)})
	}
	victim := &es[1+g.intn(len(es)-1)]
	// The last component can be changed without orphaning anything only
	// if the victim has no children, so those breaks append a new entry.
	child := func(name string) Entry {
		return Entry{Path: dirs[g.intn(len(dirs))] + "/" + name, Mode: 0o100644, MTime: time.Unix(1, 0)}
	}
	var why string
	switch way {
	case 16:
		es, why = append(es, child("a\x00b")), "a NUL in a name"
	case 17:
		es, why = append(es, child("..")), `a ".." component`
	case 18:
		es, why = append(es, child("a\xff")), "a non-UTF-8 name"
	case 19:
		es, why = append(es, *victim), "a duplicate path"
	case 20:
		es, why = append(es, child("nodir/x")), "a missing parent"
	case 21:
		victim.Mode = modeRegular | victim.Mode&0o7777
		victim.LinkTarget = ""
		if victim.Size == 0 {
			victim.Size = 1
		}
		victim.Size += math.MaxUint32
		why = "a size of 4 GiB or more"
	case 22:
		victim.Mode = 0o010000 | victim.Mode&0o7777
		why = "a fifo"
	case 23:
		victim.MTime = time.Unix(-1-int64(g.u32()), 0)
		why = "an mtime before 1970"
	case 24:
		es[0] = es[len(es)-1]
		es = es[:len(es)-1]
		why = "no root"
	case 25:
		l := child("l") // no generated name has an "l"
		l.Mode = 0o120777
		es, why = append(es, l), "a symlink without target"
	case 26:
		victim.Mode, victim.LinkTarget, victim.Checksum = modeDir|victim.Mode&0o7777, "", 1
		why = "a checksum on a directory"
	case 27:
		es, why = append(es, child(strings.Repeat("n", MaxPathLen))), "a path over the limit"
	case 28:
		es, why = append(es, Entry{Path: strings.TrimPrefix(victim.Path, "./"), Mode: 0o100644, MTime: time.Unix(1, 0)}), `a path without "./"`
	case 29:
		es, why = append(es, child("x/")), "a trailing slash"
	case 30:
		victim.Mode |= 1 << 16
		why = "a mode above 16 bits"
	default:
		es[0].Mode = modeRegular | es[0].Mode&0o7777
		why = "a root that is a file"
	}
	*entries = es
	return why
}
