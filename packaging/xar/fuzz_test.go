package xar_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/packaging/xar"
)

// FuzzRead feeds arbitrary bytes to Read and reads every file of what it
// accepts (checkRead).
func FuzzRead(f *testing.F) {
	for _, name := range []string{"ours.xar", "bsdtar.xar"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	hello := []byte("hello")
	f.Add(assemble(tocHead+fileXML("a", "file", storedXML(20, hello))+tocTail, hello))
	z := zlibBytes(hello)
	f.Add(assemble(tocHead+fileXML("d", "directory", fileXML("a", "file", dataXML(20, int64(len(z)), 5, "application/x-gzip", sha1Hex(z), sha1Hex(hello))))+tocTail, z))
	f.Fuzz(checkRead)
}

// FuzzReadTOC fuzzes the table of contents and the heap behind a right
// header and TOC checksum, which FuzzRead's mutations seldom get past.
func FuzzReadTOC(f *testing.F) {
	for _, name := range []string{"ours.xar", "bsdtar.xar"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		heapStart := 28 + binary.BigEndian.Uint64(b[8:])
		f.Add(tocOf(f, b), b[heapStart+20:])
	}
	hello := []byte("hello")
	f.Add([]byte(tocHead+fileXML("a", "file", storedXML(20, hello))+tocTail), hello)
	f.Fuzz(func(t *testing.T, toc, afterSum []byte) {
		checkRead(t, assemble(string(toc), afterSum))
	})
}

// checkRead is the property both read fuzzers check: nothing panics; a
// read that succeeds gives the declared size; and whatever Read accepts,
// Write can write again and Read gives back the same (the reader's rules
// are no looser than the writer's).
func checkRead(t *testing.T, b []byte) {
	a, err := xar.Read(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		if a != nil {
			t.Fatal("Read returned an archive with its error")
		}
		return
	}
	a.MaxFileSize = 1 << 20
	var files []xar.File
	for _, e := range a.Entries() {
		file := xar.File{Name: e.Name, Mode: e.Mode, Compress: e.Compressed}
		if !e.MTime.Before(time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)) {
			file.MTime = e.MTime
		}
		if !e.IsDir() {
			data, err := a.ReadFile(e.Name)
			if err != nil {
				return
			}
			if int64(len(data)) != e.Size {
				t.Fatalf("ReadFile(%q) gave %d bytes, the entry says %d", e.Name, len(data), e.Size)
			}
			file.Data = data
		}
		files = append(files, file)
	}
	var out bytes.Buffer
	if err := xar.Write(&out, files); err != nil {
		t.Fatalf("Write of what Read accepted: %v", err)
	}
	again := readArchive(t, out.Bytes())
	if diff := cmp.Diff(summarizeFiles(files), summarize(again.Entries())); diff != "" {
		t.Fatalf("rewritten archive (-read +reread):\n%s", diff)
	}
}

// summarizeFiles is what Read should list for files that came from Read.
func summarizeFiles(files []xar.File) []entrySummary {
	var out []entrySummary
	for _, f := range files {
		out = append(out, entrySummary{f.Name, f.Mode, f.MTime, int64(len(f.Data)), f.Compress && len(f.Data) > 0})
	}
	return out
}

// FuzzRoundTrip writes file lists generated from the input and checks
// that Write either refuses them, with the error the rules in the
// package doc give (as decided independently by wantWriteError), or
// writes an archive that Read gives back entry for entry.
func FuzzRoundTrip(f *testing.F) {
	for _, seed := range [][]seedFile{
		{{"Payload", 1 | 8, 0o644, 120}, {"a.b/Payload", 4, 0o644, 290}, {"a.b/c/a", 1 | 32, 0o755, 250}, {"b/c é/a", 0, 0o600, 0}},
		{{"a/b", 0, 0o644, 3}, {"a", 2 | 8, 0o700, 0}, {"c", 2, 0o7755, 0}},
		{{"a", 0, 0o644, 1}, {"a/b", 0, 0o644, 1}},
		{{"a/../b", 0, 0o644, 1}},
		{{"a", 2 | 64, 0o755, 5}},
		{{"c", 16, 0o777, 0}},
	} {
		f.Add(encodeFiles(seed))
	}
	f.Fuzz(func(t *testing.T, spec []byte) {
		files := decodeFiles(spec)
		var out bytes.Buffer
		err := xar.Write(&out, files)
		want, wantErr := expectArchive(files)
		if wantErr != nil || err != nil {
			if !errors.Is(err, wantErr) || wantErr == nil {
				t.Fatalf("Write(%s) = %v, want %v", describe(files), err, wantErr)
			}
			return
		}
		a := readArchive(t, out.Bytes())
		got := map[string]wantEntry{}
		seen := map[string]bool{}
		for _, e := range a.Entries() {
			if i := strings.LastIndexByte(e.Name, '/'); i >= 0 && !seen[e.Name[:i]] {
				t.Errorf("%q comes before its directory", e.Name)
			}
			seen[e.Name] = true
			w := wantEntry{Mode: e.Mode, MTime: e.MTime, Compressed: e.Compressed}
			if !e.IsDir() {
				data, err := a.ReadFile(e.Name)
				if err != nil {
					t.Fatalf("ReadFile(%q): %v", e.Name, err)
				}
				w.Data = string(data)
			}
			got[e.Name] = w
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("Write(%s) then Read (-want +got):\n%s", describe(files), diff)
		}
		if bsdtar := fuzzBsdtar(t); bsdtar != "" {
			bsdtarExtracts(t, bsdtar, out.Bytes(), want, describe(files))
		}
	})
}

