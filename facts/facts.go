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
// Publisher, TeamID and SigningID come from a Mach-O file's code
// signature (a bundle's main executable's), read and verified in pure Go on
// every OS by facts/codesign when asked (Want.Signature): the pages against
// the code directory, the CMS signature over it, the chain to Apple's
// roots. Only a signature that verifies fills them; Subject.Signature says
// what was found (signed by whom, ad-hoc, unsigned, or why it is invalid).
// ELF files and scripts carry no signature.
package facts

import (
	"context"
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
// on PATH. The files are opened as Open does, never blocking on a named
// pipe or device.
func Program(path string) (policy.Subject, error) {
	fs, err := Open(path)
	if err != nil {
		return policy.Subject{}, err
	}
	defer fs.Close()
	s, _, err := FromFiles(context.Background(), fs.List, fs.Path, 0)
	return s, err
}

// File gathers every fact of the open file f, whose path is path. path is
// recorded as given (pass the absolute path the kernel reported) and its
// base name is used for the type; the contents are read from f only.
//
// If f is a directory it must be a bundle (.app or .prefPane). A bundle's
// Info.plist and main executable are then opened below path, never outside
// it; the kernel never executes a directory, so this case comes from the CLI,
// not from the enforcer.
func File(f *os.File, path string) (policy.Subject, error) {
	return FileWant(f, path, All)
}

// Want says which of the costly facts to gather: SHA-1 (a third of the
// hashing; Subject.SHA1 stays empty without it) and the code signature
// (Subject.Signature stays empty without it). KernelCDHash, when set, is
// the cdhash the kernel validated the pages of the file against (macOS):
// the signature must have it, and its pages are not hashed again.
type Want struct {
	SHA1, Signature bool
	KernelCDHash    *[20]byte
}

// All is every fact.
var All = Want{SHA1: true, Signature: true}

// Covers reports whether facts gathered for w hold what o wants.
func (w Want) Covers(o Want) bool {
	return (w.SHA1 || !o.SHA1) && (w.Signature || !o.Signature)
}

// Gathered reports whether s holds what w wants.
func Gathered(s policy.Subject, w Want) bool {
	return (s.SHA1 != "" || !w.SHA1) && (s.Signature != "" || !w.Signature)
}

// FileWant is File gathering only what w wants.
func FileWant(f *os.File, path string, w Want) (policy.Subject, error) {
	return gather{ctx: context.Background(), want: w}.open(f, path)
}

// gather is how one gathering goes: what is wanted, when to stop, and the
// largest file it hashes (0: no limit).
type gather struct {
	ctx     context.Context
	want    Want
	maxSize int64
}

// open gathers the facts of f: a file, or a bundle directory whose other
// files are opened below path.
func (g gather) open(f *os.File, path string) (policy.Subject, error) {
	fi, err := f.Stat()
	if err != nil {
		return policy.Subject{}, fmt.Errorf("stat %s: %w", path, err)
	}
	if !fi.IsDir() {
		return g.file(f, fi, path)
	}
	info, exe, err := openBundle(path)
	if err != nil {
		return policy.Subject{}, err
	}
	defer info.Close()
	defer exe.Close()
	return g.bundle(f, info, exe, path)
}

// file gathers the facts of the regular file f (stat fi) at path.
func (g gather) file(f *os.File, fi os.FileInfo, path string) (policy.Subject, error) {
	name := filepath.Base(path)
	if fi.IsDir() {
		return policy.Subject{}, notBundle(path)
	}
	if !fi.Mode().IsRegular() {
		return policy.Subject{}, fmt.Errorf("%s is %s, not a program file: give the path of a program, script, package or app bundle",
			path, fileKind(fi.Mode()))
	}
	if err := g.sizeOK(path, fi.Size()); err != nil {
		return policy.Subject{}, err
	}
	header, err := readHeader(f, fi.Size())
	if err != nil {
		return policy.Subject{}, readError(path, err)
	}
	s := policy.Subject{Type: detectType(header, name, false), Path: path}
	if s.SHA1, s.SHA256, err = hashFile(g.reader(f), fi.Size(), g.want.SHA1); err != nil {
		return policy.Subject{}, fmt.Errorf("hash %s: %w", path, err)
	}
	if err := g.signature(&s, header, f, fi.Size()); err != nil {
		return policy.Subject{}, fmt.Errorf("code signature of %s: %w", path, err)
	}
	s.Source = source(f)
	return s, nil
}

// sizeOK refuses a file over the gathering's size limit.
func (g gather) sizeOK(path string, size int64) error {
	if g.maxSize > 0 && size > g.maxSize {
		return fmt.Errorf("%s is %d bytes, larger than the %d this check reads: %w", path, size, g.maxSize, ErrTooLarge)
	}
	return nil
}

// ErrTooLarge is a file over the size limit of a gathering.
var ErrTooLarge = errors.New("file too large to check")

// reader reads r until the gathering's context is done.
func (g gather) reader(r io.ReaderAt) io.ReaderAt {
	if g.ctx.Done() == nil {
		return r
	}
	return limitedReaderAt{ctx: g.ctx, r: r}
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

// bundle gathers the facts of the bundle directory dir at path from dir,
// its Info.plist info and its main executable exe, after making sure those
// are the bundle's own (the same files as its Contents/Info.plist and the
// Contents/MacOS file Info.plist names).
func (g gather) bundle(dir, info, exe *os.File, path string) (policy.Subject, error) {
	name := filepath.Base(path)
	t := detectType(nil, name, true)
	if t == policy.TypeUnknown {
		return policy.Subject{}, notBundle(path)
	}
	if err := regularFile(info, infoPlistName); err != nil {
		return policy.Subject{}, fmt.Errorf("bundle %s: %w", path, err)
	}
	d, err := readInfoPlist(info)
	if err != nil {
		return policy.Subject{}, fmt.Errorf("bundle %s: %w", path, err)
	}
	exePath, err := mainExecutable(d, path)
	if err != nil {
		return policy.Subject{}, err
	}
	for _, x := range []struct {
		f    *os.File
		name string
	}{{info, infoPlistName}, {exe, exePath}} {
		same, err := sameFileAt(dir, x.name, x.f)
		if err != nil {
			return policy.Subject{}, fmt.Errorf("bundle %s: %s: %w", path, x.name, err)
		}
		if !same {
			return policy.Subject{}, fmt.Errorf("bundle %s: the file given as %s is not the bundle's (it was replaced, or the caller sent another): try again", path, x.name)
		}
	}
	s := policy.Subject{Type: t, Path: path}
	s.BundleID, _ = d["CFBundleIdentifier"].(string)
	s.Version, _ = d["CFBundleShortVersionString"].(string)
	if s.Version == "" {
		s.Version, _ = d["CFBundleVersion"].(string)
	}
	fi, err := exe.Stat()
	if err != nil {
		return policy.Subject{}, fmt.Errorf("stat %s: %w", filepath.Join(path, exePath), err)
	}
	if !fi.Mode().IsRegular() {
		return policy.Subject{}, fmt.Errorf("bundle %s: main executable %s is %s, not a file: the bundle is malformed",
			path, exePath, fileKind(fi.Mode()))
	}
	if err := g.sizeOK(filepath.Join(path, exePath), fi.Size()); err != nil {
		return policy.Subject{}, err
	}
	if s.SHA1, s.SHA256, err = hashFile(g.reader(exe), fi.Size(), g.want.SHA1); err != nil {
		return policy.Subject{}, fmt.Errorf("hash %s: %w", filepath.Join(path, exePath), err)
	}
	header, err := readHeader(exe, fi.Size())
	if err != nil {
		return policy.Subject{}, readError(filepath.Join(path, exePath), err)
	}
	if err := g.signature(&s, header, exe, fi.Size()); err != nil {
		return policy.Subject{}, fmt.Errorf("code signature of %s: %w", filepath.Join(path, exePath), err)
	}

	// Archive tools copy the download attributes onto the extracted bundle
	// directory, and sometimes only onto the files inside it.
	if s.Source = source(dir); s.Source == "" {
		s.Source = source(exe)
	}
	return s, nil
}

// infoPlistName is where a bundle keeps its Info.plist.
const infoPlistName = "Contents/Info.plist"

// notBundle is the error for a directory that is not a bundle.
func notBundle(path string) error {
	return fmt.Errorf("%s is a directory, not an app bundle (.app) or preference pane (.prefPane): give the path of a program file", path)
}

// mainExecutable is the path, below the bundle, of the main executable its
// Info.plist d names. Without CFBundleExecutable, CFBundle falls back to
// the bundle's name without its extension; so does this.
func mainExecutable(d map[string]any, path string) (string, error) {
	exeName, _ := d["CFBundleExecutable"].(string)
	if exeName == "" {
		name := filepath.Base(path)
		exeName = strings.TrimSuffix(name, filepath.Ext(name))
	}
	if exeName == "." || exeName == ".." || strings.ContainsAny(exeName, `/\`) || strings.ContainsRune(exeName, 0) {
		return "", fmt.Errorf("bundle %s: Info.plist names main executable %q, which is not a file name: the bundle is malformed", path, exeName)
	}
	return "Contents/MacOS/" + exeName, nil
}

// readInfoPlist reads and parses the open Info.plist f (from its start,
// wherever its offset is).
func readInfoPlist(f *os.File) (map[string]any, error) {
	data, err := io.ReadAll(io.NewSectionReader(f, 0, maxInfoPlist+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", infoPlistName, err)
	}
	if len(data) > maxInfoPlist {
		return nil, fmt.Errorf("%s is larger than %d bytes: the bundle is malformed", infoPlistName, maxInfoPlist)
	}
	info, err := plist.Dict(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", infoPlistName, err)
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
