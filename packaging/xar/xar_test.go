package xar_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"flag"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/packaging/xar"
)

var update = flag.Bool("update", false, "rewrite the golden files and fuzz seeds in testdata")

var sampleTime = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// randomBytes is n incompressible bytes, the same on every run.
func randomBytes(n int, seed byte) []byte {
	r := rand.New(rand.NewChaCha8([32]byte{seed}))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// sampleFiles is shaped like a product archive: a compressed file at the
// top, a listed directory, a stored payload, nested implied directories,
// an executable and an empty file.
func sampleFiles() []xar.File {
	return []xar.File{
		{Name: "Distribution", Mode: 0o644, MTime: sampleTime, Compress: true,
			Data: []byte(strings.Repeat("<installer-gui-script minSpecVersion=\"2\"/>\n", 20))},
		{Name: "Gatehouse.pkg", Mode: os.ModeDir | 0o755, MTime: sampleTime},
		{Name: "Gatehouse.pkg/PackageInfo", Mode: 0o644, MTime: sampleTime, Compress: true,
			Data: []byte(`<pkg-info format-version="2" identifier="com.example.gatehouse"/>` + "\n")},
		{Name: "Gatehouse.pkg/Payload", Mode: 0o644, MTime: sampleTime, Data: randomBytes(70_000, 1)},
		{Name: "Gatehouse.pkg/Scripts/postinstall", Mode: 0o755, MTime: sampleTime, Compress: true,
			Data: []byte("#!/bin/sh\nexit 0\n")},
		{Name: "Resources/en.lproj/empty.txt", Mode: 0o600, MTime: sampleTime},
	}
}

func writeArchive(t testing.TB, files []xar.File) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := xar.Write(&b, files); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return b.Bytes()
}

func readArchive(t testing.TB, b []byte) *xar.Archive {
	t.Helper()
	a, err := xar.Read(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return a
}

// tocOf returns the uncompressed TOC of an archive, read independently of
// the package's reader.
func tocOf(t testing.TB, b []byte) []byte {
	t.Helper()
	hsize := binary.BigEndian.Uint16(b[4:])
	zlen := binary.BigEndian.Uint64(b[8:])
	zr, err := zlib.NewReader(bytes.NewReader(b[hsize : uint64(hsize)+zlen]))
	if err != nil {
		t.Fatal(err)
	}
	toc, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return toc
}

// entrySummary is what a test compares of an Entry.
type entrySummary struct {
	Name       string
	Mode       os.FileMode
	MTime      time.Time
	Size       int64
	Compressed bool
}

func summarize(es []xar.Entry) []entrySummary {
	var out []entrySummary
	for _, e := range es {
		out = append(out, entrySummary{e.Name, e.Mode, e.MTime, e.Size, e.Compressed})
	}
	return out
}

func TestWriteThenReadGivesBackTheFilesInTOCOrder(t *testing.T) {
	files := sampleFiles()
	a := readArchive(t, writeArchive(t, files))
	want := []entrySummary{
		{"Distribution", 0o644, sampleTime, int64(len(files[0].Data)), true},
		{"Gatehouse.pkg", os.ModeDir | 0o755, sampleTime, 0, false},
		{"Gatehouse.pkg/PackageInfo", 0o644, sampleTime, int64(len(files[2].Data)), true},
		{"Gatehouse.pkg/Payload", 0o644, sampleTime, 70_000, false},
		{"Gatehouse.pkg/Scripts", os.ModeDir | 0o755, time.Time{}, 0, false},
		{"Gatehouse.pkg/Scripts/postinstall", 0o755, sampleTime, int64(len(files[4].Data)), true},
		{"Resources", os.ModeDir | 0o755, time.Time{}, 0, false},
		{"Resources/en.lproj", os.ModeDir | 0o755, time.Time{}, 0, false},
		{"Resources/en.lproj/empty.txt", 0o600, sampleTime, 0, false},
	}
	if diff := cmp.Diff(want, summarize(a.Entries())); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
	for _, f := range files {
		if f.Mode.IsDir() {
			continue
		}
		got, err := a.ReadFile(f.Name)
		if err != nil {
			t.Errorf("ReadFile(%q): %v", f.Name, err)
			continue
		}
		if !bytes.Equal(got, f.Data) {
			t.Errorf("ReadFile(%q) = %d bytes, want the %d written", f.Name, len(got), len(f.Data))
		}
		r, err := a.Open(f.Name)
		if err != nil {
			t.Fatalf("Open(%q): %v", f.Name, err)
		}
		streamed, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(streamed, f.Data) {
			t.Errorf("Open(%q) streamed %d bytes, %v; want the %d written", f.Name, len(streamed), err, len(f.Data))
		}
	}
}

func TestReadFileSaysWhatIsMissingOrADirectory(t *testing.T) {
	a := readArchive(t, writeArchive(t, sampleFiles()))
	if _, err := a.ReadFile("nope"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ReadFile(nope) = %v, want ErrNotExist", err)
	}
	if _, err := a.ReadFile("Gatehouse.pkg"); err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("ReadFile(a directory) = %v, want an error saying it is a directory", err)
	}
	if e, ok := a.Lookup("Gatehouse.pkg/Payload"); !ok || e.Size != 70_000 {
		t.Errorf("Lookup(Payload) = %+v, %v", e, ok)
	}
}

