package offline

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// SecretSize is the size of a machine's offline secret in bytes.
const SecretSize = 32

// Secret is a machine's offline secret: the HMAC key of its response codes.
// It is made once, at install, and readable only by root; the help desk
// holds a copy (see [Secret.Export]). Its String method does not show it.
type Secret struct {
	b [SecretSize]byte
}

// NewSecret returns a secret from crypto/rand.
func NewSecret() Secret {
	var s Secret
	rand.Read(s.b[:]) // never fails (Go 1.24 and later)
	return s
}

// SecretFromBytes returns the secret whose 32 bytes are b.
func SecretFromBytes(b []byte) (Secret, error) {
	var s Secret
	if len(b) != SecretSize {
		return s, fmt.Errorf("an offline secret has %d bytes; this one has %d", SecretSize, len(b))
	}
	copy(s.b[:], b)
	if s.IsZero() {
		return Secret{}, errors.New("the offline secret is all zero bytes")
	}
	return s, nil
}

// IsZero reports whether s is the zero Secret, which no code is made or
// checked with.
func (s Secret) IsZero() bool { return s == Secret{} }

// String hides the secret, so that logging a Secret by mistake leaks nothing.
func (s Secret) String() string { return "offline.Secret(redacted)" }

// GoString hides the secret from %#v too.
func (s Secret) GoString() string { return s.String() }

// Export form: exportPrefix, then the secret and a 3-byte checksum in
// Crockford's base32 (56 characters), in groups of 4 joined by dashes.
const (
	exportPrefix  = "GHK1"
	exportSumSize = 3
	exportChars   = (SecretSize + exportSumSize) * 8 / 5 // 280 bits, exactly 56 characters
)

func exportSum(b []byte) []byte {
	h := sha256.New()
	io.WriteString(h, "gatehouse offline secret v1\x00")
	h.Write(b)
	return h.Sum(nil)[:exportSumSize]
}

// Export returns s in the text form the help desk keeps and gives to
// `gatehouse offline respond --secret`: "GHK1-" then 56 characters of
// Crockford base32 in groups of 4, the last 5 of them a checksum, so a
// copying mistake is found. Anyone with it can approve programs on the
// machine: keep it like a password.
func (s Secret) Export() string {
	data := append(s.b[:], exportSum(s.b[:])...)
	enc := encodeBase32(data)
	var sb strings.Builder
	sb.WriteString(exportPrefix)
	for i := 0; i < len(enc); i += 4 {
		sb.WriteByte('-')
		sb.WriteString(enc[i:min(i+4, len(enc))])
	}
	return sb.String()
}

// ParseSecret reads the export form of a secret ([Secret.Export]). Case,
// spaces and dashes do not matter; O is read as 0 and I and L as 1.
func ParseSecret(text string) (Secret, error) {
	t := strings.ToUpper(strings.Map(dropSeparators, text))
	if !strings.HasPrefix(t, exportPrefix) {
		return Secret{}, errors.New(`this is not an exported offline secret (it starts with "GHK1-"); copy the whole output of "gatehouse offline secret --export"`)
	}
	t = t[len(exportPrefix):]
	vals := make([]byte, 0, len(t))
	for _, r := range t {
		ch, err := codeChar(r)
		if err != nil {
			return Secret{}, fmt.Errorf("the offline secret contains %s, which is not used in it; copy it again", quoteRune(r))
		}
		vals = append(vals, ch)
	}
	if len(vals) != exportChars {
		return Secret{}, fmt.Errorf("an exported offline secret has %d characters after GHK1; this one has %d: copy it again", exportChars, len(vals))
	}
	data := decodeBase32(string(vals))
	b, sum := data[:SecretSize], data[SecretSize:]
	if string(sum) != string(exportSum(b)) {
		return Secret{}, errors.New("the offline secret's checksum does not match: it was copied wrong; copy it again")
	}
	return SecretFromBytes(b)
}

// encodeBase32 writes b in Crockford's base32, most significant bits first;
// len(b)*8 must be a multiple of 5.
func encodeBase32(b []byte) string {
	out := make([]byte, 0, len(b)*8/5)
	var acc uint32
	bits := 0
	for _, x := range b {
		acc = acc<<8 | uint32(x)
		bits += 8
		for bits >= 5 {
			bits -= 5
			out = append(out, alphabet[(acc>>bits)&31])
		}
	}
	return string(out)
}

