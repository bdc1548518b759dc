package bom

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// EntriesFromDir lists the tree at root as Bom entries, root itself as ".",
// in the order Write stores them (so a Read of the written Bom compares
// equal). Every path is given uid and gid, as mkbom -u and -g do; modes and
// mtimes come from the files (lstat; root itself may be a symlink to a
// directory); regular files are read for their size and cksum(1) checksum,
// symlinks' targets are checksummed and their size is the target's length.
//
// Unlike bomutils' mkbom, which skips names starting with ".", every name is
// listed: a payload builder decides what is in its directory. Hard links are
// listed as separate files. Anything other than a directory, regular file or
// symlink is refused, as are names and targets Write would refuse, so that
// Write accepts what this returns.
func EntriesFromDir(root string, uid, gid uint32) ([]Entry, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return nil, fmt.Errorf("bom entries: %w", err)
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("bom entries: %s is not a directory", root)
	}
	rootEntry, err := entry(root, ".", fi, uid, gid)
	if err != nil {
		return nil, err
	}
	entries := []Entry{rootEntry}
	// Breadth-first over directories, each one's names in byte order
	// (os.ReadDir sorts them): Write's order.
	dirs := []string{"."}
	for len(dirs) > 0 {
		rel := dirs[0]
		dirs = dirs[1:]
		des, err := os.ReadDir(filepath.Join(root, filepath.FromSlash(rel)))
		if err != nil {
			return nil, fmt.Errorf("bom entries: %w", err)
		}
		for _, de := range des {
			p := rel + "/" + de.Name()
			if why := checkName(de.Name()); why != "" {
				return nil, invalid(p, "path %s", why)
			}
			if len(p) > MaxPathLen {
				return nil, invalid(p, "path is %d bytes, over the %d-byte limit", len(p), MaxPathLen)
			}
			if len(entries) >= MaxEntries {
				return nil, fmt.Errorf("%w: %s holds more than %d paths", ErrInvalidEntry, root, MaxEntries)
			}
			fi, err := de.Info()
			if err != nil {
				return nil, fmt.Errorf("bom entries: %w", err)
			}
			e, err := entry(filepath.Join(root, filepath.FromSlash(p)), p, fi, uid, gid)
			if err != nil {
				return nil, err
			}
			entries = append(entries, e)
			if fi.IsDir() {
				dirs = append(dirs, p)
			}
		}
	}
	return entries, nil
}

// entry describes the file at name (on disk), path p (in the Bom), whose
// lstat is fi.
func entry(name, p string, fi fs.FileInfo, uid, gid uint32) (Entry, error) {
	e := Entry{Path: p, UID: uid, GID: gid, Mode: uint32(fi.Mode().Perm())}
	if fi.Mode()&fs.ModeSetuid != 0 {
		e.Mode |= 0o4000
	}
	if fi.Mode()&fs.ModeSetgid != 0 {
		e.Mode |= 0o2000
	}
	if fi.Mode()&fs.ModeSticky != 0 {
		e.Mode |= 0o1000
	}
	if _, err := bomTime(fi.ModTime()); err != nil {
		return e, invalid(p, "%v", err)
	}
	e.MTime = time.Unix(fi.ModTime().Unix(), 0).UTC()
	switch fi.Mode().Type() {
	case fs.ModeDir:
		e.Mode |= modeDir
	case fs.ModeSymlink:
		e.Mode |= modeSymlink
		t, err := os.Readlink(name)
		if err != nil {
			return e, fmt.Errorf("bom entries: %w", err)
		}
		e.LinkTarget = t
		e.Size = uint64(len(t))
		e.Checksum = cksumString(t)
	case 0:
		e.Mode |= modeRegular
		size, sum, err := checksumFile(name, fi)
		if err != nil {
			return e, err
		}
		e.Size, e.Checksum = size, sum
	default:
		return e, invalid(p, "is a %v; a payload holds only directories, regular files and symlinks", fi.Mode().Type())
	}
	return e, checkEntry(&e)
}

// checksumFile reads the regular file at name, whose lstat is fi, for its
// size and cksum. The file opened must be the one listed and its length
// must not change while it is read: a payload that changes under the
// builder would get a Bom that does not describe it.
func checksumFile(name string, fi fs.FileInfo) (uint64, uint32, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, 0, fmt.Errorf("bom entries: %w", err)
	}
	defer f.Close()
	ofi, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("bom entries: %w", err)
	}
	if !os.SameFile(fi, ofi) {
		return 0, 0, fmt.Errorf("bom entries: %s was replaced while it was listed; build from a directory nothing else changes", name)
	}
	var c cksum
	n, err := io.Copy(&c, f)
	if err != nil {
		return 0, 0, fmt.Errorf("bom entries: read %s: %w", name, err)
	}
	if n != fi.Size() {
		return 0, 0, fmt.Errorf("bom entries: %s changed size while it was read (%d, then %d bytes); build from a directory nothing else changes", name, fi.Size(), n)
	}
	return uint64(n), c.Sum32(), nil
}
