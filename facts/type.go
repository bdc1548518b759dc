package facts

import (
	"bytes"
	"encoding/binary"
	"path"
	"strings"

	"github.com/gatehouse/gatehouse/policy"
)

// detectType classifies a program from the first bytes of the file (header,
// at most headerSize) and its base name. isDir says whether it is a directory;
// directories are only ever bundles, preference panes or unknown.
//
// The content is checked before the name, so an ELF file called foo.deb is a
// binary; the package extensions matter only for content that is not itself
// recognisable. Extensions are compared case-insensitively, as macOS does on
// its default (case-insensitive) file systems.
func detectType(header []byte, name string, isDir bool) policy.AppType {
	name = strings.TrimRight(name, "/")
	if isDir {
		switch {
		case hasExt(name, ".app"):
			return policy.Bundle
		case hasExt(name, ".prefPane"):
			return policy.SystemPreference
		}
		return policy.TypeUnknown
	}
	switch {
	case bytes.HasPrefix(header, []byte("\x7fELF")), isMachO(header):
		return policy.Binary
	case bytes.HasPrefix(header, []byte("#!")):
		return policy.Script
	case bytes.HasPrefix(header, []byte("xar!")), // flat macOS installer package
		bytes.HasPrefix(header, []byte("!<arch>\ndebian-binary")), // .deb
		bytes.HasPrefix(header, []byte{0xed, 0xab, 0xee, 0xdb}):   // RPM lead
		return policy.Package
	}
	for _, ext := range []string{".pkg", ".mpkg", ".deb", ".rpm"} {
		if hasExt(name, ext) {
			return policy.Package
		}
	}
	return policy.TypeUnknown
}

// hasExt reports whether name ends in ext (case-insensitively) and has
// something before it: a file called just ".app" is not a bundle.
func hasExt(name, ext string) bool {
	return len(name) > len(ext) && strings.EqualFold(name[len(name)-len(ext):], ext)
}

// isMachO reports whether header starts like a Mach-O file: a thin 32- or
// 64-bit image in either byte order, or a universal ("fat") file.
//
// The fat magic 0xcafebabe is also the magic of Java class files. As file(1)
// does, a small architecture count (the next four bytes) means Mach-O; a
// class file has its version there, and every class-file major version is
// 45 or more.
func isMachO(header []byte) bool {
	if len(header) < 4 {
		return false
	}
	var order binary.ByteOrder
	switch binary.BigEndian.Uint32(header) {
	case 0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe:
		return true
	case 0xcafebabe, 0xcafebabf: // FAT_MAGIC, FAT_MAGIC_64 (stored big-endian)
		order = binary.BigEndian
	case 0xbebafeca, 0xbfbafeca: // the same, byte-swapped
		order = binary.LittleEndian
	default:
		return false
	}
	if len(header) < 8 {
		return false
	}
	n := order.Uint32(header[4:8])
	return n >= 1 && n < 45
}

// Interpreter returns the interpreter a script names on its "#!" line, or ""
// if header does not start with "#!" or names none. header is the start of
// the file; only its first line is read.
//
// The line is split on spaces and tabs as the Linux kernel does, and the
// first word is returned as written (usually an absolute path such as
// /bin/sh). When that word is env (/usr/bin/env python3), the program env
// runs is returned instead: a name env looks up on PATH, after skipping env's
// options (-S, -i, -u NAME, ...) and NAME=VALUE assignments. If env is given
// no program, env itself is returned.
func Interpreter(header []byte) string {
	line, ok := bytes.CutPrefix(header, []byte("#!"))
	if !ok {
		return ""
	}
	if i := bytes.IndexByte(line, '\n'); i >= 0 {
		line = line[:i]
	}
	words := strings.FieldsFunc(string(line), func(r rune) bool { return r == ' ' || r == '\t' })
	if len(words) == 0 {
		return ""
	}
	interp := words[0]
	if path.Base(interp) != "env" {
		return interp
	}
	options := true
	for i := 1; i < len(words); i++ {
		w := words[i]
		switch {
		case options && w == "--":
			options = false
		case options && (w == "-u" || w == "-C" || w == "-P" || w == "--unset" || w == "--chdir"):
			i++ // the option's argument
		case options && strings.HasPrefix(w, "-S") && len(w) > 2:
			return w[2:] // -Sprogram
		case options && strings.HasPrefix(w, "-"):
		case strings.Contains(w, "="):
		default:
			return w
		}
	}
	return interp
}
