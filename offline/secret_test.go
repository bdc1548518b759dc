package offline

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestExportKnownAnswer(t *testing.T) {
	s := testSecret(t)
	const want = "GHK1-0410-6105-0R3G-G28A-1C60-T3GF-208H-44RM-2MB1-E60S-38DH-R78Y-3WGA-RT9C"
	if got := s.Export(); got != want {
		t.Errorf("Export = %s, want %s", got, want)
	}
	for _, text := range []string{want, strings.ToLower(want), strings.ReplaceAll(want, "-", " ") + "\n", strings.ReplaceAll(want, "0", "O")} {
		got, err := ParseSecret(text)
		if err != nil || got != s {
			t.Errorf("ParseSecret(%q): %v", text, err)
		}
	}
}

func TestExportRoundTrip(t *testing.T) {
	for range 100 {
		s := NewSecret()
		got, err := ParseSecret(s.Export())
		if err != nil || got != s {
			t.Fatalf("ParseSecret(Export()): %v", err)
		}
	}
}

func TestParseSecretErrors(t *testing.T) {
	good := testSecret(t).Export()
	flipped := []byte(good)
	flipped[10] = map[bool]byte{true: 'A', false: 'B'}[flipped[10] != 'A']
	cases := []struct{ text, want string }{
		{"", "not an exported offline secret"},
		{strings.TrimPrefix(good, "GHK1-"), "not an exported offline secret"},
		{good[:len(good)-1], "has 56 characters after GHK1; this one has 55"},
		{good + "0", "this one has 57"},
		{string(flipped), "checksum does not match"},
		{good[:20] + "U" + good[21:], "contains 'U'"},
		{"GHK1-" + strings.Repeat("0", 56), "checksum does not match"},
	}
	for _, tc := range cases {
		if _, err := ParseSecret(tc.text); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSecret(%q) = %v, want %q", tc.text, err, tc.want)
		}
	}
}

func TestSecretNotPrinted(t *testing.T) {
	s := testSecret(t)
	for _, f := range []string{"%v", "%s", "%+v", "%#v"} {
		if got := fmt.Sprintf(f, s); got != "offline.Secret(redacted)" {
			t.Errorf("%s: %q", f, got)
		}
	}
	if _, err := SecretFromBytes(make([]byte, SecretSize)); err == nil {
		t.Error("all-zero secret accepted")
	}
	if _, err := SecretFromBytes(make([]byte, 31)); err == nil {
		t.Error("31 bytes accepted")
	}
}

func TestLoadOrCreateSecret(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "lib", "gatehouse")
	path := filepath.Join(dir, "offline.key")
	s, err := LoadOrCreateSecret(path)
	if err != nil {
		t.Fatal(err)
	}
	if s.IsZero() {
		t.Fatal("zero secret")
	}
	for p, want := range map[string]fs.FileMode{dir: fs.ModeDir | 0o700, path: 0o600} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v, %v; want %v", p, fi.Mode(), err, want)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only the key (temp file left?)", len(ents))
	}
	again, err := LoadOrCreateSecret(path)
	if err != nil || again != s {
		t.Errorf("second load: %v, same secret: %v", err, again == s)
	}
	loaded, err := LoadSecret(path)
	if err != nil || loaded != s {
		t.Errorf("LoadSecret: %v", err)
	}
}

// TestLoadOrCreateSecretRace: processes starting at once end up with one
// secret; none replaces another's.
func TestLoadOrCreateSecretRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d", "offline.key")
	var (
		wg  sync.WaitGroup
		got [16]Secret
		err [16]error
	)
	for i := range got {
		wg.Go(func() { got[i], err[i] = LoadOrCreateSecret(path) })
	}
	wg.Wait()
	onDisk, e := LoadSecret(path)
	if e != nil {
		t.Fatal(e)
	}
	for i := range got {
		if err[i] != nil || got[i] != onDisk {
			t.Errorf("goroutine %d: %v, same as on disk: %v", i, err[i], got[i] == onDisk)
		}
	}
}

func TestLoadSecretRefuses(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, dir, path string)
		want  string
	}{
		{"mode 0644", func(t *testing.T, dir, path string) { chmod(t, path, 0o644) }, "has mode 0644, so other users may have read or changed it"},
		{"mode 0640", func(t *testing.T, dir, path string) { chmod(t, path, 0o640) }, "has mode 0640"},
		{"mode 0602", func(t *testing.T, dir, path string) { chmod(t, path, 0o602) }, "has mode 0602"},
		{"too short", func(t *testing.T, dir, path string) { write(t, path, make([]byte, 31)) }, "has 31 bytes, not 32"},
		{"too long", func(t *testing.T, dir, path string) { write(t, path, make([]byte, 64)) }, "has 64 bytes, not 32"},
		{"all zero", func(t *testing.T, dir, path string) { write(t, path, make([]byte, 32)) }, "all zero bytes"},
		{"symlink", func(t *testing.T, dir, path string) {
			os.Rename(path, path+".real")
			if err := os.Symlink(path+".real", path); err != nil {
				t.Fatal(err)
			}
		}, "is a symbolic link"},
		{"directory", func(t *testing.T, dir, path string) {
			os.Remove(path)
			os.Mkdir(path, 0o700)
		}, "is not a regular file"},
		{"group-writable directory", func(t *testing.T, dir, path string) { chmod(t, dir, 0o770) }, "has mode 0770, so other users could replace the secret"},
		{"world-writable directory", func(t *testing.T, dir, path string) { chmod(t, dir, 0o1777) }, "so other users could replace the secret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "gh")
			path := filepath.Join(dir, "offline.key")
			if _, err := LoadOrCreateSecret(path); err != nil {
				t.Fatal(err)
			}
			tc.setup(t, dir, path)
			_, err := LoadSecret(path)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadSecret: %v, want %q", err, tc.want)
			}
			// LoadOrCreateSecret refuses too; it never replaces a bad file.
			if _, err2 := LoadOrCreateSecret(path); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("LoadOrCreateSecret: %v", err2)
			}
			t.Log(err)
		})
	}
}

// TestLoadSecretRefusesOtherOwner: as root, a key file owned by nobody is
// refused (nobody could have written a key of their choosing), and so is a
// directory owned by nobody.
func TestLoadSecretRefusesOtherOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: chown to nobody")
	}
	const nobody = 65534
	dir := filepath.Join(t.TempDir(), "gh")
	path := filepath.Join(dir, "offline.key")
	if _, err := LoadOrCreateSecret(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(path, nobody, -1); err != nil {
		t.Fatal(err)
	}
	_, err := LoadSecret(path)
	if err == nil || !strings.Contains(err.Error(), "is owned by uid 65534, not root; delete it") {
		t.Errorf("file owned by nobody: %v", err)
	}
	if err := os.Chown(path, 0, -1); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, nobody, -1); err != nil {
		t.Fatal(err)
	}
	_, err = LoadSecret(path)
	if err == nil || !strings.Contains(err.Error(), "is owned by uid 65534, who could replace the secret") {
		t.Errorf("directory owned by nobody: %v", err)
	}
}

func TestLoadSecretMissing(t *testing.T) {
	_, err := LoadSecret(filepath.Join(t.TempDir(), "none", "offline.key"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing directory: %v", err)
	}
	_, err = LoadSecret(filepath.Join(t.TempDir(), "offline.key"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func chmod(t *testing.T, path string, mode fs.FileMode) {
	t.Helper()
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
