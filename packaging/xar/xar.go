// Package xar writes and reads xar archives, the container of a macOS flat
// installer package (.pkg): a product archive made by productbuild and each
// component package made by pkgbuild are xar archives.
//
// # Format
//
// An archive is three regions, with every integer big-endian:
//
//   - a 28-byte header: the magic "xar!", the header's size (28), the
//     format version (1), the compressed and the uncompressed length of
//     the table of contents, and the TOC checksum algorithm (1 = sha1);
//   - the table of contents (TOC): an XML document, zlib-compressed,
//     describing every file and directory as nested <file> elements;
//   - the heap: everything after the TOC. Offsets in the TOC count from
//     the heap's first byte. The heap starts with the TOC's checksum (the
//     digest of the compressed TOC bytes, at the offset and size the TOC's
//     <checksum> element gives), then each file's data, either zlib
//     ("application/x-gzip", the name xar has always used for zlib) or
//     stored ("application/octet-stream"), with the digest of the bytes as
//     archived and as extracted.
//
// # What this package does and does not do
//
// [Write] makes an archive from a list of [File]s with sha1 checksums, as
// Apple's tools do. Its output is a function of its input alone: entry ids
// follow the TOC's document order, no clock is read, and no creation time,
// owner name or inode is recorded. Directories are implied by the paths
// (and may also be listed to give them a mode and time).
//
// [Read] opens an archive for listing and for reading each file's bytes,
// verifying the TOC checksum on open and each file's archived and
// extracted checksums when it is read. It treats its input as untrusted:
// every offset and length is bounds-checked, decompression is bounded, and
// malformed input yields an error, never a panic.
//
// It does not sign: product signing (relic's xar signer) later removes
// the TOC's <checksum>, reserves heap space for a <signature> and an
// <x-signature> in front of the files' data and shifts their offsets. The
// writer keeps the TOC (marshalTOC) and the heap layout (layoutHeap) in
// separate steps, with the checksum as the first of a list of leading heap
// regions, so that a signature reservation can be added there. It reads
// and writes regular files and directories only: no symbolic links, hard
// links, devices, extended attributes or other compressions (bzip2, lzma,
// xz), which a flat package does not use.
//
// # Limits
//
// Both directions enforce the same name rules and the limits below, so
// that whatever Write makes, Read accepts:
//
//   - at most [MaxEntries] files and directories, implied ones included;
//   - a path component of at most [MaxNameLen] bytes, a whole path of at
//     most [MaxPathLen] bytes;
//   - a TOC of at most [MaxTOCSize] bytes, compressed and uncompressed;
//   - when reading, a file of at most [Archive.MaxFileSize] bytes extracted
//     ([DefaultMaxFileSize] unless changed); writing has no size limit but
//     that of int64.
//
// # Names
//
// A [File.Name] is a relative, "/"-separated path. Write rejects, with an
// error wrapping [ErrInvalidName]: an empty name; a leading "/"; an empty
// component ("a//b", a trailing "/"), or one of spaces only (libarchive
// reads it as empty); a "." or ".." component; a NUL or
// other control character, U+FFFE or U+FFFF (XML cannot carry them);
// bytes that are not UTF-8; a component or path over the limits; the same
// name twice; and a name used both as a regular file and as a directory
// (a file "a" beside "a/b"). Names are compared byte for byte: "A" and "a"
// are different entries, even though macOS's default file system would
// fold them. Read applies the same rules to each <name> in a TOC, so every
// path it returns is safe to join below a directory.
package xar

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits shared by Write and Read.
const (
	// MaxEntries is the most files and directories, implied directories
	// included, that an archive may hold.
	MaxEntries = 100_000
	// MaxNameLen is the longest path component in bytes (NAME_MAX on
	// macOS and Linux).
	MaxNameLen = 255
	// MaxPathLen is the longest whole path in bytes (PATH_MAX on macOS).
	MaxPathLen = 1024
	// MaxTOCSize caps the table of contents, compressed and uncompressed.
	// A product archive's TOC is a few kilobytes; relic's signer refuses
	// one whose compressed TOC is over 1 MB.
	MaxTOCSize = 16 << 20
	// DefaultMaxFileSize is the largest file, extracted, that an
	// [Archive] returned by [Read] will read until its MaxFileSize is
	// changed.
	DefaultMaxFileSize = 1 << 30
)

// Errors that Write and Read wrap; test them with errors.Is.
var (
	// ErrInvalidName: a name breaks the rules in the package doc.
	ErrInvalidName = errors.New("invalid name")
	// ErrInvalidFile: a File's mode, time or data cannot be written.
	ErrInvalidFile = errors.New("invalid file")
	// ErrFormat: the input is not a well-formed xar archive.
	ErrFormat = errors.New("malformed xar archive")
	// ErrChecksum: a checksum in the archive does not match its data.
	ErrChecksum = errors.New("xar checksum mismatch")
	// ErrLimit: the input is over one of the limits in the package doc.
	ErrLimit = errors.New("xar limit exceeded")
)