func TestWriteIsDeterministicAndSourceEqualsData(t *testing.T) {
	first := writeArchive(t, sampleFiles())
	if second := writeArchive(t, sampleFiles()); !bytes.Equal(first, second) {
		t.Fatal("two writes of the same files differ")
	}
	viaSource := sampleFiles()
	for i := range viaSource {
		if d := viaSource[i].Data; d != nil {
			viaSource[i].Data, viaSource[i].Source, viaSource[i].Size = nil, bytes.NewReader(d), int64(len(d))
		}
	}
	if got := writeArchive(t, viaSource); !bytes.Equal(first, got) {
		t.Error("files given as Source/Size are written differently from the same bytes as Data")
	}
}

// TestWriteTOCMatchesGolden pins the TOC's text; run with -update after a
// deliberate change. It also refreshes the writer's fuzz seed.
func TestWriteTOCMatchesGolden(t *testing.T) {
	b := writeArchive(t, sampleFiles())
	toc := tocOf(t, b)
	golden := filepath.Join("testdata", "toc.golden.xml")
	if *update {
		if err := os.WriteFile(golden, toc, 0o644); err != nil {
			t.Fatal(err)
		}
		// The seed keeps the payload small: fuzzing mutates every byte.
		small := sampleFiles()
		small[3].Data = small[3].Data[:300]
		if err := os.WriteFile(filepath.Join("testdata", "ours.xar"), writeArchive(t, small), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -run TestWriteTOCMatchesGolden -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(toc)); diff != "" {
		t.Errorf("TOC (-golden +got):\n%s", diff)
	}
}

// TestWriteLaysOutTheHeap checks the header and the heap as the format
// wants them, from the bytes: sha1 TOC checksum at heap offset 0, then
// each file's data back to back in TOC order.
func TestWriteLaysOutTheHeap(t *testing.T) {
	b := writeArchive(t, sampleFiles())
	if string(b[:4]) != "xar!" || binary.BigEndian.Uint16(b[4:]) != 28 || binary.BigEndian.Uint16(b[6:]) != 1 || binary.BigEndian.Uint32(b[24:]) != 1 {
		t.Fatalf("header % x, want xar!, size 28, version 1, sha1", b[:28])
	}
	if got, want := binary.BigEndian.Uint64(b[16:]), uint64(len(tocOf(t, b))); got != want {
		t.Errorf("header's uncompressed TOC length %d, the TOC is %d", got, want)
	}
	var doc struct {
		Checksum struct {
			Style  string `xml:"style,attr"`
			Offset int64  `xml:"offset"`
			Size   int64  `xml:"size"`
		} `xml:"toc>checksum"`
	}
	toc := tocOf(t, b)
	if err := xml.Unmarshal(toc, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Checksum.Style != "sha1" || doc.Checksum.Offset != 0 || doc.Checksum.Size != 20 {
		t.Errorf("checksum element %+v, want sha1 at 0, 20 bytes", doc.Checksum)
	}
	// Data offsets, in document order.
	d := xml.NewDecoder(bytes.NewReader(toc))
	var offsets, lengths []int64
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if s, ok := tok.(xml.StartElement); ok && s.Name.Local == "data" {
			var data struct {
				Offset int64 `xml:"offset"`
				Length int64 `xml:"length"`
			}
			if err := d.DecodeElement(&data, &s); err != nil {
				t.Fatal(err)
			}
			offsets, lengths = append(offsets, data.Offset), append(lengths, data.Length)
		}
	}
	next := int64(20)
	for i := range offsets {
		if offsets[i] != next {
			t.Errorf("data %d at heap offset %d, want %d (right after the previous)", i, offsets[i], next)
		}
		next = offsets[i] + lengths[i]
	}
	heapStart := int64(28 + binary.BigEndian.Uint64(b[8:]))
	if int64(len(b)) != heapStart+next {
		t.Errorf("archive is %d bytes, heap ends at %d", len(b), heapStart+next)
	}
	if len(offsets) != 4 {
		t.Errorf("%d <data> elements, want 4 (the empty file has none)", len(offsets))
	}
}

func TestWriteOfNoFilesIsAnEmptyArchive(t *testing.T) {
	a := readArchive(t, writeArchive(t, nil))
	if n := len(a.Entries()); n != 0 {
		t.Errorf("%d entries, want 0", n)
	}
}

func TestWriteListsADirectoryGivenAfterItsContentsWhereItFirstAppeared(t *testing.T) {
	files := []xar.File{
		{Name: "d/f", Mode: 0o644, Data: []byte("x")},
		{Name: "e", Mode: 0o644},
		{Name: "d", Mode: os.ModeDir | 0o700, MTime: sampleTime},
	}
	a := readArchive(t, writeArchive(t, files))
	want := []entrySummary{
		{"d", os.ModeDir | 0o700, sampleTime, 0, false},
		{"d/f", 0o644, time.Time{}, 1, false},
		{"e", 0o644, time.Time{}, 0, false},
	}
	if diff := cmp.Diff(want, summarize(a.Entries())); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}
}

