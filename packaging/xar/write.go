package xar

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"time"
)

const (
	headerSize    = 28
	formatVersion = 1
	magic         = "xar!"
	// cksumSHA1 is the header's code for a sha1 TOC checksum.
	cksumSHA1 = 1

	encodingZlib   = "application/x-gzip"
	encodingStored = "application/octet-stream"
)

// Write writes the archive of files to w. The order of files decides the
// order of the TOC: each directory appears where its first file does, and
// entries are numbered and their data laid out in that (pre-)order. The
// same files give the same bytes.
//
// Nothing is written unless files are valid (see the package doc), but an
// error from a Source or from w can leave a partial archive behind: write
// to a temporary file and rename it.
func Write(w io.Writer, files []File) error {
	root, err := buildTree(files)
	if err != nil {
		return err
	}
	heap, err := layoutHeap(root, tocRegions())
	if err != nil {
		return err
	}
	toc, err := marshalTOC(root, heap)
	if err != nil {
		return err
	}
	ztoc, err := compressTOC(toc)
	if err != nil {
		return err
	}
	return emit(w, heap, toc, ztoc)
}

// node is one entry of the tree that Write builds from its files.
type node struct {
	name     string // the last path component
	path     string
	dir      bool
	explicit bool // listed in files, not only implied
	mode     os.FileMode
	mtime    time.Time
	src      io.ReaderAt
	size     int64
	compress bool

	children []*node
	byName   map[string]*node

	id   int
	data *dataRecord // nil: no <data> (directories, empty files)
}

// dataRecord is a file's <data> element: where its bytes are in the heap,
// how they are encoded, and their digests.
type dataRecord struct {
	offset, length, size int64
	encoding             string
	archived, extracted  []byte
}

// buildTree checks files and shapes them into a directory tree whose
// children keep the order in which files first name them.
func buildTree(files []File) (*node, error) {
	root := &node{dir: true, byName: map[string]*node{}}
	count := 0
	for i := range files {
		f := &files[i]
		if err := checkPath(f.Name); err != nil {
			return nil, fmt.Errorf("xar: file %d: %w", i, err)
		}
		if err := checkFile(f); err != nil {
			return nil, fmt.Errorf("xar: %q: %w", f.Name, err)
		}
		parts := strings.Split(f.Name, "/")
		parent := root
		for j, part := range parts[:len(parts)-1] {
			child := parent.byName[part]
			if child == nil {
				count++
				child = &node{name: part, path: strings.Join(parts[:j+1], "/"), dir: true, mode: 0o755, byName: map[string]*node{}}
				parent.children = append(parent.children, child)
				parent.byName[part] = child
			} else if !child.dir {
				return nil, fmt.Errorf("xar: %q: %w: %q is a regular file and cannot also be a directory; rename one of them", f.Name, ErrInvalidName, child.path)
			}
			parent = child
		}
		last := parts[len(parts)-1]
		isDir := f.Mode&os.ModeDir != 0
		if n := parent.byName[last]; n != nil {
			switch {
			case n.explicit:
				return nil, fmt.Errorf("xar: %q: %w: the name is listed twice; list each entry once", f.Name, ErrInvalidName)
			case !isDir:
				return nil, fmt.Errorf("xar: %q: %w: it is a regular file and also the directory of other entries; rename one of them", f.Name, ErrInvalidName)
			}
			// An implied directory, listed after its contents: take its
			// mode and time, keep its place.
			n.explicit, n.mode, n.mtime = true, f.Mode&^os.ModeDir, f.MTime.Truncate(time.Second)
			continue
		}
		count++
		n := &node{
			name:     last,
			path:     f.Name,
			dir:      isDir,
			explicit: true,
			mode:     f.Mode &^ os.ModeDir,
			mtime:    f.MTime.Truncate(time.Second),
			compress: f.Compress,
		}
		if isDir {
			n.byName = map[string]*node{}
		} else if f.Source != nil {
			n.src, n.size = f.Source, f.Size
		} else {
			n.src, n.size = bytes.NewReader(f.Data), int64(len(f.Data))
		}
		parent.children = append(parent.children, n)
		parent.byName[last] = n
	}
	if count > MaxEntries {
		return nil, fmt.Errorf("xar: %w: %d entries (directories included), over the limit of %d; split the archive", ErrLimit, count, MaxEntries)
	}
	return root, nil
}