// fuzzBsdtar is bsdtar's path for the round trip's second reader, or ""
// where it is not installed (CI has it: scripts/setup).
func fuzzBsdtar(t *testing.T) string {
	path, err := exec.LookPath("bsdtar")
	if err != nil && os.Getenv("CI") == "true" {
		t.Fatal("bsdtar is not installed: CI must read the fuzz round trip's archives with it (scripts/setup installs libarchive-tools)")
	}
	return path
}

// bsdtarExtracts has bsdtar extract the archive (which verifies every
// checksum) and checks that it made exactly the entries want lists, with
// their modes and bytes.
func bsdtarExtracts(t *testing.T, bsdtar string, archive []byte, want map[string]wantEntry, what string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "a.xar")
	if err := os.WriteFile(file, archive, 0o644); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "x")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bsdtar, "-xpf", file, "-C", root)
	cmd.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
	if o, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("bsdtar -xpf on Write(%s): %v\n%s", what, err, o)
	}
	got := map[string]wantEntry{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || p == root {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := wantEntry{Mode: fi.Mode()}
		if fi.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			e.Data = string(b)
		}
		got[filepath.ToSlash(rel)] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	strip := map[string]wantEntry{}
	for k, v := range want {
		strip[k] = wantEntry{Mode: v.Mode, Data: v.Data}
	}
	if diff := cmp.Diff(strip, got); diff != "" {
		t.Fatalf("Write(%s) then bsdtar -xpf (-want +got):\n%s", what, diff)
	}
}

type wantEntry struct {
	Mode       os.FileMode
	MTime      time.Time
	Data       string
	Compressed bool
}

// decodeFiles turns fuzz input into up to 7 files. Per file: a name
// length and that many name bytes (see nameByte), a flags byte, two mode
// bytes, two size bytes and four time bytes. Flags: 1 compress, 2
// directory, 4 give the data as a Source, 8 set a time, 16 make it a
// symlink, 32 a larger size, 64 give a directory data.
func decodeFiles(spec []byte) []xar.File {
	next := func() byte {
		if len(spec) == 0 {
			return 0
		}
		c := spec[0]
		spec = spec[1:]
		return c
	}
	files := make([]xar.File, int(next()%8))
	for i := range files {
		var name strings.Builder
		for range int(next() % 12) {
			name.WriteString(nameByte(next()))
		}
		flags := next()
		unix := (uint32(next())<<8 | uint32(next())) & 0o7777
		size := int(uint16(next())<<8|uint16(next())) % 300
		if flags&32 != 0 {
			size *= 200
		}
		secs := uint32(next())<<24 | uint32(next())<<16 | uint32(next())<<8 | uint32(next())
		f := xar.File{Name: name.String(), Mode: modeOf(unix), Compress: flags&1 != 0}
		if flags&8 != 0 {
			f.MTime = time.Unix(int64(secs), 0)
		}
		if flags&16 != 0 {
			f.Mode |= os.ModeSymlink
		}
		hasData := true
		if flags&2 != 0 {
			f.Mode |= os.ModeDir
			hasData = flags&64 != 0 && size > 0
		}
		if hasData {
			data := make([]byte, size)
			for j := range data {
				data[j] = byte(j*j/7 + i*31)
			}
			if flags&4 != 0 {
				f.Source, f.Size = bytes.NewReader(data), int64(size)
			} else {
				f.Data = data
			}
		}
		files[i] = f
	}
	return files
}

var nameAlphabet = []string{"a", "b", "c", "/", ".", "..", "é", "Payload", " ", "&<>\"'"}