func TestWriteKeepsSpecialModeBitsAndDropsSubseconds(t *testing.T) {
	files := []xar.File{{Name: "s", Mode: os.ModeSetuid | os.ModeSetgid | os.ModeSticky | 0o751, MTime: sampleTime.Add(999 * time.Millisecond).In(time.FixedZone("X", 3600))}}
	b := writeArchive(t, files)
	if !bytes.Contains(tocOf(t, b), []byte("<mode>7751</mode>")) {
		t.Errorf("TOC lacks <mode>7751</mode>:\n%s", tocOf(t, b))
	}
	e := readArchive(t, b).Entries()[0]
	if e.Mode != files[0].Mode || !e.MTime.Equal(sampleTime) || e.MTime.Location() != time.UTC {
		t.Errorf("read back mode %v time %v, want %v and %v in UTC", e.Mode, e.MTime, files[0].Mode, sampleTime)
	}
}

func TestWriteRejects(t *testing.T) {
	long := strings.Repeat("n", xar.MaxNameLen+1)
	deep := strings.Repeat("d/", xar.MaxPathLen/2) + "f"
	for _, tc := range []struct {
		name  string
		files []xar.File
		want  error
	}{
		{"an empty name", []xar.File{{Name: ""}}, xar.ErrInvalidName},
		{"an absolute name", []xar.File{{Name: "/etc/passwd"}}, xar.ErrInvalidName},
		{"a dot-dot component", []xar.File{{Name: "a/../b"}}, xar.ErrInvalidName},
		{"a dot component", []xar.File{{Name: "./a"}}, xar.ErrInvalidName},
		{"an empty component", []xar.File{{Name: "a//b"}}, xar.ErrInvalidName},
		{"a trailing slash", []xar.File{{Name: "a/"}}, xar.ErrInvalidName},
		{"a NUL", []xar.File{{Name: "a\x00b"}}, xar.ErrInvalidName},
		{"a newline", []xar.File{{Name: "a\nb"}}, xar.ErrInvalidName},
		{"U+FFFE", []xar.File{{Name: "a\uFFFEb"}}, xar.ErrInvalidName},
		{"non-UTF-8", []xar.File{{Name: "caf\xe9"}}, xar.ErrInvalidName},
		{"a component over 255 bytes", []xar.File{{Name: long}}, xar.ErrInvalidName},
		{"a path over 1024 bytes", []xar.File{{Name: deep}}, xar.ErrInvalidName},
		{"a duplicate", []xar.File{{Name: "a"}, {Name: "a"}}, xar.ErrInvalidName},
		{"a duplicate directory", []xar.File{{Name: "a", Mode: os.ModeDir}, {Name: "a", Mode: os.ModeDir}}, xar.ErrInvalidName},
		{"a file then a file below it", []xar.File{{Name: "a"}, {Name: "a/b"}}, xar.ErrInvalidName},
		{"a file below a later file", []xar.File{{Name: "a/b"}, {Name: "a"}}, xar.ErrInvalidName},
		{"a symlink", []xar.File{{Name: "l", Mode: os.ModeSymlink | 0o777}}, xar.ErrInvalidFile},
		{"a device", []xar.File{{Name: "d", Mode: os.ModeDevice}}, xar.ErrInvalidFile},
		{"a directory with data", []xar.File{{Name: "d", Mode: os.ModeDir, Data: []byte("x")}}, xar.ErrInvalidFile},
		{"Data and Source", []xar.File{{Name: "f", Data: []byte("x"), Source: strings.NewReader("x"), Size: 1}}, xar.ErrInvalidFile},
		{"Size without Source", []xar.File{{Name: "f", Size: 3}}, xar.ErrInvalidFile},
		{"a negative Size", []xar.File{{Name: "f", Source: strings.NewReader(""), Size: -1}}, xar.ErrInvalidFile},
		{"a Source shorter than Size", []xar.File{{Name: "f", Source: strings.NewReader("ab"), Size: 3}}, xar.ErrInvalidFile},
		{"a time before 1970", []xar.File{{Name: "f", MTime: time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)}}, xar.ErrInvalidFile},
		{"a time after 9999", []xar.File{{Name: "f", MTime: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}}, xar.ErrInvalidFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			err := xar.Write(&b, tc.files)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Write = %v, want %v", err, tc.want)
			}
			if b.Len() != 0 {
				t.Errorf("Write wrote %d bytes before failing on invalid input", b.Len())
			}
		})
	}
}

