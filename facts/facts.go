// Package facts gathers the policy facts of a program on this machine: its
// type, absolute path, SHA-1 and SHA-256, bundle identifier and version, and
// the URL it was downloaded from. It also reports who is asking (CurrentUser,
// LookupUser) and where (Machine). Per-exec facts (arguments, uid, parent
// chain) come from the event source, not from here.
//
// Program is for callers that have a path (the CLI). File is for the
// enforcer, which already holds a descriptor for the exact file being
// executed: the contents are read from that descriptor with pread and never
// re-opened by path, so a file swapped under the same name between the
// kernel's event and the hashing cannot be hashed in its place.
//
// Types: ELF and Mach-O files are binaries, files starting with "#!" are
// scripts, a directory named NAME.app is a bundle and NAME.prefPane a system
// preference, and installer packages (.pkg, .mpkg, .deb, .rpm, or their
// magic numbers) are packages; anything else is policy.TypeUnknown, still
// hashed. A file inside a bundle (Foo.app/Contents/MacOS/Foo) is reported as
// the binary it is, with its own path and hashes: this package does not map
// it to its bundle; the enforcer decides that.
//
// For a bundle, Path is the bundle directory, BundleID and Version come from
// Contents/Info.plist, and the hashes are those of the main executable
// (Contents/MacOS/CFBundleExecutable).
//
// Source is the download URL the OS recorded: the user.xdg.origin.url
// extended attribute on Linux (written by browsers and wget --xattr), the
// first URL of com.apple.metadata:kMDItemWhereFroms on macOS. The file's
// owner can set or remove these attributes at will, so Source is a hint, not
// evidence: an attribute that cannot be read or parsed leaves Source empty
// rather than failing the whole gathering.
//
// Publisher, TeamID and SigningID are left empty. Linux ELF files carry no
// code signature; macOS code signing is not read yet.
package facts

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse/gatehouse/internal/plist"
	"github.com/gatehouse/gatehouse/policy"
)

const (
	// headerSize caps the bytes read for type detection.
	headerSize = 4 << 10
	// hashBufSize is the fixed buffer hashing streams through.
	hashBufSize = 64 << 10
	// maxInfoPlist caps the size of a bundle's Info.plist (real ones are a
	// few kilobytes); the bundle's author controls this file.
	maxInfoPlist = 4 << 20
)

// Program gathers the facts of the program, script, package or bundle at
// path. A relative path is made absolute against the working directory, and
// symbolic links are resolved, because the kernel executes the link's
// target; the resulting path is the subject's Path. path is not looked up
// on PATH.
func Program(path string) (policy.Subject, error) {
	if path == "" {
		return policy.Subject{}, errors.New("no program given: pass the path of a program, script, package or app bundle")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return policy.Subject{}, fmt.Errorf("make %s absolute: %w", path, err)
	}
	resolved, err := filepath.EvalSymlinks(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !strings.ContainsRune(path, filepath.Separator) {
			return policy.Subject{}, fmt.Errorf("%s not found in the working directory: for a command on PATH, give its full path, as printed by `command -v %s`: %w",
				path, path, errno(err))
		}
		return policy.Subject{}, openError(abs, err)
	}
	f, err := os.Open(resolved)
	if err != nil {
		return policy.Subject{}, openError(resolved, err)
	}
	defer f.Close()
	return File(f, resolved)
}

// File gathers the facts of the open file f, whose path is path. path is
// recorded as given (pass the absolute path the kernel reported) and its
// base name is used for the type; the contents are read from f only.
//
// If f is a directory it must be a bundle (.app or .prefPane). A bundle's
// Info.plist and main executable are then opened below path, never outside
// it; the kernel never executes a directory, so this case comes from the CLI,
// not from the enforcer.
func File(f *os.File, path string) (policy.Subject, error) { return file(f, path, true) }

// FileSHA256 is File without SHA-1 (Subject.SHA1 stays empty): for a policy
// with no SHA-1 criterion, it spares a third of the hashing.
func FileSHA256(f *os.File, path string) (policy.Subject, error) { return file(f, path, false) }

func file(f *os.File, path string, withSHA1 bool) (policy.Subject, error) {
	fi, err := f.Stat()
	if err != nil {
		return policy.Subject{}, fmt.Errorf("stat %s: %w", path, err)
	}
	name := filepath.Base(path)
	if fi.IsDir() {
		return bundle(f, path, name, withSHA1)
	}
	if !fi.Mode().IsRegular() {
		return policy.Subject{}, fmt.Errorf("%s is %s, not a program file: give the path of a program, script, package or app bundle",
			path, fileKind(fi.Mode()))
	}
	header, err := readHeader(f, fi.Size())
	if err != nil {
		return policy.Subject{}, readError(path, err)
	}
	s := policy.Subject{Type: detectType(header, name, false), Path: path}
	if s.SHA1, s.SHA256, err = hashFile(f, fi.Size(), withSHA1); err != nil {
		return policy.Subject{}, fmt.Errorf("hash %s: %w", path, err)
	}
	s.Source = source(f)
	return s, nil
}

// Hash returns the lowercase hex SHA-1 and SHA-256 of the first size bytes
// of r, computed in one pass through a fixed buffer. It fails if r ends
// before size bytes (the file shrank while being read).
func Hash(r io.ReaderAt, size int64) (sha1hex, sha256hex string, err error) {
	return hashFile(r, size, true)
}

