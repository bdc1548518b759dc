package bom

import (
	"bytes"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// Read parses the Bom of size bytes in r and returns its paths in the order
// the Bom stores them, which is the order lsbom prints (for Boms from Write
// and mkbom: breadth-first, each directory's children by name).
//
// The file is untrusted: Read checks every offset and length against it,
// refuses trees whose nodes or parent links loop, names that are empty,
// ".", "..", hold "/" or are not UTF-8, paths that repeat or whose parent is
// missing or no directory, a top level other than one "." directory, more
// than MaxEntries paths, paths over MaxPathLen, targets over
// MaxLinkTargetLen, files over MaxSize, and a Size64 tree that lists files
// (their true sizes are in a structure this reader does not read, and
// reporting their 32-bit remainder would be wrong). Such errors wrap
// ErrMalformed.
//
// Fields come back as recorded: Mode as stored (Apple's Boms hold records
// whose type byte and mode disagree, such as AppleDouble "._" entries
// recorded as files with a directory's mode), Checksum from file and
// symlink records, LinkTarget from symlink records, MTime in UTC.
func Read(r io.ReaderAt, size int64) ([]Entry, error) {
	if size < headerSize {
		return nil, malformed("%d bytes, shorter than the %d-byte header", size, headerSize)
	}
	if size > MaxSize {
		return nil, malformed("%d bytes, over the %d-byte limit", size, MaxSize)
	}
	buf := make([]byte, size)
	if n, err := r.ReadAt(buf, 0); n < len(buf) {
		if err == nil {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("read bom: %w", err)
	}
	p := parser{buf: buf}
	return p.parse()
}

type parser struct {
	buf []byte
	// table is the block table: a count, then (address, length) pairs.
	table      []byte
	tableCount uint32
}

// region returns buf[off:off+n] or an error naming what was out of bounds.
func (p *parser) region(what string, off, n uint32) ([]byte, error) {
	end := uint64(off) + uint64(n)
	if end > uint64(len(p.buf)) {
		return nil, malformed("%s at %d+%d runs past the file's %d bytes", what, off, n, len(p.buf))
	}
	return p.buf[off:end:end], nil
}

// block returns block id's bytes, requiring at least min of them.
func (p *parser) block(what string, id uint32, min int) ([]byte, error) {
	if id == 0 {
		return nil, malformed("%s is the null block", what)
	}
	if id >= p.tableCount {
		return nil, malformed("%s is block %d, past the block table's %d entries", what, id, p.tableCount)
	}
	e := p.table[4+8*uint64(id):]
	b, err := p.region(what, be.Uint32(e), be.Uint32(e[4:]))
	if err != nil {
		return nil, err
	}
	if len(b) < min {
		return nil, malformed("%s (block %d) is %d bytes, shorter than %d", what, id, len(b), min)
	}
	return b, nil
}

// treeNode is a node of a Bom tree: a leaf lists (key, value) block pairs;
// a branch lists (child node, the child's last value).
type treeNode struct {
	leaf     bool
	forward  uint32
	pairs    []byte
	numPairs int
}

func (n *treeNode) pair(i int) (uint32, uint32) {
	return be.Uint32(n.pairs[8*i:]), be.Uint32(n.pairs[8*i+4:])
}

func (p *parser) node(id uint32) (*treeNode, error) {
	b, err := p.block("tree node", id, nodeHeaderSize)
	if err != nil {
		return nil, err
	}
	n := &treeNode{
		leaf:     be.Uint16(b) != 0,
		numPairs: int(be.Uint16(b[2:])),
		forward:  be.Uint32(b[4:]),
	}
	if len(b) < nodeHeaderSize+8*n.numPairs {
		return nil, malformed("tree node (block %d) claims %d entries in %d bytes", id, n.numPairs, len(b))
	}
	n.pairs = b[nodeHeaderSize:]
	return n, nil
}

// tree parses the tree header in block id and returns its root node's block
// and entry count.
func (p *parser) tree(what string, id uint32) (root, count uint32, err error) {
	b, err := p.block(what, id, treeSize)
	if err != nil {
		return 0, 0, err
	}
	if string(b[:4]) != "tree" {
		return 0, 0, malformed("%s (block %d) does not start with \"tree\"", what, id)
	}
	if v := be.Uint32(b[4:]); v != 1 {
		return 0, 0, malformed("%s (block %d) is version %d; only 1 is known", what, id, v)
	}
	return be.Uint32(b[8:]), be.Uint32(b[16:]), nil
}

// rawPath is a path as the Paths tree stores it.
type rawPath struct {
	id, parent uint32
	name       string
	e          Entry
}

func (p *parser) parse() ([]Entry, error) {
	h := p.buf
	if string(h[:8]) != "BOMStore" {
		return nil, malformed("no \"BOMStore\" magic; not a Bom")
	}
	if v := be.Uint32(h[8:]); v != 1 {
		return nil, malformed("version %d; only 1 is known", v)
	}
	index, err := p.region("block table", be.Uint32(h[16:]), be.Uint32(h[20:]))
	if err != nil {
		return nil, err
	}
	if len(index) < 4 {
		return nil, malformed("block table of %d bytes has no count", len(index))
	}
	p.tableCount = be.Uint32(index)
	if uint64(len(index)) < 4+8*uint64(p.tableCount) {
		return nil, malformed("block table claims %d entries in %d bytes", p.tableCount, len(index))
	}
	p.table = index
	vars, err := p.region("variables", be.Uint32(h[24:]), be.Uint32(h[28:]))
	if err != nil {
		return nil, err
	}
	named, err := parseVars(vars)
	if err != nil {
		return nil, err
	}
	if id, ok := named["Size64"]; ok {
		_, n, err := p.tree("Size64 tree", id)
		if err != nil {
			return nil, err
		}
		if n != 0 {
			return nil, malformed("Size64 lists %d files of 4 GiB or more; this reader reads 32-bit sizes only", n)
		}
	}
	id, ok := named["Paths"]
	if !ok {
		return nil, malformed("no Paths variable")
	}
	raws, err := p.paths(id)
	if err != nil {
		return nil, err
	}
	return resolve(raws)
}

// parseVars returns the variables' blocks by name. bomutils stores a name's
// length without a NUL and Apple's tools have been seen to count one; a
// name ends at its first NUL either way.
func parseVars(b []byte) (map[string]uint32, error) {
	if len(b) < 4 {
		return nil, malformed("variables of %d bytes have no count", len(b))
	}
	count := be.Uint32(b)
	if uint64(count) > uint64(len(b)-4)/5 {
		return nil, malformed("%d variables cannot fit in %d bytes", count, len(b))
	}
	named := make(map[string]uint32, count)
	b = b[4:]
	for range count {
		if len(b) < 5 || len(b) < 5+int(b[4]) {
			return nil, malformed("variable runs past the variables' region")
		}
		id, name := be.Uint32(b), b[5:5+int(b[4])]
		b = b[5+int(b[4]):]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if _, dup := named[string(name)]; dup {
			return nil, malformed("variable %q appears twice", name)
		}
		named[string(name)] = id
	}
	return named, nil
}

// paths walks the Paths tree as lsbom does: down the first child of each
// branch to the leftmost leaf, then along the leaves' forward links. A node
// seen twice is a loop and refused, which bounds the walk by the block count.
func (p *parser) paths(treeID uint32) ([]rawPath, error) {
	id, count, err := p.tree("Paths tree", treeID)
	if err != nil {
		return nil, err
	}
	seen := make(map[uint32]bool)
	var n *treeNode
	for {
		if seen[id] {
			return nil, malformed("Paths tree loops at block %d", id)
		}
		seen[id] = true
		if n, err = p.node(id); err != nil {
			return nil, err
		}
		if n.leaf {
			break
		}
		if n.numPairs == 0 {
			return nil, malformed("Paths tree has an empty branch node (block %d)", id)
		}
		id, _ = n.pair(0)
	}
	var raws []rawPath
	ids := make(map[uint32]bool)
	for {
		for i := range n.numPairs {
			if len(raws) >= MaxEntries {
				return nil, malformed("more than %d paths", MaxEntries)
			}
			info, file := n.pair(i)
			r, err := p.path(info, file)
			if err != nil {
				return nil, err
			}
			if ids[r.id] {
				return nil, malformed("path id %d appears twice", r.id)
			}
			ids[r.id] = true
			raws = append(raws, r)
		}
		if n.forward == 0 {
			break
		}
		id = n.forward
		if seen[id] {
			return nil, malformed("Paths tree loops at block %d", id)
		}
		seen[id] = true
		if n, err = p.node(id); err != nil {
			return nil, err
		}
		if !n.leaf {
			return nil, malformed("Paths tree's leaf chain reaches branch node %d", id)
		}
	}
	if uint64(len(raws)) != uint64(count) {
		return nil, malformed("Paths tree says %d paths and its leaves hold %d", count, len(raws))
	}
	return raws, nil
}

// path parses one Paths entry: info is the path-info block (id, record
// block), file the file block (parent id, NUL-terminated name).
func (p *parser) path(info, file uint32) (rawPath, error) {
	var r rawPath
	ib, err := p.block("path info", info, 8)
	if err != nil {
		return r, err
	}
	r.id = be.Uint32(ib)
	if r.id == 0 {
		return r, malformed("path id 0 (block %d); 0 means no parent", info)
	}
	fb, err := p.block("path name", file, 5)
	if err != nil {
		return r, err
	}
	r.parent = be.Uint32(fb)
	name := fb[4:]
	end := bytes.IndexByte(name, 0)
	if end < 0 {
		return r, malformed("name of path id %d is not NUL-terminated", r.id)
	}
	if end > MaxPathLen {
		return r, malformed("name of path id %d is %d bytes, over the %d-byte path limit", r.id, end, MaxPathLen)
	}
	r.name = string(name[:end])
	rb, err := p.block("path record", be.Uint32(ib[4:]), 23)
	if err != nil {
		return r, err
	}
	r.e = Entry{
		Mode:  uint32(be.Uint16(rb[4:])),
		UID:   be.Uint32(rb[6:]),
		GID:   be.Uint32(rb[10:]),
		MTime: time.Unix(int64(be.Uint32(rb[14:])), 0).UTC(),
		Size:  uint64(be.Uint32(rb[18:])),
	}
	// After the common 23 bytes: files and symlinks have a checksum,
	// symlinks then the target's length with its NUL and the target,
	// devices a device number; Apple's records then hold architecture
	// details for Mach-O files and end with zeros, all ignored here.
	switch typ := rb[0]; typ {
	case typeDir:
	case typeFile, typeDevice:
		if len(rb) < 27 {
			return r, malformed("record of path id %d is %d bytes, too short for its type", r.id, len(rb))
		}
		if typ == typeFile {
			r.e.Checksum = be.Uint32(rb[23:])
		}
	case typeLink:
		if len(rb) < recordSize {
			return r, malformed("symlink record of path id %d is %d bytes, too short", r.id, len(rb))
		}
		r.e.Checksum = be.Uint32(rb[23:])
		n := be.Uint32(rb[27:])
		if n == 0 || n > MaxLinkTargetLen+1 {
			return r, malformed("symlink of path id %d has a target length of %d", r.id, n)
		}
		if uint64(len(rb)) < recordSize+uint64(n) {
			return r, malformed("symlink target of path id %d runs past its record", r.id)
		}
		t := rb[recordSize : recordSize+n]
		end := bytes.IndexByte(t, 0)
		if end <= 0 {
			return r, malformed("symlink target of path id %d is empty or not NUL-terminated", r.id)
		}
		if !utf8.Valid(t[:end]) {
			return r, malformed("symlink target of path id %d is not valid UTF-8", r.id)
		}
		r.e.LinkTarget = string(t[:end])
	default:
		return r, malformed("path id %d has unknown record type %d", r.id, typ)
	}
	return r, nil
}

// resolve joins each name to its parents' names. The parent links are
// followed iteratively with a mark per path, so a loop is found, not
// followed forever, and each path is built once from its parent's.
func resolve(raws []rawPath) ([]Entry, error) {
	if len(raws) == 0 {
		return nil, malformed("the Paths tree is empty; a payload Bom lists at least \".\"")
	}
	byID := make(map[uint32]int, len(raws))
	for i := range raws {
		byID[raws[i].id] = i
	}
	const (
		unvisited = iota
		walking
		done
	)
	state := make([]uint8, len(raws))
	type key struct {
		parent uint32
		name   string
	}
	siblings := make(map[key]bool, len(raws))
	out := make([]Entry, len(raws))
	var chain []int
	for i := range raws {
		chain = chain[:0]
		for j := i; state[j] != done; {
			if state[j] == walking {
				return nil, malformed("the parents of path id %d loop", raws[j].id)
			}
			state[j] = walking
			chain = append(chain, j)
			if raws[j].parent == 0 {
				break
			}
			pj, ok := byID[raws[j].parent]
			if !ok {
				return nil, malformed("path id %d (%q) names parent id %d, which is not in the Bom", raws[j].id, raws[j].name, raws[j].parent)
			}
			j = pj
		}
		for k := len(chain) - 1; k >= 0; k-- {
			j := chain[k]
			r := &raws[j]
			out[j] = r.e
			if r.parent == 0 {
				if r.name != "." {
					return nil, malformed("top-level path %q is not \".\"", r.name)
				}
				if r.e.Mode&modeType != modeDir {
					return nil, malformed("\".\" is not a directory (mode %#o)", r.e.Mode)
				}
				out[j].Path = "."
			} else {
				parent := &out[byID[r.parent]]
				if why := checkName(r.name); why != "" {
					return nil, malformed("path %q under %q %s", r.name, parent.Path, why)
				}
				if parent.Mode&modeType != modeDir {
					return nil, malformed("%q is under %q, which is not a directory", r.name, parent.Path)
				}
				if len(parent.Path)+1+len(r.name) > MaxPathLen {
					return nil, malformed("path under %q is over the %d-byte limit", parent.Path, MaxPathLen)
				}
				out[j].Path = parent.Path + "/" + r.name
			}
			sk := key{r.parent, r.name}
			if siblings[sk] {
				return nil, malformed("path %q appears twice", out[j].Path)
			}
			siblings[sk] = true
			state[j] = done
		}
	}
	return out, nil
}