func TestWriteRejectsMoreThanMaxEntries(t *testing.T) {
	// MaxEntries files in one directory: one entry too many with the
	// directory they imply.
	files := make([]xar.File, xar.MaxEntries)
	for i := range files {
		files[i] = xar.File{Name: "d/" + strconv.Itoa(i)}
	}
	if err := xar.Write(io.Discard, files); !errors.Is(err, xar.ErrLimit) {
		t.Fatalf("Write(%d files and their directory) = %v, want ErrLimit", len(files), err)
	}
	if err := xar.Write(io.Discard, files[:xar.MaxEntries-1]); err != nil {
		t.Fatalf("Write(%d entries) = %v, want it to fit", xar.MaxEntries, err)
	}
}

// changingSource returns other bytes on its second pass.
type changingSource struct{ reads int }

func (c *changingSource) ReadAt(p []byte, off int64) (int, error) {
	if off == 0 {
		c.reads++
	}
	for i := range p {
		p[i] = byte(c.reads)
	}
	if off+int64(len(p)) >= 10 {
		return int(10 - off), io.EOF
	}
	return len(p), nil
}

func TestWriteFailsWhenASourceChangesBetweenItsReads(t *testing.T) {
	err := xar.Write(io.Discard, []xar.File{{Name: "f", Source: &changingSource{}, Size: 10}})
	if !errors.Is(err, xar.ErrInvalidFile) || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("Write = %v, want an ErrInvalidFile saying the source changed", err)
	}
}

type failingWriter struct{ after int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.after -= len(p); f.after < 0 {
		return 0, errors.New("disk full")
	}
	return len(p), nil
}

func TestWritePassesOnTheWritersError(t *testing.T) {
	for _, after := range []int{0, 30, 1000} {
		err := xar.Write(&failingWriter{after: after}, sampleFiles())
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("Write to a writer failing after %d bytes = %v, want its error", after, err)
		}
	}
}
