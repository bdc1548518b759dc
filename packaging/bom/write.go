package bom

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"
)

// The layout mkbom writes, which Write reproduces and Read expects.
const (
	headerSize = 512
	// leafPaths is how many paths mkbom puts in one leaf of the Paths tree
	// before it starts the next; a branch node then lists the leaves.
	leafPaths = 256
	// treeBlockSize and vIndexBlockSize are the "block size" words of the
	// trees, 4096 everywhere but in VIndex's tree.
	treeBlockSize   = 4096
	vIndexBlockSize = 128
	nodeHeaderSize  = 12 // isLeaf u16, count u16, forward u32, backward u32
	treeSize        = 21 // "tree", version, child, block size, path count, 1 byte
	recordSize      = 31 // a path record without its link target
	// recordFlags is the 16-bit word after a record's type; bomutils writes
	// 3 and Apple's mkbom 0x000f (whose high nibble marks Mach-O files).
	// Readers ignore it.
	recordFlags = 3
)

// The type byte of a path record.
const (
	typeFile   = 1
	typeDir    = 2
	typeLink   = 3
	typeDevice = 4
)

var be = binary.BigEndian

// node is one path of the tree Write lays out.
type node struct {
	e        *Entry
	name     string
	id       uint32 // position in breadth-first order, from 1
	parent   uint32 // the parent's id; 0 for "."
	children []*node
}

// Write writes entries as a Bom to w.
//
// The entries may come in any order; Write sorts them as mkbom does. It
// requires, and does not invent: exactly one "." entry, a directory, and a
// directory entry for every parent of every path; no duplicate paths; paths
// of UTF-8 components that are not "", "." or ".." and hold no NUL; modes
// that are a directory, regular file or symlink with permission bits; a
// target, of UTF-8 without NUL, for symlinks only; no checksum on
// directories; sizes below 4 GiB; mtimes in whole seconds from 1970 to 2106
// (a fraction of a second is dropped). It refuses more than MaxEntries
// entries, paths over MaxPathLen, targets over MaxLinkTargetLen and a result
// over MaxSize. Every refusal wraps ErrInvalidEntry and names the path.
func Write(w io.Writer, entries []Entry) error {
	order, err := tree(entries)
	if err != nil {
		return err
	}
	b, err := layout(order)
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return fmt.Errorf("write bom: %w", err)
	}
	return nil
}

// tree checks entries and returns them as nodes in the order mkbom gives
// them ids: breadth-first from ".", each directory's children sorted by
// name in byte order (which for the Paths tree is ordering by the key
// (parent id, name)).
func tree(entries []Entry) ([]*node, error) {
	if len(entries) == 0 {
		return nil, fmt.Errorf("%w: no entries; a Bom lists at least the root \".\"", ErrInvalidEntry)
	}
	if len(entries) > MaxEntries {
		return nil, fmt.Errorf("%w: %d entries, over the limit of %d", ErrInvalidEntry, len(entries), MaxEntries)
	}
	nodes := make(map[string]*node, len(entries))
	// Bytes of the blocks that grow with the entries (record, file name,
	// path-info, leaf slot and three block-table slots), to refuse an
	// oversized Bom before laying it out.
	var est int64
	for i := range entries {
		e := &entries[i]
		if why := checkPath(e.Path); why != "" {
			return nil, invalid(e.Path, "path %s", why)
		}
		if err := checkEntry(e); err != nil {
			return nil, err
		}
		if _, dup := nodes[e.Path]; dup {
			return nil, invalid(e.Path, "listed twice")
		}
		n := &node{e: e, name: e.Path[strings.LastIndexByte(e.Path, '/')+1:]}
		nodes[e.Path] = n
		est += int64(recordSize + 8 + 5 + len(n.name) + 8 + 24 + len(e.LinkTarget))
	}
	if est > MaxSize {
		return nil, fmt.Errorf("%w: the Bom would be over %d bytes, the limit", ErrInvalidEntry, MaxSize)
	}
	root := nodes["."]
	if root == nil {
		return nil, fmt.Errorf("%w: no \".\" entry; add the payload's root directory", ErrInvalidEntry)
	}
	if root.e.Mode&modeType != modeDir {
		return nil, invalid(".", "the root must be a directory")
	}
	for i := range entries {
		p := entries[i].Path
		if p == "." {
			continue
		}
		pp := parentPath(p)
		parent := nodes[pp]
		if parent == nil {
			return nil, invalid(p, "its parent %q is not among the entries; add the directory", pp)
		}
		if parent.e.Mode&modeType != modeDir {
			return nil, invalid(p, "its parent %q is not a directory", pp)
		}
		parent.children = append(parent.children, nodes[p])
	}
	order := make([]*node, 0, len(entries))
	order = append(order, root)
	root.id = 1
	for i := 0; i < len(order); i++ {
		n := order[i]
		slices.SortFunc(n.children, func(a, b *node) int { return strings.Compare(a.name, b.name) })
		for _, c := range n.children {
			c.parent = n.id
			c.id = uint32(len(order) + 1)
			order = append(order, c)
		}
	}
	return order, nil
}