func hashFile(r io.ReaderAt, size int64, withSHA1 bool) (sha1hex, sha256hex string, err error) {
	if size < 0 {
		return "", "", fmt.Errorf("negative size %d", size)
	}
	h256 := sha256.New()
	var h1 hash.Hash
	if withSHA1 {
		h1 = sha1.New()
	}
	buf := make([]byte, min(size, hashBufSize))
	for off := int64(0); off < size; {
		b := buf[:min(int64(len(buf)), size-off)]
		n, err := r.ReadAt(b, off)
		if n == 0 && err == nil {
			return "", "", io.ErrNoProgress
		}
		if h1 != nil {
			h1.Write(b[:n])
		}
		h256.Write(b[:n])
		off += int64(n)
		if err == io.EOF && off < size {
			return "", "", fmt.Errorf("read %d of %d bytes: file shrank while being hashed: %w", off, size, io.ErrUnexpectedEOF)
		}
		if err != nil && err != io.EOF {
			return "", "", err
		}
	}
	if h1 != nil {
		sha1hex = hex.EncodeToString(h1.Sum(nil))
	}
	return sha1hex, hex.EncodeToString(h256.Sum(nil)), nil
}

// readHeader returns up to headerSize bytes from the start of f.
func readHeader(f *os.File, size int64) ([]byte, error) {
	buf := make([]byte, min(size, headerSize))
	n, err := f.ReadAt(buf, 0)
	if err != nil && err != io.EOF {
		return nil, err
	}
	return buf[:n], nil
}

// bundle gathers the facts of the bundle directory dir at path.
func bundle(dir *os.File, path, name string, withSHA1 bool) (policy.Subject, error) {
	t := detectType(nil, name, true)
	if t == policy.TypeUnknown {
		return policy.Subject{}, fmt.Errorf("%s is a directory, not an app bundle (.app) or preference pane (.prefPane): give the path of a program file", path)
	}
	// os.Root keeps every open below the bundle, whatever Info.plist names
	// and wherever the bundle's symbolic links point.
	root, err := os.OpenRoot(path)
	if err != nil {
		return policy.Subject{}, openError(path, err)
	}
	defer root.Close()

	info, err := readInfoPlist(root)
	if err != nil {
		return policy.Subject{}, fmt.Errorf("bundle %s: %w", path, err)
	}
	s := policy.Subject{Type: t, Path: path}
	s.BundleID, _ = info["CFBundleIdentifier"].(string)
	s.Version, _ = info["CFBundleShortVersionString"].(string)
	if s.Version == "" {
		s.Version, _ = info["CFBundleVersion"].(string)
	}

	// Without CFBundleExecutable, CFBundle falls back to the bundle's name
	// without its extension; do the same.
	exeName, _ := info["CFBundleExecutable"].(string)
	if exeName == "" {
		exeName = strings.TrimSuffix(name, filepath.Ext(name))
	}
	if exeName == "." || exeName == ".." || strings.ContainsAny(exeName, `/\`) || strings.ContainsRune(exeName, 0) {
		return policy.Subject{}, fmt.Errorf("bundle %s: Info.plist names main executable %q, which is not a file name: the bundle is malformed", path, exeName)
	}
	exePath := "Contents/MacOS/" + exeName
	exe, err := root.Open(exePath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return policy.Subject{}, fmt.Errorf("bundle %s: main executable %s (CFBundleExecutable) is missing: the bundle is damaged; reinstall it: %w",
				path, exePath, errno(err))
		}
		return policy.Subject{}, fmt.Errorf("bundle %s: main executable %s cannot be opened inside the bundle: %w", path, exePath, err)
	}
	defer exe.Close()
	fi, err := exe.Stat()
	if err != nil {
		return policy.Subject{}, fmt.Errorf("stat %s: %w", filepath.Join(path, exePath), err)
	}
	if !fi.Mode().IsRegular() {
		return policy.Subject{}, fmt.Errorf("bundle %s: main executable %s is %s, not a file: the bundle is malformed",
			path, exePath, fileKind(fi.Mode()))
	}
	if s.SHA1, s.SHA256, err = hashFile(exe, fi.Size(), withSHA1); err != nil {
		return policy.Subject{}, fmt.Errorf("hash %s: %w", filepath.Join(path, exePath), err)
	}

	// Archive tools copy the download attributes onto the extracted bundle
	// directory, and sometimes only onto the files inside it.
	if s.Source = source(dir); s.Source == "" {
		s.Source = source(exe)
	}
	return s, nil
}

// readInfoPlist reads and parses Contents/Info.plist of the bundle at root.
func readInfoPlist(root *os.Root) (map[string]any, error) {
	const name = "Contents/Info.plist"
	f, err := root.Open(name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s is missing: this is not a complete bundle; reinstall it, or give the path of the program file inside it: %w",
				name, errno(err))
		}
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxInfoPlist+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > maxInfoPlist {
		return nil, fmt.Errorf("%s is larger than %d bytes: the bundle is malformed", name, maxInfoPlist)
	}
	info, err := plist.Dict(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return info, nil
}

// openError describes an error from resolving or opening path with what the
// user can do about it. The errno stays wrapped for errors.Is.
func openError(path string, err error) error {
	err = errno(err)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s not found: check the path (for a command on PATH, give its full path, as printed by `command -v NAME`): %w", path, err)
	case errors.Is(err, fs.ErrPermission):
		return fmt.Errorf("%s: permission denied: gathering facts needs to read the file; run as a user who can read it, or as root: %w", path, err)
	}
	return fmt.Errorf("open %s: %w", path, err)
}

// errno strips the operation and path from a *fs.PathError, for messages
// that name the path themselves.
func errno(err error) error {
	if pe, ok := errors.AsType[*fs.PathError](err); ok {
		return pe.Err
	}
	return err
}

// readError describes an error from reading an open file.
func readError(path string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return openError(path, err)
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("read %s: the file changed while being read; try again: %w", path, err)
	}
	return fmt.Errorf("read %s: %w", path, err)
}

// fileKind names a non-regular file type for error messages.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	}
	return "a special file"
}
