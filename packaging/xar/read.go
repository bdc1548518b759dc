package xar

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"slices"
	"time"
)

// Archive is an archive opened by [Read]. Its methods may be called
// concurrently, as the io.ReaderAt it reads from allows.
type Archive struct {
	// MaxFileSize is the largest file, extracted, that ReadFile and Open
	// will read; larger ones fail with ErrLimit. Read sets it to
	// DefaultMaxFileSize; change it before reading, not during.
	MaxFileSize int64

	r         io.ReaderAt
	heapStart int64
	entries   []Entry
	index     map[string]int
}

// Entry is a file or directory of an archive.
type Entry struct {
	// Name is the entry's path, "/"-separated, relative and free of "."
	// and ".." (see the package doc).
	Name string
	// Mode has os.ModeDir for a directory, and the permission and
	// setuid, setgid and sticky bits of the TOC's <mode>.
	Mode os.FileMode
	// MTime is the TOC's <mtime> in UTC; zero when there is none.
	MTime time.Time
	// Size is the file's length extracted; 0 for a directory.
	Size int64
	// Compressed says the data is stored zlib-compressed.
	Compressed bool

	data *entryData // nil: no data (a directory or an empty file)
}

// IsDir reports whether e is a directory.
func (e Entry) IsDir() bool { return e.Mode.IsDir() }

type entryData struct {
	offset, length      int64 // in the heap
	encoding            string
	sumAlg              hashAlg
	archived, extracted []byte
}

// hashAlg is a checksum style this reader verifies.
type hashAlg struct {
	name string
	size int
	new  func() hash.Hash
}

// hashAlgs are the styles verified. md5 (xar's other classic choice) and
// "none" are refused: an archive whose integrity cannot be checked is not
// read.
var hashAlgs = map[string]hashAlg{
	"sha1":   {"sha1", sha1.Size, sha1.New},
	"sha256": {"sha256", sha256.Size, sha256.New},
	"sha512": {"sha512", sha512.Size, sha512.New},
}

// maxHeaderSize bounds the header's size field: 28, or a little more when
// xar's extended header names its checksum algorithm.
const maxHeaderSize = 4096

// Read opens the archive of size bytes in r: it checks the header, reads
// and verifies the TOC against its checksum, and checks every entry's
// name, offsets and lengths. File data is read and verified only by
// ReadFile and Open.
func Read(r io.ReaderAt, size int64) (*Archive, error) {
	if size < headerSize {
		return nil, fmt.Errorf("xar: %w: %d bytes is shorter than the %d-byte header", ErrFormat, size, headerSize)
	}
	var hdr [headerSize]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return nil, fmt.Errorf("xar: read header: %w", err)
	}
	if string(hdr[:4]) != magic {
		return nil, fmt.Errorf("xar: %w: no \"xar!\" magic at the start; is this a flat package?", ErrFormat)
	}
	hsize := int64(binary.BigEndian.Uint16(hdr[4:]))
	version := binary.BigEndian.Uint16(hdr[6:])
	zlen := binary.BigEndian.Uint64(hdr[8:])
	ulen := binary.BigEndian.Uint64(hdr[16:])
	alg := binary.BigEndian.Uint32(hdr[24:])
	switch {
	case hsize < headerSize || hsize > maxHeaderSize || hsize > size:
		return nil, fmt.Errorf("xar: %w: header size %d", ErrFormat, hsize)
	case version != formatVersion:
		return nil, fmt.Errorf("xar: %w: version %d; only version 1 exists", ErrFormat, version)
	case zlen == 0 || ulen == 0:
		return nil, fmt.Errorf("xar: %w: empty table of contents", ErrFormat)
	case zlen > MaxTOCSize || ulen > MaxTOCSize:
		return nil, fmt.Errorf("xar: %w: table of contents of %d bytes (%d compressed), over the %d-byte limit", ErrLimit, ulen, zlen, MaxTOCSize)
	case int64(zlen) > size-hsize:
		return nil, fmt.Errorf("xar: %w: the table of contents runs past the end (%d bytes at %d of %d)", ErrFormat, zlen, hsize, size)
	}
	tocAlg, err := headerHash(r, alg, hsize)
	if err != nil {
		return nil, err
	}

	ztoc := make([]byte, zlen)
	if _, err := r.ReadAt(ztoc, hsize); err != nil {
		return nil, fmt.Errorf("xar: read TOC: %w", err)
	}
	toc, err := inflateTOC(ztoc, int64(ulen))
	if err != nil {
		return nil, err
	}
	parsed, err := parseTOC(toc)
	if err != nil {
		return nil, err
	}

	a := &Archive{
		MaxFileSize: DefaultMaxFileSize,
		r:           r,
		heapStart:   hsize + int64(zlen),
		index:       map[string]int{},
	}
	heapSize := size - a.heapStart
	if err := a.checkTOCSum(parsed.checksum, tocAlg, ztoc, heapSize); err != nil {
		return nil, err
	}
	regions := [][2]int64{{parsed.checksum.offset, parsed.checksum.size}}
	if err := a.addEntries(parsed.files, "", heapSize, &regions); err != nil {
		return nil, err
	}
	if err := checkOverlap(regions); err != nil {
		return nil, err
	}
	return a, nil
}