// seedFile is a file for encodeFiles: flags as decodeFiles reads them.
type seedFile struct {
	name  string
	flags byte
	mode  uint16
	size  uint16
}

// encodeFiles is the inverse of decodeFiles for names made of the
// alphabet's pieces, with a fixed time.
func encodeFiles(files []seedFile) []byte {
	b := []byte{byte(len(files))}
	for _, f := range files {
		var name []byte
		for rest := f.name; rest != ""; {
			best := -1
			for i, piece := range nameAlphabet {
				if strings.HasPrefix(rest, piece) && (best < 0 || len(piece) > len(nameAlphabet[best])) {
					best = i
				}
			}
			if best < 0 {
				panic("encodeFiles: " + rest + " is not made of the alphabet")
			}
			name = append(name, byte(best))
			rest = rest[len(nameAlphabet[best]):]
		}
		b = append(b, byte(len(name)))
		b = append(b, name...)
		b = append(b, f.flags, byte(f.mode>>8), byte(f.mode), byte(f.size>>8), byte(f.size), 0x69, 0x00, 0x00, 0x00)
	}
	return b
}

// nameByte maps one input byte to a piece of a name: mostly from a
// small alphabet (so that names nest and collide), sometimes a control
// character, sometimes a lone byte that is not UTF-8.
func nameByte(c byte) string {
	alphabet := nameAlphabet
	switch {
	case c >= 0xf0:
		return string([]byte{c})
	case c >= 0xe0:
		return string(rune(c - 0xe0))
	case c >= 0xd0:
		return "\uFFFE"
	}
	return alphabet[int(c)%len(alphabet)]
}

func modeOf(unix uint32) os.FileMode {
	m := os.FileMode(unix & 0o777)
	if unix&0o4000 != 0 {
		m |= os.ModeSetuid
	}
	if unix&0o2000 != 0 {
		m |= os.ModeSetgid
	}
	if unix&0o1000 != 0 {
		m |= os.ModeSticky
	}
	return m
}

// expectArchive is the oracle: it applies the package doc's rules, in
// Write's order (each file's name, then its mode, time and data, then
// its clash with the files before it), written here apart from the
// package's code. It returns what Read should list, or the error Write
// should return.
func expectArchive(files []xar.File) (map[string]wantEntry, error) {
	regular := map[string]bool{} // names of regular files so far
	explicit := map[string]bool{}
	implied := map[string]bool{} // directories implied so far
	for _, f := range files {
		if !nameOK(f.Name) {
			return nil, xar.ErrInvalidName
		}
		dir := f.Mode&os.ModeDir != 0
		switch {
		case f.Mode&os.ModeType&^os.ModeDir != 0,
			dir && (len(f.Data) > 0 || f.Source != nil):
			return nil, xar.ErrInvalidFile
		}
		parts := strings.Split(f.Name, "/")
		for i := 1; i < len(parts); i++ {
			p := strings.Join(parts[:i], "/")
			if regular[p] {
				return nil, xar.ErrInvalidName // a file used as a directory
			}
			implied[p] = true
		}
		if explicit[f.Name] || (!dir && implied[f.Name]) {
			return nil, xar.ErrInvalidName // twice, or a directory used as a file
		}
		explicit[f.Name] = true
		if !dir {
			regular[f.Name] = true
		}
	}
	want := map[string]wantEntry{}
	for p := range implied {
		want[p] = wantEntry{Mode: os.ModeDir | 0o755}
	}
	for _, f := range files {
		w := wantEntry{Mode: f.Mode, MTime: f.MTime.UTC()}
		if f.Mode&os.ModeDir == 0 {
			data := f.Data
			if f.Source != nil {
				data = make([]byte, f.Size)
				f.Source.ReadAt(data, 0)
			}
			w.Data = string(data)
			w.Compressed = f.Compress && len(data) > 0
		}
		if f.MTime.IsZero() {
			w.MTime = time.Time{}
		}
		want[f.Name] = w
	}
	return want, nil
}

func nameOK(name string) bool {
	if name == "" || len(name) > xar.MaxPathLen || !utf8.ValidString(name) {
		return false
	}
	for _, c := range strings.Split(name, "/") {
		if strings.Trim(c, " ") == "" || c == "." || c == ".." || len(c) > xar.MaxNameLen {
			return false
		}
		for _, r := range c {
			if unicode.IsControl(r) || r == '\uFFFE' || r == '\uFFFF' {
				return false
			}
		}
	}
	return true
}

func describe(files []xar.File) string {
	var parts []string
	for _, f := range files {
		parts = append(parts, f.Name+" "+f.Mode.String())
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