// minTime and maxTime bound File.MTime: the years xar's time format and
// the Unix tools reading it can all represent.
var (
	minTime = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
)

// checkFile checks what a File says besides its name.
func checkFile(f *File) error {
	if t := f.Mode.Type() &^ os.ModeDir; t != 0 {
		return fmt.Errorf("%w: mode %v: only regular files and directories can be archived", ErrInvalidFile, f.Mode)
	}
	if !f.MTime.IsZero() && (f.MTime.Before(minTime) || !f.MTime.Before(maxTime)) {
		return fmt.Errorf("%w: time %v is outside the years 1970 to 9999; use a later time or the zero Time for none", ErrInvalidFile, f.MTime)
	}
	switch {
	case f.Size < 0:
		return fmt.Errorf("%w: negative Size %d", ErrInvalidFile, f.Size)
	case f.Source == nil && f.Size != 0:
		return fmt.Errorf("%w: Size %d without a Source; set Source, or use Data", ErrInvalidFile, f.Size)
	case f.Source != nil && f.Data != nil:
		return fmt.Errorf("%w: both Data and Source are set; use one", ErrInvalidFile)
	case f.Mode.IsDir() && (len(f.Data) != 0 || f.Source != nil):
		return fmt.Errorf("%w: a directory cannot carry data; drop Data/Source or clear os.ModeDir", ErrInvalidFile)
	}
	return nil
}

// heapRegion is a TOC element naming bytes at the start of the heap that
// are not a file's data: today only the TOC checksum; product signing
// will add its <signature> and <x-signature> reservations after it.
type heapRegion struct {
	element, style string
	offset, size   int64
}

// tocRegions lists the leading heap regions, in heap order.
func tocRegions() []heapRegion {
	return []heapRegion{{element: "checksum", style: "sha1", size: sha1.Size}}
}

// heapLayout is the heap as planned: the leading regions, then every
// file with data, in TOC order.
type heapLayout struct {
	regions []heapRegion
	files   []*node
	size    int64
}