// store collects blocks; a block's id is its index, and block 0 is the
// format's null block.
type store struct {
	blocks [][]byte
	size   int64
	vars   []variable
}

type variable struct {
	name  string
	block uint32
}

func (s *store) add(b []byte) uint32 {
	s.blocks = append(s.blocks, b)
	s.size += int64(len(b))
	return uint32(len(s.blocks) - 1)
}

func (s *store) addVar(name string, b []byte) {
	s.vars = append(s.vars, variable{name, s.add(b)})
}

func treeBlock(child, blockSize, count uint32) []byte {
	b := make([]byte, treeSize)
	copy(b, "tree")
	be.PutUint32(b[4:], 1)
	be.PutUint32(b[8:], child)
	be.PutUint32(b[12:], blockSize)
	be.PutUint32(b[16:], count)
	return b
}

func emptyLeaf() []byte {
	b := make([]byte, nodeHeaderSize)
	be.PutUint16(b, 1)
	return b
}

func record(e *Entry) []byte {
	var typ byte
	switch e.Mode & modeType {
	case modeDir:
		typ = typeDir
	case modeSymlink:
		typ = typeLink
	default:
		typ = typeFile
	}
	var linkLen int
	if e.LinkTarget != "" {
		linkLen = len(e.LinkTarget) + 1 // with its NUL
	}
	b := make([]byte, recordSize+linkLen)
	mtime, _ := bomTime(e.MTime) // checked by checkEntry
	b[0] = typ
	b[1] = 1
	be.PutUint16(b[2:], recordFlags)
	be.PutUint16(b[4:], uint16(e.Mode))
	be.PutUint32(b[6:], e.UID)
	be.PutUint32(b[10:], e.GID)
	be.PutUint32(b[14:], mtime)
	be.PutUint32(b[18:], uint32(e.Size))
	b[22] = 1
	be.PutUint32(b[23:], e.Checksum)
	be.PutUint32(b[27:], uint32(linkLen))
	copy(b[recordSize:], e.LinkTarget)
	return b
}