// headerHash maps the header's checksum code to the algorithm: 1 sha1;
// 3 and 4 sha256 and sha512 as Apple's xar numbers them, unless the header
// is longer than 28 bytes and names the algorithm after the code (the
// "other" form of the xar project's fork).
func headerHash(r io.ReaderAt, alg uint32, hsize int64) (hashAlg, error) {
	var name string
	switch alg {
	case 0:
		return hashAlg{}, fmt.Errorf("xar: %w: the archive has no TOC checksum, so it cannot be verified", errors.ErrUnsupported)
	case 1:
		name = "sha1"
	case 2:
		return hashAlg{}, fmt.Errorf("xar: %w: md5 TOC checksum; only sha1, sha256 and sha512 are verified", errors.ErrUnsupported)
	case 3:
		name = "sha256"
		if hsize > headerSize {
			ext := make([]byte, hsize-headerSize)
			if _, err := r.ReadAt(ext, headerSize); err != nil {
				return hashAlg{}, fmt.Errorf("xar: read header: %w", err)
			}
			end := bytes.IndexByte(ext, 0)
			if end < 0 {
				return hashAlg{}, fmt.Errorf("xar: %w: unterminated checksum name in the header", ErrFormat)
			}
			name = string(ext[:end])
		}
	case 4:
		name = "sha512"
	default:
		return hashAlg{}, fmt.Errorf("xar: %w: checksum algorithm code %d", ErrFormat, alg)
	}
	h, ok := hashAlgs[name]
	if !ok {
		return hashAlg{}, fmt.Errorf("xar: %w: TOC checksum %.40q; only sha1, sha256 and sha512 are verified", errors.ErrUnsupported, name)
	}
	return h, nil
}

// inflateTOC decompresses the TOC, which must be exactly want bytes.
func inflateTOC(ztoc []byte, want int64) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(ztoc))
	if err != nil {
		return nil, fmt.Errorf("xar: %w: TOC: %w", ErrFormat, err)
	}
	toc, err := io.ReadAll(io.LimitReader(zr, want+1))
	if err != nil {
		return nil, fmt.Errorf("xar: %w: TOC: %w", ErrFormat, err)
	}
	if int64(len(toc)) != want {
		return nil, fmt.Errorf("xar: %w: the TOC inflates to %d bytes or more, the header says %d", ErrFormat, len(toc), want)
	}
	// Reading to EOF checks the zlib stream's own checksum.
	if n, err := io.Copy(io.Discard, zr); n != 0 || err != nil {
		return nil, fmt.Errorf("xar: %w: TOC: %d bytes past its declared size (%v)", ErrFormat, n, err)
	}
	return toc, nil
}

func (a *Archive) checkTOCSum(c *tocChecksum, alg hashAlg, ztoc []byte, heapSize int64) error {
	if c == nil {
		return fmt.Errorf("xar: %w: the TOC has no <checksum>", ErrFormat)
	}
	if c.style != alg.name {
		return fmt.Errorf("xar: %w: the TOC's checksum style %.40q differs from the header's %s", ErrFormat, c.style, alg.name)
	}
	if c.size != int64(alg.size) {
		return fmt.Errorf("xar: %w: TOC checksum of %d bytes for %s", ErrFormat, c.size, alg.name)
	}
	if err := checkRange("TOC checksum", c.offset, c.size, heapSize); err != nil {
		return err
	}
	stored := make([]byte, c.size)
	if _, err := a.r.ReadAt(stored, a.heapStart+c.offset); err != nil {
		return fmt.Errorf("xar: read TOC checksum: %w", err)
	}
	if subtle.ConstantTimeCompare(stored, digest(alg.new(), ztoc)) != 1 {
		return fmt.Errorf("xar: %w: the table of contents does not match its checksum; the archive is damaged or was altered", ErrChecksum)
	}
	return nil
}

func checkRange(what string, offset, length, heapSize int64) error {
	if offset < 0 || length < 0 || offset > heapSize || length > heapSize-offset {
		return fmt.Errorf("xar: %w: %s at heap offset %d, %d bytes, outside the %d-byte heap", ErrFormat, what, offset, length, heapSize)
	}
	return nil
}

