package bom

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestReadMkbomsSmallTree(t *testing.T) {
	got := mustRead(t, readTestdata(t, "mkbom-small.bom"))
	if diff := cmp.Diff(smallTree, got); diff != "" {
		t.Errorf("Read (-want +got):\n%s", diff)
	}
	// What bomutils' lsbom printed for the same file.
	for _, tc := range []struct{ params, listing string }{
		{"fm/scl0", "mkbom-small.lsbom"},
		{"fmugtscl", "mkbom-small.fmugtscl.lsbom"},
	} {
		if diff := cmp.Diff(string(readTestdata(t, tc.listing)), lsbomListing(got, tc.params)); diff != "" {
			t.Errorf("listing -p %s differs from %s (-lsbom +ours):\n%s", tc.params, tc.listing, diff)
		}
	}
}

func TestReadMkbomsManyPaths(t *testing.T) {
	want := parseListing(t, readTestdata(t, "mkbom-many.txt"))
	got := mustRead(t, readTestdata(t, "mkbom-many.bom"))
	// mkbom's input listing is sorted by path; its Bom is breadth-first.
	if diff := cmp.Diff(byPath(want), byPath(got)); diff != "" {
		t.Errorf("Read (-listing +got):\n%s", diff)
	}
}

// rawBom is a Bom taken apart into blocks (indexed by id; block 0 is null)
// and variables, for tests that change one field and for laying the same
// content out differently.
type rawBom struct {
	blocks [][]byte
	vars   []variable
}

func split(t testing.TB, b []byte) *rawBom {
	t.Helper()
	p := parser{buf: b}
	index, err := p.region("table", be.Uint32(b[16:]), be.Uint32(b[20:]))
	if err != nil {
		t.Fatal(err)
	}
	p.table, p.tableCount = index, be.Uint32(index)
	r := &rawBom{blocks: [][]byte{nil}}
	for id := uint32(1); id < p.tableCount; id++ {
		blk, err := p.block("block", id, 0)
		if err != nil {
			t.Fatal(err)
		}
		r.blocks = append(r.blocks, slices.Clone(blk))
	}
	vars := b[be.Uint32(b[24:]):]
	n := be.Uint32(vars)
	vars = vars[4:]
	for range n {
		l := int(vars[4])
		r.vars = append(r.vars, variable{string(vars[5 : 5+l]), be.Uint32(vars)})
		vars = vars[5+l:]
	}
	return r
}

// join lays r out as mkbom does.
func (r *rawBom) join() []byte {
	s := store{blocks: r.blocks, vars: r.vars}
	for _, b := range r.blocks {
		s.size += int64(len(b))
	}
	return s.bytes()
}

// appleLayout lays r out as Apple's tools have been seen to: the blocks in
// reverse order after the header, the variables after them with names whose
// length counts a NUL, and a block table with spare null slots and a free
// list in front of nothing.
func (r *rawBom) appleLayout() []byte {
	out := make([]byte, headerSize)
	addrs := make([]uint32, len(r.blocks))
	for id := len(r.blocks) - 1; id > 0; id-- {
		addrs[id] = uint32(len(out))
		out = append(out, r.blocks[id]...)
	}
	varsOff := len(out)
	out = be.AppendUint32(out, uint32(len(r.vars)))
	for _, v := range r.vars {
		out = be.AppendUint32(out, v.block)
		out = append(out, byte(len(v.name)+1))
		out = append(out, v.name...)
		out = append(out, 0)
	}
	varsLen := len(out) - varsOff
	indexOff := len(out)
	const spare = 37
	out = be.AppendUint32(out, uint32(len(r.blocks)+spare))
	for id, b := range r.blocks {
		out = be.AppendUint32(out, addrs[id])
		out = be.AppendUint32(out, uint32(len(b)))
	}
	out = append(out, make([]byte, 8*spare)...)
	out = be.AppendUint32(out, 2) // two free extents
	out = append(out, make([]byte, 16)...)
	copy(out, "BOMStore")
	be.PutUint32(out[8:], 1)
	be.PutUint32(out[12:], uint32(len(r.blocks)-1))
	be.PutUint32(out[16:], uint32(indexOff))
	be.PutUint32(out[20:], uint32(len(out)-indexOff))
	be.PutUint32(out[24:], uint32(varsOff))
	be.PutUint32(out[28:], uint32(varsLen))
	return out
}