// layout builds the Bom's bytes, allocating blocks in the order mkbom does
// so that the ids, and so the bytes, match its output.
func layout(order []*node) ([]byte, error) {
	var s store
	s.add(nil) // the null block

	num := uint32(len(order))
	info := make([]byte, 12+16) // version, paths+1, one zeroed info entry
	be.PutUint32(info, 1)
	be.PutUint32(info[4:], num+1)
	be.PutUint32(info[8:], 1)
	s.addVar("BomInfo", info)

	// Paths: per path a record, a path-info block (id, record) and a file
	// block (parent id, name); leaves of up to leafPaths (path-info, file)
	// pairs linked forward and backward; above several leaves one branch
	// node whose pairs are (leaf, the leaf's last file block).
	numLeaves := (len(order) + leafPaths - 1) / leafPaths
	branch := make([]byte, nodeHeaderSize+8*numLeaves)
	var (
		leaf       []byte
		prevLeaf   uint32 // the leaf added before the current one
		lastFile   uint32
		branchSlot int
	)
	for j, n := range order {
		k := j % leafPaths
		if k == 0 {
			var added uint32
			if leaf != nil {
				added = s.add(leaf)
				be.PutUint32(branch[nodeHeaderSize+8*branchSlot:], added)
				be.PutUint32(branch[nodeHeaderSize+8*branchSlot+4:], lastFile)
				branchSlot++
				if prevLeaf != 0 {
					be.PutUint32(s.blocks[prevLeaf][4:], added)
				}
			}
			count := min(leafPaths, len(order)-j)
			leaf = make([]byte, nodeHeaderSize+8*count)
			be.PutUint16(leaf, 1)
			be.PutUint16(leaf[2:], uint16(count))
			be.PutUint32(leaf[8:], added)
			prevLeaf = added
		}
		rec := s.add(record(n.e))
		pathInfo := make([]byte, 8)
		be.PutUint32(pathInfo, n.id)
		be.PutUint32(pathInfo[4:], rec)
		be.PutUint32(leaf[nodeHeaderSize+8*k:], s.add(pathInfo))
		file := make([]byte, 4+len(n.name)+1)
		be.PutUint32(file, n.parent)
		copy(file[4:], n.name)
		lastFile = s.add(file)
		be.PutUint32(leaf[nodeHeaderSize+8*k+4:], lastFile)
	}
	var root uint32
	if numLeaves > 1 {
		last := s.add(leaf)
		be.PutUint32(s.blocks[prevLeaf][4:], last)
		be.PutUint32(branch[nodeHeaderSize+8*branchSlot:], last)
		be.PutUint32(branch[nodeHeaderSize+8*branchSlot+4:], lastFile)
		be.PutUint16(branch[2:], uint16(numLeaves))
		root = s.add(branch)
	} else {
		root = s.add(leaf)
	}
	s.addVar("Paths", treeBlock(root, treeBlockSize, num))

	s.addVar("HLIndex", treeBlock(s.add(emptyLeaf()), treeBlockSize, 0))
	vtree := s.add(treeBlock(s.add(emptyLeaf()), vIndexBlockSize, 0))
	vindex := make([]byte, 13) // 1, the tree, 0, 0 byte
	be.PutUint32(vindex, 1)
	be.PutUint32(vindex[4:], vtree)
	s.addVar("VIndex", vindex)
	s.addVar("Size64", treeBlock(s.add(emptyLeaf()), treeBlockSize, 0))

	if total := s.total(); total > MaxSize {
		return nil, fmt.Errorf("%w: the Bom would be %d bytes, over the %d-byte limit", ErrInvalidEntry, total, MaxSize)
	}
	return s.bytes(), nil
}

func (s *store) varsLen() int64 {
	n := int64(4)
	for _, v := range s.vars {
		n += 5 + int64(len(v.name))
	}
	return n
}

// indexLen is the block table's and the free list's length: the free list
// is empty, with the two spare slots mkbom writes.
func (s *store) indexLen() int64 { return 4 + 8*int64(len(s.blocks)) + 4 + 2*8 }

func (s *store) total() int64 { return headerSize + s.varsLen() + s.size + s.indexLen() }

// bytes lays s out as mkbom does: the 512-byte header, the variables, the
// blocks in id order, the block table, the free list.
func (s *store) bytes() []byte {
	varsLen := s.varsLen()
	out := make([]byte, 0, s.total())
	out = append(out, "BOMStore"...)
	out = be.AppendUint32(out, 1)
	out = be.AppendUint32(out, uint32(len(s.blocks)-1))
	out = be.AppendUint32(out, uint32(headerSize+varsLen+s.size))
	out = be.AppendUint32(out, uint32(s.indexLen()))
	out = be.AppendUint32(out, headerSize)
	out = be.AppendUint32(out, uint32(varsLen))
	out = out[:headerSize] // zeros: the capacity is fresh

	out = be.AppendUint32(out, uint32(len(s.vars)))
	for _, v := range s.vars {
		out = be.AppendUint32(out, v.block)
		out = append(out, byte(len(v.name)))
		out = append(out, v.name...)
	}
	for _, b := range s.blocks {
		out = append(out, b...)
	}
	out = be.AppendUint32(out, uint32(len(s.blocks)))
	addr := uint32(headerSize + varsLen)
	for _, b := range s.blocks {
		if len(b) == 0 {
			out = be.AppendUint32(out, 0)
			out = be.AppendUint32(out, 0)
			continue
		}
		out = be.AppendUint32(out, addr)
		out = be.AppendUint32(out, uint32(len(b)))
		addr += uint32(len(b))
	}
	return append(out, make([]byte, 4+2*8)...)
}