// checkOverlap refuses heap regions that share bytes: xar never writes
// them, and one compressed region named by many entries would multiply
// what a small archive can make a reader inflate.
func checkOverlap(regions [][2]int64) error {
	slices.SortFunc(regions, func(x, y [2]int64) int { return cmpInt64(x[0], y[0]) })
	end := int64(0)
	for _, r := range regions {
		if r[1] == 0 {
			continue
		}
		if r[0] < end {
			return fmt.Errorf("xar: %w: heap regions overlap at offset %d", ErrFormat, r[0])
		}
		end = r[0] + r[1]
	}
	return nil
}

func cmpInt64(x, y int64) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// addEntries checks the parsed <file> elements below parent and appends
// them to a's entries in document order.
func (a *Archive) addEntries(files []*tocFile, parent string, heapSize int64, regions *[][2]int64) error {
	for _, f := range files {
		if err := checkComponent(f.name); err != nil {
			return fmt.Errorf("xar: entry in %q: %w", parent, err)
		}
		name := f.name
		if parent != "" {
			name = parent + "/" + f.name
		}
		if len(name) > MaxPathLen {
			return fmt.Errorf("xar: %w: a path of %d bytes, over the %d-byte limit", ErrInvalidName, len(name), MaxPathLen)
		}
		if _, dup := a.index[name]; dup {
			return fmt.Errorf("xar: %w: %q appears twice", ErrFormat, name)
		}
		e := Entry{Name: name, Mode: fileMode(f.mode), MTime: f.mtime}
		switch f.typ {
		case "directory":
			e.Mode |= os.ModeDir
			if f.data != nil {
				return fmt.Errorf("xar: %w: directory %q has data", ErrFormat, name)
			}
		case "file":
			if len(f.children) != 0 {
				return fmt.Errorf("xar: %w: %q is a file with entries inside it", ErrFormat, name)
			}
			if f.data != nil {
				d, err := checkData(name, f.data, heapSize)
				if err != nil {
					return err
				}
				e.data, e.Size, e.Compressed = d, f.data.size, d.encoding == encodingZlib
				*regions = append(*regions, [2]int64{d.offset, d.length})
			}
		case "":
			return fmt.Errorf("xar: %w: %q has no <type>", ErrFormat, name)
		default:
			return fmt.Errorf("xar: %q: %w: type %.40q; only files and directories are read", name, errors.ErrUnsupported, f.typ)
		}
		a.index[name] = len(a.entries)
		a.entries = append(a.entries, e)
		if err := a.addEntries(f.children, name, heapSize, regions); err != nil {
			return err
		}
	}
	return nil
}

func checkData(name string, d *tocData, heapSize int64) (*entryData, error) {
	if err := checkRange(fmt.Sprintf("the data of %q", name), d.offset, d.length, heapSize); err != nil {
		return nil, err
	}
	ed := &entryData{offset: d.offset, length: d.length, encoding: d.encoding}
	switch d.encoding {
	case "", encodingStored:
		ed.encoding = encodingStored
		if d.length != d.size {
			return nil, fmt.Errorf("xar: %w: %q is stored as %d bytes but says it is %d", ErrFormat, name, d.length, d.size)
		}
	case encodingZlib, "application/zlib":
		ed.encoding = encodingZlib
	default:
		// Read anyway: the entry lists, and reading it says why not.
	}
	if d.archived.style == "" || d.extracted.style == "" {
		return nil, fmt.Errorf("xar: %w: %q lacks an archived or extracted checksum, so it cannot be verified", errors.ErrUnsupported, name)
	}
	if d.archived.style != d.extracted.style {
		return nil, fmt.Errorf("xar: %w: %q has checksums of two styles", ErrFormat, name)
	}
	alg, ok := hashAlgs[d.archived.style]
	if !ok {
		return nil, fmt.Errorf("xar: %q: %w: checksum style %.40q; only sha1, sha256 and sha512 are verified", name, errors.ErrUnsupported, d.archived.style)
	}
	ed.sumAlg = alg
	for _, s := range []*tocSum{&d.archived, &d.extracted} {
		if len(s.digest) != alg.size {
			return nil, fmt.Errorf("xar: %w: %q has a %s checksum of %d bytes", ErrFormat, name, alg.name, len(s.digest))
		}
	}
	ed.archived, ed.extracted = d.archived.digest, d.extracted.digest
	return ed, nil
}

// Entries returns the archive's files and directories in TOC order, each
// directory before what it holds.
func (a *Archive) Entries() []Entry {
	return slices.Clone(a.entries)
}