// decodeBase32 is encodeBase32's inverse for strings of the alphabet whose
// length*5 is a multiple of 8.
func decodeBase32(s string) []byte {
	out := make([]byte, 0, len(s)*5/8)
	var acc uint32
	bits := 0
	for i := 0; i < len(s); i++ {
		acc = acc<<5 | uint32(strings.IndexByte(alphabet, s[i]))
		bits += 5
		if bits >= 8 {
			bits -= 8
			out = append(out, byte(acc>>bits))
		}
	}
	return out
}

// LoadSecret reads the machine's secret file at path. It refuses, with a
// message saying what to do, a file that is not a regular file (a symbolic
// link included), that group or others may read or write, that is not
// owned by the user running this (root, for the daemon), or that is not 32
// bytes; and a directory that group or others may write, or owned by
// another user than this one or root. A file that others could read may
// have leaked: the fix is a new secret, not chmod.
func LoadSecret(path string) (Secret, error) {
	if err := checkDir(filepath.Dir(path)); err != nil {
		return Secret{}, err
	}
	f, err := openNoFollow(path)
	if err != nil {
		return Secret{}, fmt.Errorf("offline secret: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return Secret{}, fmt.Errorf("offline secret: %w", err)
	}
	remake := fmt.Sprintf("delete it and run \"sudo gatehouse offline secret --path %s\" to make a new one, then give the help desk the new export", path)
	switch {
	case !fi.Mode().IsRegular():
		return Secret{}, fmt.Errorf("offline secret %s is not a regular file (%s); %s", path, fi.Mode().Type(), remake)
	case fi.Mode().Perm()&0o077 != 0:
		return Secret{}, fmt.Errorf("offline secret %s has mode %04o, so other users may have read or changed it; %s", path, fi.Mode().Perm(), remake)
	}
	if err := checkOwner(path, fi); err != nil {
		return Secret{}, fmt.Errorf("%w; %s", err, remake)
	}
	if fi.Size() != SecretSize {
		return Secret{}, fmt.Errorf("offline secret %s has %d bytes, not %d, so it is damaged or not a Gatehouse secret; %s", path, fi.Size(), SecretSize, remake)
	}
	var b [SecretSize]byte
	if _, err := io.ReadFull(f, b[:]); err != nil {
		return Secret{}, fmt.Errorf("read offline secret %s: %w", path, err)
	}
	s, err := SecretFromBytes(b[:])
	if err != nil {
		return Secret{}, fmt.Errorf("offline secret %s: %w; %s", path, err, remake)
	}
	return s, nil
}

// LoadOrCreateSecret loads the secret at path ([LoadSecret]) or, when
// there is none, makes one: the directory is created with mode 0700 if
// missing, the secret is written to a temporary file (mode 0600) and synced,
// then linked to path. Linking, unlike renaming, never replaces a file, so
// two processes creating at once end up with the same secret: the loser
// loads the winner's.
func LoadOrCreateSecret(path string) (Secret, error) {
	s, err := LoadSecret(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return s, err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return Secret{}, fmt.Errorf("create offline secret directory: %w", err)
	}
	if err := checkDir(dir); err != nil {
		return Secret{}, err
	}
	s = NewSecret()
	tmp, err := os.CreateTemp(dir, ".offline.key-*") // mode 0600
	if err != nil {
		return Secret{}, fmt.Errorf("create offline secret: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(s.b[:]); err != nil {
		tmp.Close()
		return Secret{}, fmt.Errorf("write offline secret %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return Secret{}, fmt.Errorf("sync offline secret %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return Secret{}, fmt.Errorf("write offline secret %s: %w", tmp.Name(), err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return LoadSecret(path)
		}
		return Secret{}, fmt.Errorf("create offline secret: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // the new name survives a crash; best effort
		d.Close()
	}
	return s, nil
}

// checkDir refuses a directory where another user could replace the
// secret file.
func checkDir(dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("offline secret directory: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("offline secret directory %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("offline secret directory %s has mode %04o, so other users could replace the secret; use a directory only root can write (chmod go-w %s)", dir, fi.Mode().Perm(), dir)
	}
	return checkDirOwner(dir, fi)
}