// File is one entry to write.
type File struct {
	// Name is the path inside the archive, "/"-separated, such as
	// "Gatehouse.pkg/Payload". Its parent directories are implied.
	Name string
	// Mode is the entry's permission bits, with os.ModeSetuid,
	// os.ModeSetgid and os.ModeSticky allowed, written as they are (a
	// zero Mode is mode 0000, not a default). os.ModeDir makes the
	// entry a directory, which carries no data; any other type bit is an
	// error. Implied directories get 0755.
	Mode os.FileMode
	// MTime is the modification time, recorded in UTC to the second
	// (anything finer is dropped). The zero Time records none; otherwise
	// it must lie in the years 1970 to 9999. Implied directories have
	// none.
	MTime time.Time
	// Data is the file's content. Leave it nil to use Source instead.
	Data []byte
	// Source and Size give the content without holding it in memory:
	// Size bytes are read from Source at offset 0, twice (once to
	// measure, once to write), and the two reads must agree.
	Source io.ReaderAt
	Size   int64
	// Compress stores the data zlib-compressed ("application/x-gzip");
	// otherwise it is stored as is. Empty files have no data at all, as
	// in xar's own archives.
	Compress bool
}

// modeString is the TOC's <mode>: octal, as xar writes it ("0644").
func modeString(m os.FileMode) string {
	return fmt.Sprintf("%04o", unixMode(m))
}

// unixMode turns Go's permission and special bits into st_mode's low 12.
func unixMode(m os.FileMode) uint32 {
	u := uint32(m.Perm())
	if m&os.ModeSetuid != 0 {
		u |= 0o4000
	}
	if m&os.ModeSetgid != 0 {
		u |= 0o2000
	}
	if m&os.ModeSticky != 0 {
		u |= 0o1000
	}
	return u
}

// fileMode is the inverse of unixMode for the low 12 bits of u.
func fileMode(u uint32) os.FileMode {
	m := os.FileMode(u & 0o777)
	if u&0o4000 != 0 {
		m |= os.ModeSetuid
	}
	if u&0o2000 != 0 {
		m |= os.ModeSetgid
	}
	if u&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m
}

// timeLayout is the TOC's time format: UTC to the second, as xar and
// libarchive write it.
const timeLayout = "2006-01-02T15:04:05Z"

// checkPath applies the name rules of the package doc to a whole path.
func checkPath(name string) error {
	if name == "" {
		return fmt.Errorf("%w: the name is empty; give a relative path such as \"dir/file\"", ErrInvalidName)
	}
	if len(name) > MaxPathLen {
		return fmt.Errorf("%w: %.40q... is %d bytes, over the %d-byte limit; shorten the path", ErrInvalidName, name, len(name), MaxPathLen)
	}
	if strings.HasPrefix(name, "/") {
		return fmt.Errorf("%w: %q is absolute; remove the leading \"/\"", ErrInvalidName, name)
	}
	for c := range strings.SplitSeq(name, "/") {
		if err := checkComponent(c); err != nil {
			return fmt.Errorf("%w (in %q)", err, name)
		}
	}
	return nil
}

// checkComponent applies the name rules to one path component.
func checkComponent(c string) error {
	switch {
	case c == "":
		return fmt.Errorf("%w: empty path component (\"//\" or a trailing \"/\"); remove it", ErrInvalidName)
	case c == "." || c == "..":
		return fmt.Errorf("%w: path component %q is not allowed; name the entry by its plain relative path", ErrInvalidName, c)
	case len(c) > MaxNameLen:
		return fmt.Errorf("%w: path component of %d bytes, over the %d-byte limit; shorten it", ErrInvalidName, len(c), MaxNameLen)
	case !utf8.ValidString(c):
		return fmt.Errorf("%w: path component %q is not UTF-8; rename it", ErrInvalidName, c)
	case strings.Contains(c, "/"):
		return fmt.Errorf("%w: path component %q contains \"/\"", ErrInvalidName, c)
	case strings.Trim(c, " ") == "":
		return fmt.Errorf("%w: path component %q is only spaces, which libarchive (bsdtar) reads as an empty name; rename it", ErrInvalidName, c)
	}
	for _, r := range c {
		if r == 0 || unicode.IsControl(r) || r == 0xFFFE || r == 0xFFFF {
			return fmt.Errorf("%w: path component %q contains the character %U, which XML cannot carry; rename it", ErrInvalidName, c, r)
		}
	}
	return nil
}