// Lookup returns the entry called name.
func (a *Archive) Lookup(name string) (Entry, bool) {
	i, ok := a.index[name]
	if !ok {
		return Entry{}, false
	}
	return a.entries[i], true
}

// ReadFile returns the bytes of the file called name, after verifying
// its archived and extracted checksums.
func (a *Archive) ReadFile(name string) ([]byte, error) {
	e, rc, err := a.open(name)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	// Grow by what was declared only up to a point: a zlib entry's size
	// is a claim until the bytes arrive.
	b.Grow(int(min(e.Size, 1<<20)))
	if _, err := b.ReadFrom(rc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Open returns a reader of the bytes of the file called name. The
// archived checksum is verified before Open returns; the extracted one
// when the reader reaches the end, where a mismatch is returned instead
// of io.EOF, so a caller must read to io.EOF before trusting what it got.
func (a *Archive) Open(name string) (io.Reader, error) {
	_, rc, err := a.open(name)
	return rc, err
}

func (a *Archive) open(name string) (Entry, io.Reader, error) {
	e, ok := a.Lookup(name)
	if !ok {
		return Entry{}, nil, fmt.Errorf("xar: %q: %w", name, fs.ErrNotExist)
	}
	if e.IsDir() {
		return Entry{}, nil, fmt.Errorf("xar: %q is a directory", name)
	}
	if e.Size > a.MaxFileSize {
		return Entry{}, nil, fmt.Errorf("xar: %q: %w: %d bytes, over the %d-byte MaxFileSize; raise Archive.MaxFileSize to read it", name, ErrLimit, e.Size, a.MaxFileSize)
	}
	d := e.data
	if d == nil {
		return e, bytes.NewReader(nil), nil
	}
	if d.encoding != encodingStored && d.encoding != encodingZlib {
		return Entry{}, nil, fmt.Errorf("xar: %q: %w: encoding %.60q; only zlib (application/x-gzip) and stored data are read", name, errors.ErrUnsupported, d.encoding)
	}
	section := io.NewSectionReader(a.r, a.heapStart+d.offset, d.length)
	h := d.sumAlg.new()
	if _, err := io.Copy(h, section); err != nil {
		return Entry{}, nil, fmt.Errorf("xar: read %q: %w", name, err)
	}
	if subtle.ConstantTimeCompare(h.Sum(nil), d.archived) != 1 {
		return Entry{}, nil, fmt.Errorf("xar: %q: %w: the archived data does not match its checksum; the archive is damaged or was altered", name, ErrChecksum)
	}
	var src io.Reader = io.NewSectionReader(a.r, a.heapStart+d.offset, d.length)
	if d.encoding == encodingZlib {
		zr, err := zlib.NewReader(src)
		if err != nil {
			return Entry{}, nil, fmt.Errorf("xar: %q: %w: %w", name, ErrFormat, err)
		}
		src = zr
	}
	return e, &verifyingReader{name: name, r: io.LimitReader(src, e.Size+1), want: e.Size, h: d.sumAlg.new(), sum: d.extracted}, nil
}

// verifyingReader passes a file's extracted bytes through, and at the end
// checks their count and digest.
type verifyingReader struct {
	name string
	r    io.Reader
	want int64
	n    int64
	h    hash.Hash
	sum  []byte
	err  error // sticky, once the end is reached
}

func (v *verifyingReader) Read(p []byte) (int, error) {
	if v.err != nil {
		return 0, v.err
	}
	n, err := v.r.Read(p)
	v.n += int64(n)
	if v.n > v.want {
		v.err = fmt.Errorf("xar: %q: %w: it extracts to more than its %d bytes", v.name, ErrFormat, v.want)
		return 0, v.err
	}
	v.h.Write(p[:n])
	switch {
	case err == io.EOF:
		switch {
		case v.n != v.want:
			v.err = fmt.Errorf("xar: %q: %w: it extracts to %d bytes, not its %d", v.name, ErrFormat, v.n, v.want)
		case subtle.ConstantTimeCompare(v.h.Sum(nil), v.sum) != 1:
			v.err = fmt.Errorf("xar: %q: %w: the extracted data does not match its checksum; the archive is damaged or was altered", v.name, ErrChecksum)
		default:
			v.err = io.EOF
		}
		if v.err != io.EOF {
			return 0, v.err
		}
		return n, v.err
	case err != nil:
		var corrupt flate.CorruptInputError
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, zlib.ErrChecksum) || errors.As(err, &corrupt) {
			v.err = fmt.Errorf("xar: %q: %w: %w", v.name, ErrFormat, err)
		} else {
			v.err = fmt.Errorf("xar: read %q: %w", v.name, err)
		}
		return n, v.err
	}
	return n, nil
}
