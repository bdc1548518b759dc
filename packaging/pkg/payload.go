// Package pkg builds the parts of a macOS flat installer package
// (docs/packaging.md): a component package's Payload and Scripts archives
// (cpio in the POSIX.1 "odc" format, gzip-compressed, as Apple's pkgbuild
// writes them), from a staging directory laid out as the files will be
// installed.
package pkg

import (
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	cpio "github.com/korylprince/go-cpio-odc"
)

// The odc header's fields are octal: 6 digits for most, 11 for the size
// and mtime. The library truncates a value that does not fit, so these
// are checked first.
const (
	maxOdc6    = 1<<18 - 1 // 0777777
	maxOdcSize = 1<<33 - 1 // 077777777777: 8 GiB
	maxPath    = 1024
)

// Owner is whom every archived file belongs to (root:wheel for a
// payload, as pkgbuild's --ownership recommended).
type Owner struct{ UID, GID uint32 }

// Entry is one file of an archive, as it was read from the staging
// directory.
type Entry struct {
	Path   string // "." or "./a/b": relative, as pkgbuild writes them
	Mode   fs.FileMode
	Size   int64
	Link   string // a symbolic link's target
	source string // the staged file, for its bytes
}

// Walk lists the staging directory root: the directory itself as ".",
// then everything below in lexical order. Only directories, regular files
// and symbolic links may be there.
func Walk(root string) ([]Entry, error) {
	var out []Entry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		name := "."
		if rel != "." {
			name = "./" + filepath.ToSlash(rel)
		}
		if len(name) > maxPath {
			return fmt.Errorf("%s: path longer than %d bytes", name, maxPath)
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := Entry{Path: name, Mode: fi.Mode(), source: p}
		switch {
		case fi.Mode().IsRegular():
			e.Size = fi.Size()
		case fi.Mode()&fs.ModeSymlink != 0:
			if e.Link, err = os.Readlink(p); err != nil {
				return err
			}
		case fi.IsDir():
		default:
			return fmt.Errorf("%s: only directories, regular files and symbolic links go in a package, not %s", name, fi.Mode().Type())
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
	return out, nil
}

// WriteArchive writes entries as a gzip-compressed odc cpio archive to w,
// owned by owner, every file's time mtime (reproducible builds). It
// returns the number of bytes before compression (PackageInfo's
// install-kbytes counts the files themselves; see InstallKBytes).
func WriteArchive(w io.Writer, entries []Entry, owner Owner, mtime time.Time) (int64, error) {
	if owner.UID > maxOdc6 || owner.GID > maxOdc6 {
		return 0, fmt.Errorf("owner %d:%d does not fit the archive's fields", owner.UID, owner.GID)
	}
	if len(entries) > maxOdc6 {
		return 0, fmt.Errorf("%d files: an archive holds at most %d", len(entries), maxOdc6)
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return 0, err
	}
	zw.ModTime = mtime
	cw := cpio.NewWriter(zw, 0)
	for i, e := range entries {
		f := &cpio.File{Inode: uint64(i + 1), FileMode: e.Mode, UID: uint64(owner.UID), GID: uint64(owner.GID),
			NLink: 1, ModifiedTime: mtime, Path: e.Path}
		if e.Mode.IsDir() {
			f.NLink = 2
		}
		switch {
		case e.Mode&fs.ModeSymlink != 0:
			f.Body = []byte(e.Link)
		case e.Mode.IsRegular():
			if e.Size > maxOdcSize {
				return 0, fmt.Errorf("%s: %d bytes; an odc archive holds files up to 8 GiB", e.Path, e.Size)
			}
			if f.Body, err = os.ReadFile(e.source); err != nil {
				return 0, err
			}
			if int64(len(f.Body)) != e.Size {
				return 0, fmt.Errorf("%s changed while the package was built", e.source)
			}
		}
		if err := cw.WriteFile(f); err != nil {
			return 0, fmt.Errorf("%s: %w", e.Path, err)
		}
	}
	n, err := cw.Close()
	if err != nil {
		return 0, err
	}
	return n, errors.Join(zw.Close())
}

// InstallKBytes is what the files take once installed, in KiB rounded up
// per file, as PackageInfo's install-kbytes says.
func InstallKBytes(entries []Entry) int64 {
	var kb int64
	for _, e := range entries {
		kb += (e.Size + 1023) / 1024
	}
	return kb
}
