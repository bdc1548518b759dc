// Package bom writes and reads Apple's bill-of-materials ("Bom") files, the
// per-component list of payload files inside a macOS flat installer package:
// path, mode, owner, size, modification time, checksum and symlink target.
//
// Write lays a Bom out block for block as bomutils' mkbom does
// (github.com/hogliux/bomutils, the open mkbom that Linux-built packages have
// used for years): the "BomInfo", "Paths", "HLIndex", "VIndex" and "Size64"
// variables in that order, path ids given breadth-first with each directory's
// children in byte order, leaves of 256 paths under one branch node, empty
// hard-link, VIndex and Size64 trees. The tests hold Write's output
// byte-identical to Boms made by that mkbom (testdata/README.md). Apple's own
// mkbom differs in details that no reader we know of relies on (a flags word
// of 0x000f where bomutils writes 3, eight trailing zero bytes per record,
// per-architecture BomInfo entries for Mach-O files); Read accepts both.
//
// Read parses a Bom, ours, bomutils' or Apple's, as untrusted input: every
// offset and length is checked against the file, trees that loop are
// refused, sizes and counts are bounded (MaxEntries, MaxPathLen,
// MaxLinkTargetLen, MaxSize), and a malformed file yields an error, never a
// panic.
//
// What the package does not do: hard links are not recorded as such (each
// path is its own entry, as bomutils does; Apple records them in HLIndex),
// files of 4 GiB or more are refused (they need the Size64 tree, which no
// tool here can check), Mach-O architecture details are not written, and
// devices, fifos and sockets are not payload (Write and EntriesFromDir
// refuse them; Read reports devices found in a foreign Bom with their mode
// and without their device number).
package bom

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// Entry is one path of a Bom.
type Entry struct {
	// Path is "." for the payload's root and "./usr/local/bin/x" below it,
	// as lsbom prints them.
	Path string
	// Mode is the Unix mode: type bits (directory, regular file or symlink)
	// and permissions, 0o40755 or 0o100644 for instance.
	Mode uint32
	// UID and GID are the owner the Installer gives the path.
	UID, GID uint32
	// Size is the file's length in bytes, the target's length for a
	// symlink; directories carry 0 by convention.
	Size uint64
	// MTime is the modification time, whole seconds from 1970 to 2106.
	MTime time.Time
	// Checksum is the file's (the link target's) CRC as cksum(1) prints
	// it; 0 for directories.
	Checksum uint32
	// LinkTarget is a symlink's target; "" for everything else.
	LinkTarget string
}

// Limits on what Write produces and Read accepts. They are far above any
// payload Gatehouse ships and low enough that a hostile Bom cannot make Read
// allocate without bound.
const (
	// MaxEntries is the most paths one Bom may hold.
	MaxEntries = 1_000_000
	// MaxPathLen is the longest Path in bytes, "./" included (macOS's
	// PATH_MAX is 1024).
	MaxPathLen = 1024
	// MaxLinkTargetLen is the longest LinkTarget in bytes.
	MaxLinkTargetLen = 1024
	// MaxSize is the largest Bom file Write produces and Read reads.
	MaxSize = 1 << 30
)

// Unix file type bits, as Entry.Mode carries them.
const (
	modeType    = 0o170000
	modeDir     = 0o040000
	modeRegular = 0o100000
	modeSymlink = 0o120000
	modeChar    = 0o020000
	modeBlock   = 0o060000
)

// ErrInvalidEntry is wrapped by every error Write and EntriesFromDir return
// for an entry the format cannot carry or this package refuses.
var ErrInvalidEntry = errors.New("invalid bom entry")

// ErrMalformed is wrapped by every error Read returns for a file that is not
// a well-formed Bom.
var ErrMalformed = errors.New("malformed bom")

func invalid(path, format string, args ...any) error {
	return fmt.Errorf("%w %q: %s", ErrInvalidEntry, path, fmt.Sprintf(format, args...))
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// checkName reports what is wrong with one path component, or "".
// Components are what the Bom stores; the rules keep every stored name
// something the Installer can create: no "/" (the separator), no NUL (the
// format's terminator), no "." or ".." (which would step out of the
// payload), valid UTF-8 (what APFS and HFS+ store).
func checkName(name string) string {
	switch {
	case name == "":
		return "has an empty component (a doubled or trailing \"/\")"
	case name == "." || name == "..":
		return "has a \".\" or \"..\" component"
	case strings.IndexByte(name, 0) >= 0:
		return "contains a NUL byte"
	case strings.IndexByte(name, '/') >= 0:
		return "has a component containing \"/\""
	case !utf8.ValidString(name):
		return "is not valid UTF-8"
	}
	return ""
}

// checkPath reports what is wrong with p as an Entry.Path, or "".
func checkPath(p string) string {
	if len(p) > MaxPathLen {
		return fmt.Sprintf("is %d bytes, over the %d-byte limit", len(p), MaxPathLen)
	}
	if p == "." {
		return ""
	}
	rest, ok := strings.CutPrefix(p, "./")
	if !ok {
		return "must be \".\" or start with \"./\""
	}
	for name := range strings.SplitSeq(rest, "/") {
		if why := checkName(name); why != "" {
			return why
		}
	}
	return ""
}

// checkEntry reports what is wrong with e for Write, or nil. The path itself
// is checked by checkPath; the tree (parents, duplicates) by the caller.
func checkEntry(e *Entry) error {
	if e.Mode > math.MaxUint16 {
		return invalid(e.Path, "mode %#o has bits above the 16 the format stores; use type bits and permissions only", e.Mode)
	}
	switch e.Mode & modeType {
	case modeDir:
		if e.Checksum != 0 {
			return invalid(e.Path, "a directory carries no checksum; set it to 0")
		}
	case modeRegular:
	case modeSymlink:
		if e.LinkTarget == "" {
			return invalid(e.Path, "symlink has no target")
		}
		if len(e.LinkTarget) > MaxLinkTargetLen {
			return invalid(e.Path, "symlink target is %d bytes, over the %d-byte limit", len(e.LinkTarget), MaxLinkTargetLen)
		}
		if strings.IndexByte(e.LinkTarget, 0) >= 0 {
			return invalid(e.Path, "symlink target contains a NUL byte")
		}
		if !utf8.ValidString(e.LinkTarget) {
			return invalid(e.Path, "symlink target is not valid UTF-8")
		}
	default:
		return invalid(e.Path, "mode %#o is not a directory, regular file or symlink; a Bom payload holds only those", e.Mode)
	}
	if e.Mode&modeType != modeSymlink && e.LinkTarget != "" {
		return invalid(e.Path, "only a symlink has a link target")
	}
	if e.Size > math.MaxUint32 {
		return invalid(e.Path, "size %d is 4 GiB or more, which needs the Size64 tree this writer does not write", e.Size)
	}
	if _, err := bomTime(e.MTime); err != nil {
		return invalid(e.Path, "%v", err)
	}
	return nil
}

// bomTime is t as the format's unsigned 32-bit seconds since 1970; the
// fraction of a second is dropped.
func bomTime(t time.Time) (uint32, error) {
	s := t.Unix()
	if s < 0 || s > math.MaxUint32 {
		return 0, fmt.Errorf("mtime %s is outside 1970-01-01..2106-02-07, the format's range; set MTime (e.g. to the commit's time)", t.UTC().Format(time.RFC3339))
	}
	return uint32(s), nil
}

// parentPath is the Path of p's directory; p is not ".".
func parentPath(p string) string {
	return p[:strings.LastIndexByte(p, '/')]
}
