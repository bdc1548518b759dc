package facts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse/gatehouse/policy"
)

// Files are the open files a program's facts are read from: one regular
// file, or for a bundle three — the bundle directory, its
// Contents/Info.plist and its main executable. Whoever opened them could
// read them; a daemon given them (over a socket) reads nothing else, so it
// reveals nothing of files its caller cannot open.
type Files struct {
	// Path is the program's absolute path, symbolic links resolved.
	Path string
	// List is the open files, in the order FromFiles takes them.
	List []*os.File
}

// Close closes every file.
func (fs Files) Close() {
	for _, f := range fs.List {
		f.Close()
	}
}

// Open opens the program, script, package or bundle at path for reading, as
// Program does (a relative path against the working directory, symbolic
// links resolved), without ever waiting: a named pipe or device found
// under the path — even one swapped in after a check — is refused, not
// opened for a read that would block until someone writes to it.
func Open(path string) (Files, error) {
	resolved, err := resolve(path)
	if err != nil {
		return Files{}, err
	}
	f, err := OpenRead(resolved)
	if err != nil {
		return Files{}, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return Files{}, fmt.Errorf("stat %s: %w", resolved, err)
	}
	if !fi.IsDir() {
		return Files{Path: resolved, List: []*os.File{f}}, nil
	}
	info, exe, err := openBundle(resolved)
	if err != nil {
		f.Close()
		return Files{}, err
	}
	return Files{Path: resolved, List: []*os.File{f, info, exe}}, nil
}

// FromFiles gathers the facts of a program from files as Open returns them
// (a regular file, or a bundle's three), under the name path. It reads
// nothing but those files, stops when ctx is done, and refuses a file
// larger than maxSize bytes (0: no limit), so that a caller who hands over
// a huge or endless file costs a bounded amount of work.
//
// It reports how many of files it used: the rest belong to the caller.
func FromFiles(ctx context.Context, files []*os.File, path string, maxSize int64) (policy.Subject, int, error) {
	if len(files) == 0 {
		return policy.Subject{}, 0, errors.New("no file given")
	}
	g := gather{ctx: ctx, want: All, maxSize: maxSize}
	fi, err := files[0].Stat()
	if err != nil {
		return policy.Subject{}, 0, fmt.Errorf("stat %s: %w", path, err)
	}
	if !fi.IsDir() {
		s, err := g.file(files[0], fi, path)
		return s, 1, err
	}
	if len(files) < 3 {
		return policy.Subject{}, 0, fmt.Errorf("%s is a directory: an app bundle is read from three files (the directory, its Contents/Info.plist and its main executable), and %d were given", path, len(files))
	}
	s, err := g.bundle(files[0], files[1], files[2], path)
	return s, 3, err
}

// resolve makes path absolute and resolves its symbolic links, because the
// kernel executes the link's target.
func resolve(path string) (string, error) {
	if path == "" {
		return "", errors.New("no program given: pass the path of a program, script, package or app bundle")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("make %s absolute: %w", path, err)
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !strings.ContainsRune(path, filepath.Separator) {
			return "", fmt.Errorf("%s not found in the working directory: for a command on PATH, give its full path, as printed by `command -v %s`: %w",
				path, path, errno(err))
		}
		return "", openError(abs, err)
	}
	return resolved, nil
}

// OpenRead opens path for reading without blocking and refuses anything
// but a regular file or a directory: a named pipe swapped in under a path
// cannot hold the opener.
func OpenRead(path string) (*os.File, error) {
	f, err := os.OpenFile(path, readFlags, 0)
	if err != nil {
		return nil, openError(path, err)
	}
	if err := regularOrDir(f, path); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// regularOrDir refuses an open file that is neither a regular file nor a
// directory, before anything reads from it.
func regularOrDir(f *os.File, path string) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", path, err)
	}
	if m := fi.Mode(); !m.IsRegular() && !m.IsDir() {
		return fmt.Errorf("%s is %s, not a program file: give the path of a program, script, package or app bundle", path, fileKind(m))
	}
	return nil
}

// openBundle opens the Info.plist and main executable of the bundle
// directory at path, never outside it.
func openBundle(path string) (info, exe *os.File, err error) {
	if detectType(nil, filepath.Base(path), true) == policy.TypeUnknown {
		return nil, nil, notBundle(path)
	}
	// os.Root keeps every open below the bundle, whatever Info.plist names
	// and wherever the bundle's symbolic links point.
	root, err := os.OpenRoot(path)
	if err != nil {
		return nil, nil, openError(path, err)
	}
	defer root.Close()
	if info, err = openInRoot(root, infoPlistName); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("bundle %s: %s is missing: this is not a complete bundle; reinstall it, or give the path of the program file inside it: %w",
				path, infoPlistName, errno(err))
		}
		return nil, nil, fmt.Errorf("bundle %s: %w", path, err)
	}
	d, err := readInfoPlist(info)
	if err != nil {
		info.Close()
		return nil, nil, fmt.Errorf("bundle %s: %w", path, err)
	}
	exePath, err := mainExecutable(d, path)
	if err != nil {
		info.Close()
		return nil, nil, err
	}
	if exe, err = openInRoot(root, exePath); err != nil {
		info.Close()
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("bundle %s: main executable %s (CFBundleExecutable) is missing: the bundle is damaged; reinstall it: %w",
				path, exePath, errno(err))
		}
		return nil, nil, fmt.Errorf("bundle %s: main executable %s cannot be opened inside the bundle: %w", path, exePath, err)
	}
	return info, exe, nil
}

// openInRoot opens name below root for reading without blocking; it must
// be a regular file.
func openInRoot(root *os.Root, name string) (*os.File, error) {
	f, err := root.OpenFile(name, readFlags, 0)
	if err != nil {
		return nil, err
	}
	if err := regularFile(f, name); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// regularFile refuses an open file that is not a regular file.
func regularFile(f *os.File, name string) error {
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", name, err)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is %s, not a file: the bundle is malformed", name, fileKind(fi.Mode()))
	}
	return nil
}

// limitedReaderAt fails reads once ctx is done, so hashing a file stops
// when the one who asked for it has gone.
type limitedReaderAt struct {
	ctx context.Context
	r   io.ReaderAt
}

func (l limitedReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if err := l.ctx.Err(); err != nil {
		return 0, fmt.Errorf("stopped after %d bytes: %w", off, context.Cause(l.ctx))
	}
	return l.r.ReadAt(p, off)
}