// Block ids in testdata/mkbom-small.bom: 1 is BomInfo; path j (in
// smallTree's order) has its record at 2+3j, its path-info at 3+3j and its
// file block at 4+3j; then the leaf, the Paths tree, HLIndex's leaf and
// tree, VIndex's leaf, tree and header, Size64's leaf and tree.
func rec(j int) int  { return 2 + 3*j }
func info(j int) int { return 3 + 3*j }
func file(j int) int { return 4 + 3*j }

const (
	smallLeaf      = 26
	smallPathsTree = 27
	smallSize64    = 34
)

func smallRaw(t testing.TB) *rawBom {
	r := split(t, readTestdata(t, "mkbom-small.bom"))
	for j, e := range smallTree {
		if name := string(r.blocks[file(j)][4:]); name != e.Path[strings.LastIndexByte(e.Path, '/')+1:]+"\x00" {
			t.Fatalf("block %d is %q, not %s's name; the block ids above are stale", file(j), name, e.Path)
		}
	}
	return r
}

func setName(b *[]byte, name string) {
	*b = append((*b)[:4:4], name+"\x00"...)
}

func TestReadAcceptsOtherLayoutsAndRecordFlavours(t *testing.T) {
	for _, tc := range []struct {
		name   string
		bom    func(t *testing.T) []byte
		change func(want []Entry)
	}{
		{"mkbom's layout", func(t *testing.T) []byte { return smallRaw(t).join() }, nil},
		{"Apple's layout", func(t *testing.T) []byte { return smallRaw(t).appleLayout() }, nil},
		{"Apple's records", func(t *testing.T) []byte {
			// Flags 0x000f, eight zero bytes after each record, and for
			// the executable the Mach-O details: a 1 byte, one
			// architecture (cpu type, subtype, size, checksum).
			r := smallRaw(t)
			for j := range smallTree {
				b := r.blocks[rec(j)]
				be.PutUint16(b[2:], 0x000f)
				switch b[0] {
				case typeDir:
					b = b[:23]
				case typeFile:
					b = b[:27]
				}
				r.blocks[rec(j)] = append(b, make([]byte, 8)...)
			}
			exe := r.blocks[rec(3)][:27]
			be.PutUint16(exe[2:], 0x100f)
			exe = append(exe, 1, 0, 0, 0, 1)
			exe = be.AppendUint32(exe, 0x0100000c)
			exe = be.AppendUint32(exe, 0)
			exe = be.AppendUint32(exe, 25)
			exe = be.AppendUint32(exe, 1239825366)
			r.blocks[rec(3)] = append(exe, make([]byte, 8)...)
			return r.appleLayout()
		}, nil},
		{"a record whose type byte disagrees with its mode", func(t *testing.T) []byte {
			// Apple's Boms record AppleDouble "._" directories so.
			r := smallRaw(t)
			r.blocks[rec(1)][0] = typeFile
			return r.join()
		}, nil},
		{"a device", func(t *testing.T) []byte {
			r := smallRaw(t)
			r.blocks[rec(6)][0] = typeDevice
			be.PutUint16(r.blocks[rec(6)][4:], 0o20644)
			return r.join()
		}, func(want []Entry) { want[6].Mode, want[6].Checksum = 0o20644, 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := slices.Clone(smallTree)
			if tc.change != nil {
				tc.change(want)
			}
			if diff := cmp.Diff(want, mustRead(t, tc.bom(t))); diff != "" {
				t.Errorf("Read (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadRefusesMalformedBoms(t *testing.T) {
	small := readTestdata(t, "mkbom-small.bom")
	bytesWith := func(f func(b []byte) []byte) func(*testing.T) []byte {
		return func(*testing.T) []byte { return f(slices.Clone(small)) }
	}
	blocksWith := func(f func(r *rawBom)) func(*testing.T) []byte {
		return func(t *testing.T) []byte { r := smallRaw(t); f(r); return r.join() }
	}
	manyWith := func(f func(r *rawBom, branch uint32)) func(*testing.T) []byte {
		return func(t *testing.T) []byte {
			r := split(t, readTestdata(t, "mkbom-many.bom"))
			paths := r.vars[1]
			branch := be.Uint32(r.blocks[paths.block][8:])
			f(r, branch)
			return r.join()
		}
	}
	tableEntry := func(b []byte, id int) []byte { return b[be.Uint32(b[16:])+4+8*uint32(id):] }
	for _, tc := range []struct {
		name string
		bom  func(*testing.T) []byte
		want string
	}{
		{"shorter than the header", bytesWith(func(b []byte) []byte { return b[:100] }), "shorter than the 512-byte header"},
		{"no magic", bytesWith(func(b []byte) []byte { b[0] = 'X'; return b }), "not a Bom"},
		{"unknown version", bytesWith(func(b []byte) []byte { be.PutUint32(b[8:], 2); return b }), "version 2"},
		{"block table past the end", bytesWith(func(b []byte) []byte { be.PutUint32(b[16:], uint32(len(b))); return b }), "runs past"},
		{"block table overflowing uint32", bytesWith(func(b []byte) []byte { be.PutUint32(b[16:], math.MaxUint32); return b }), "runs past"},
		{"block table claiming more than it holds", bytesWith(func(b []byte) []byte { be.PutUint32(b[be.Uint32(b[16:]):], math.MaxUint32); return b }), "claims"},
		{"variables past the end", bytesWith(func(b []byte) []byte { be.PutUint32(b[28:], uint32(len(b))); return b }), "runs past"},
		{"more variables than fit", bytesWith(func(b []byte) []byte { be.PutUint32(b[512:], 1000); return b }), "cannot fit"},
		{"a block past the end", bytesWith(func(b []byte) []byte { be.PutUint32(tableEntry(b, smallLeaf), uint32(len(b)-4)); return b }), "runs past"},
		{"truncated", bytesWith(func(b []byte) []byte { return b[:len(b)-30] }), "runs past"},
		{"no Paths variable", blocksWith(func(r *rawBom) { r.vars[1].name = "Paxhs" }), "no Paths"},
		{"two Paths variables", blocksWith(func(r *rawBom) { r.vars[0].name = "Paths" }), "twice"},
		{"Paths in the null block", blocksWith(func(r *rawBom) { r.vars[1].block = 0 }), "null block"},
		{"Paths past the block table", blocksWith(func(r *rawBom) { r.vars[1].block = 1000 }), "past the block table"},
		{"Paths not a tree", blocksWith(func(r *rawBom) { copy(r.blocks[smallPathsTree], "eert") }), `"tree"`},
		{"tree header too short", blocksWith(func(r *rawBom) { r.blocks[smallPathsTree] = r.blocks[smallPathsTree][:20] }), "shorter than 21"},
		{"leaf claiming more than it holds", blocksWith(func(r *rawBom) { be.PutUint16(r.blocks[smallLeaf][2:], 300) }), "claims 300 entries"},
		{"leaf chain looping", blocksWith(func(r *rawBom) { be.PutUint32(r.blocks[smallLeaf][4:], smallLeaf) }), "loops"},
		{"leaf count disagreeing with the tree", blocksWith(func(r *rawBom) { be.PutUint32(r.blocks[smallPathsTree][16:], 7) }), "says 7 paths"},
		{"branch looping", manyWith(func(r *rawBom, branch uint32) { be.PutUint32(r.blocks[branch][12:], branch) }), "loops"},
		{"empty branch", manyWith(func(r *rawBom, branch uint32) { be.PutUint16(r.blocks[branch][2:], 0) }), "empty branch"},
		{"leaf chain reaching a branch", manyWith(func(r *rawBom, branch uint32) {
			// A copy of the branch: the branch itself was seen on the way down.
			r.blocks = append(r.blocks, slices.Clone(r.blocks[branch]))
			first := be.Uint32(r.blocks[branch][12:])
			be.PutUint32(r.blocks[first][4:], uint32(len(r.blocks)-1))
		}), "reaches branch"},
		{"parents looping", blocksWith(func(r *rawBom) { be.PutUint32(r.blocks[file(1)], 4) }), "loop"},
		{"parent not in the Bom", blocksWith(func(r *rawBom) { be.PutUint32(r.blocks[file(1)], 99) }), "not in the Bom"},
		{"path id twice", blocksWith(func(r *rawBom) { be.PutUint32(r.blocks[info(2)], 2) }), "id 2 appears twice"},
		{"path id 0", blocksWith(func(r *rawBom) { be.PutUint32(r.blocks[info(0)], 0) }), "path id 0"},
		{"name ..", blocksWith(func(r *rawBom) { setName(&r.blocks[file(1)], "..") }), `".."`},
		{"name with /", blocksWith(func(r *rawBom) { setName(&r.blocks[file(1)], "b/n") }), `"/"`},
		{"name not UTF-8", blocksWith(func(r *rawBom) { setName(&r.blocks[file(1)], "\xff\xfe") }), "UTF-8"},
		{"empty name", blocksWith(func(r *rawBom) { setName(&r.blocks[file(1)], "") }), "empty"},
		{"name without NUL", blocksWith(func(r *rawBom) { r.blocks[file(1)] = []byte{0, 0, 0, 1, 'b', 'i', 'n'} }), "not NUL-terminated"},
		{"name block too short", blocksWith(func(r *rawBom) { r.blocks[file(1)] = []byte{0, 0, 0, 1} }), "shorter than 5"},
		{"top level not .", blocksWith(func(r *rawBom) { setName(&r.blocks[file(0)], "x") }), `top-level path "x"`},
		{"two roots", blocksWith(func(r *rawBom) { be.PutUint32(r.blocks[file(1)], 0); setName(&r.blocks[file(1)], ".") }), `"." appears twice`},
		{"root not a directory", blocksWith(func(r *rawBom) { be.PutUint16(r.blocks[rec(0)][4:], 0o100644) }), "not a directory"},
		{"a path under a file", blocksWith(func(r *rawBom) { be.PutUint32(r.blocks[file(5)], 4) }), "not a directory"},
		{"a path twice", blocksWith(func(r *rawBom) { setName(&r.blocks[file(6)], "README") }), `"./share/README" appears twice`},
		{"path over the limit", blocksWith(func(r *rawBom) { setName(&r.blocks[file(1)], strings.Repeat("b", MaxPathLen-1)) }), "limit"},
		{"name over the limit", blocksWith(func(r *rawBom) { setName(&r.blocks[file(1)], strings.Repeat("b", MaxPathLen+1)) }), "limit"},
		{"unknown record type", blocksWith(func(r *rawBom) { r.blocks[rec(3)][0] = 9 }), "unknown record type 9"},
		{"record too short", blocksWith(func(r *rawBom) { r.blocks[rec(3)] = r.blocks[rec(3)][:20] }), "shorter than 23"},
		{"file record without checksum", blocksWith(func(r *rawBom) { r.blocks[rec(3)] = r.blocks[rec(3)][:25] }), "too short"},
		{"symlink record without target", blocksWith(func(r *rawBom) { r.blocks[rec(4)] = r.blocks[rec(4)][:29] }), "too short"},
		{"symlink target past its record", blocksWith(func(r *rawBom) { be.PutUint32(r.blocks[rec(4)][27:], 100) }), "runs past its record"},
		{"symlink target length 0", blocksWith(func(r *rawBom) { be.PutUint32(r.blocks[rec(4)][27:], 0) }), "target length of 0"},
		{"symlink target over the limit", blocksWith(func(r *rawBom) { be.PutUint32(r.blocks[rec(4)][27:], MaxLinkTargetLen+2) }), "target length"},
		{"symlink target without NUL", blocksWith(func(r *rawBom) { b := r.blocks[rec(4)]; b[len(b)-1] = 'x' }), "not NUL-terminated"},
		{"symlink target not UTF-8", blocksWith(func(r *rawBom) { r.blocks[rec(4)][recordSize] = 0xff }), "UTF-8"},
		{"files of 4 GiB or more", blocksWith(func(r *rawBom) { be.PutUint32(r.blocks[smallSize64][16:], 1) }), "Size64 lists 1"},
		{"Size64 not a tree", blocksWith(func(r *rawBom) { r.blocks[smallSize64][0] = 'x' }), `"tree"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.bom(t)
			entries, err := Read(bytes.NewReader(b), int64(len(b)))
			if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Read = %d entries, %v; want an ErrMalformed saying %q", len(entries), err, tc.want)
			}
		})
	}
}

func TestReadRefusesAnOversizedFileBeforeReadingIt(t *testing.T) {
	_, err := Read(bytes.NewReader(nil), MaxSize+1)
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "over the") {
		t.Errorf("Read = %v, want the size limit", err)
	}
}

func TestReadReportsAShortRead(t *testing.T) {
	b := readTestdata(t, "mkbom-small.bom")
	_, err := Read(bytes.NewReader(b), int64(len(b))+10)
	if err == nil || errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "read bom") {
		t.Errorf("Read = %v, want the reader's error", err)
	}
}