// layoutHeap numbers the entries in TOC order, places the regions at the
// start of the heap, and measures each file's data (by encoding it once,
// keeping only its length and digests) to place it after them.
func layoutHeap(root *node, regions []heapRegion) (*heapLayout, error) {
	h := &heapLayout{regions: regions}
	for i := range h.regions {
		h.regions[i].offset = h.size
		h.size += h.regions[i].size
	}
	id := 0
	var walk func(*node) error
	walk = func(n *node) error {
		for _, c := range n.children {
			id++
			c.id = id
			if !c.dir && c.size > 0 {
				rec, err := encode(io.Discard, c)
				if err != nil {
					return err
				}
				rec.offset = h.size
				c.data = rec
				h.size += rec.length
				h.files = append(h.files, c)
			}
			if err := walk(c); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(root); err != nil {
		return nil, err
	}
	return h, nil
}

// encode writes n's data, encoded, to dst and returns its record (offset
// unset).
func encode(dst io.Writer, n *node) (*dataRecord, error) {
	extracted, archived := sha1.New(), sha1.New()
	out := &countWriter{w: io.MultiWriter(dst, archived)}
	in := io.TeeReader(io.NewSectionReader(n.src, 0, n.size), extracted)
	rec := &dataRecord{size: n.size, encoding: encodingStored}
	var copied int64
	var err error
	if n.compress {
		rec.encoding = encodingZlib
		zw := zlib.NewWriter(out)
		copied, err = io.Copy(zw, in)
		if cerr := zw.Close(); err == nil {
			err = cerr
		}
	} else {
		copied, err = io.Copy(out, in)
	}
	if err != nil {
		return nil, fmt.Errorf("xar: %q: %w", n.path, err)
	}
	if copied != n.size {
		return nil, fmt.Errorf("xar: %q: %w: Source gave %d bytes, Size says %d; set Size to the Source's length", n.path, ErrInvalidFile, copied, n.size)
	}
	rec.length = out.n
	rec.archived, rec.extracted = archived.Sum(nil), extracted.Sum(nil)
	return rec, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// marshalTOC writes the TOC document: the heap regions, then the tree.
// It is indented by one space a level, as xar's own TOCs are.
func marshalTOC(root *node, heap *heapLayout) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<xar>\n <toc>\n")
	for _, r := range heap.regions {
		fmt.Fprintf(&b, "  <%s style=\"%s\">\n   <offset>%d</offset>\n   <size>%d</size>\n  </%s>\n", r.element, r.style, r.offset, r.size, r.element)
	}
	var walk func(n *node, indent string)
	walk = func(n *node, indent string) {
		for _, c := range n.children {
			in := indent + " "
			fmt.Fprintf(&b, "%s<file id=\"%d\">\n", indent, c.id)
			b.WriteString(in + "<name>")
			// checkPath has excluded what EscapeText would alter.
			_ = xml.EscapeText(&b, []byte(c.name))
			b.WriteString("</name>\n")
			typ := "file"
			if c.dir {
				typ = "directory"
			}
			fmt.Fprintf(&b, "%s<type>%s</type>\n%s<mode>%s</mode>\n%s<uid>0</uid>\n%s<gid>0</gid>\n", in, typ, in, modeString(c.mode), in, in)
			if !c.mtime.IsZero() {
				fmt.Fprintf(&b, "%s<mtime>%s</mtime>\n", in, c.mtime.UTC().Format(timeLayout))
			}
			if d := c.data; d != nil {
				dd := in + " "
				fmt.Fprintf(&b, "%s<data>\n", in)
				fmt.Fprintf(&b, "%s<length>%d</length>\n%s<offset>%d</offset>\n%s<size>%d</size>\n", dd, d.length, dd, d.offset, dd, d.size)
				fmt.Fprintf(&b, "%s<encoding style=\"%s\"/>\n", dd, d.encoding)
				fmt.Fprintf(&b, "%s<archived-checksum style=\"sha1\">%s</archived-checksum>\n", dd, hex.EncodeToString(d.archived))
				fmt.Fprintf(&b, "%s<extracted-checksum style=\"sha1\">%s</extracted-checksum>\n", dd, hex.EncodeToString(d.extracted))
				fmt.Fprintf(&b, "%s</data>\n", in)
			}
			walk(c, in)
			fmt.Fprintf(&b, "%s</file>\n", indent)
		}
	}
	walk(root, "  ")
	b.WriteString(" </toc>\n</xar>\n")
	if b.Len() > MaxTOCSize {
		return nil, fmt.Errorf("xar: %w: the table of contents is %d bytes, over the %d-byte limit; use fewer or shorter names", ErrLimit, b.Len(), MaxTOCSize)
	}
	return b.Bytes(), nil
}

func compressTOC(toc []byte) ([]byte, error) {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	if _, err := zw.Write(toc); err != nil {
		return nil, fmt.Errorf("xar: compress TOC: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("xar: compress TOC: %w", err)
	}
	return z.Bytes(), nil
}

// emit writes the header, the compressed TOC and the heap: the regions'
// bytes, then each file's data, encoded a second time and checked
// against the first.
func emit(w io.Writer, heap *heapLayout, toc, ztoc []byte) error {
	var hdr [headerSize]byte
	copy(hdr[:4], magic)
	binary.BigEndian.PutUint16(hdr[4:], headerSize)
	binary.BigEndian.PutUint16(hdr[6:], formatVersion)
	binary.BigEndian.PutUint64(hdr[8:], uint64(len(ztoc)))
	binary.BigEndian.PutUint64(hdr[16:], uint64(len(toc)))
	binary.BigEndian.PutUint32(hdr[24:], cksumSHA1)
	if _, err := w.Write(hdr[:]); err != nil {
		return fmt.Errorf("xar: write header: %w", err)
	}
	if _, err := w.Write(ztoc); err != nil {
		return fmt.Errorf("xar: write TOC: %w", err)
	}
	for _, r := range heap.regions {
		var content []byte
		switch r.element {
		case "checksum":
			content = digest(sha1.New(), ztoc)
		default:
			return fmt.Errorf("xar: heap region <%s> has no writer", r.element)
		}
		if _, err := w.Write(content); err != nil {
			return fmt.Errorf("xar: write TOC checksum: %w", err)
		}
	}
	for _, n := range heap.files {
		rec, err := encode(w, n)
		if err != nil {
			return err
		}
		if rec.length != n.data.length || !bytes.Equal(rec.archived, n.data.archived) {
			return fmt.Errorf("xar: %q: %w: its Source changed between the two reads; archive a file that does not change", n.path, ErrInvalidFile)
		}
	}
	return nil
}

func digest(h hash.Hash, p []byte) []byte {
	h.Write(p)
	return h.Sum(nil)
}
