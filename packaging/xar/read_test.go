package xar_test

import (
	"bytes"
	"compress/zlib"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/packaging/xar"
)

// The pieces of hand-made archives: a TOC with a sha1 checksum at heap
// offset 0, and <file> elements with the data wanted, right or wrong.
const (
	tocHead = `<?xml version="1.0" encoding="UTF-8"?><xar><toc><checksum style="sha1"><offset>0</offset><size>20</size></checksum>`
	tocTail = `</toc></xar>`
)

func sha1Hex(b []byte) string {
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}

func zlibBytes(b []byte) []byte {
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(b)
	zw.Close()
	return z.Bytes()
}

// dataXML is a <data> element.
func dataXML(offset, length, size int64, encoding, archived, extracted string) string {
	return fmt.Sprintf(`<data><offset>%d</offset><length>%d</length><size>%d</size><encoding style="%s"/>`+
		`<archived-checksum style="sha1">%s</archived-checksum><extracted-checksum style="sha1">%s</extracted-checksum></data>`,
		offset, length, size, encoding, archived, extracted)
}

// storedXML is a <data> element for content stored at offset.
func storedXML(offset int64, content []byte) string {
	return dataXML(offset, int64(len(content)), int64(len(content)), "application/octet-stream", sha1Hex(content), sha1Hex(content))
}

func fileXML(name, typ, inner string) string {
	return fmt.Sprintf(`<file id="1"><name>%s</name><type>%s</type><mode>0644</mode>%s</file>`, name, typ, inner)
}

// assemble makes an archive of a TOC document and the heap after the
// TOC checksum, with a right header and checksum.
func assemble(toc string, afterSum []byte) []byte {
	ztoc := zlibBytes([]byte(toc))
	return assembleRaw(ztoc, uint64(len(toc)), afterSum)
}

func assembleRaw(ztoc []byte, ulen uint64, afterSum []byte) []byte {
	var b bytes.Buffer
	var hdr [28]byte
	copy(hdr[:], "xar!")
	binary.BigEndian.PutUint16(hdr[4:], 28)
	binary.BigEndian.PutUint16(hdr[6:], 1)
	binary.BigEndian.PutUint64(hdr[8:], uint64(len(ztoc)))
	binary.BigEndian.PutUint64(hdr[16:], ulen)
	binary.BigEndian.PutUint32(hdr[24:], 1)
	b.Write(hdr[:])
	b.Write(ztoc)
	sum := sha1.Sum(ztoc)
	b.Write(sum[:])
	b.Write(afterSum)
	return b.Bytes()
}

// patched returns a copy of b with f applied.
func patched(b []byte, f func([]byte)) []byte {
	c := bytes.Clone(b)
	f(c)
	return c
}

func TestReadRefusesMalformedArchives(t *testing.T) {
	good := writeArchive(t, sampleFiles())
	hello := []byte("hello")
	helloFile := fileXML("a", "file", storedXML(20, hello))
	zhello := zlibBytes(hello)
	nested := strings.Repeat(`<file><name>d</name><type>directory</type>`, 600) + strings.Repeat(`</file>`, 600)
	bomb := zlibBytes(bytes.Repeat([]byte{' '}, 1<<20))
	for _, tc := range []struct {
		name    string
		archive []byte
		want    error
	}{
		{"nothing", nil, xar.ErrFormat},
		{"a short header", good[:27], xar.ErrFormat},
		{"a wrong magic", patched(good, func(b []byte) { b[0] = 'X' }), xar.ErrFormat},
		{"a header size under 28", patched(good, func(b []byte) { binary.BigEndian.PutUint16(b[4:], 27) }), xar.ErrFormat},
		{"a header size past the end", patched(good, func(b []byte) { binary.BigEndian.PutUint16(b[4:], 65535) }), xar.ErrFormat},
		{"version 2", patched(good, func(b []byte) { binary.BigEndian.PutUint16(b[6:], 2) }), xar.ErrFormat},
		{"a TOC past the end", patched(good, func(b []byte) { binary.BigEndian.PutUint64(b[8:], uint64(len(good))) }), xar.ErrFormat},
		{"a TOC length of 2^64-1", patched(good, func(b []byte) { binary.BigEndian.PutUint64(b[8:], ^uint64(0)) }), xar.ErrLimit},
		{"an empty TOC", patched(good, func(b []byte) { binary.BigEndian.PutUint64(b[8:], 0) }), xar.ErrFormat},
		{"a TOC declared over 16 MiB", patched(good, func(b []byte) { binary.BigEndian.PutUint64(b[16:], xar.MaxTOCSize+1) }), xar.ErrLimit},
		{"a TOC shorter than declared", patched(good, func(b []byte) { binary.BigEndian.PutUint64(b[16:], binary.BigEndian.Uint64(b[16:])+1) }), xar.ErrFormat},
		{"a TOC longer than declared", patched(good, func(b []byte) { binary.BigEndian.PutUint64(b[16:], binary.BigEndian.Uint64(b[16:])-1) }), xar.ErrFormat},
		{"a TOC inflating far past its declared size", assembleRaw(bomb, 100, nil), xar.ErrFormat},
		{"no TOC checksum", patched(good, func(b []byte) { binary.BigEndian.PutUint32(b[24:], 0) }), errors.ErrUnsupported},
		{"an md5 TOC checksum", patched(good, func(b []byte) { binary.BigEndian.PutUint32(b[24:], 2) }), errors.ErrUnsupported},
		{"an unknown checksum code", patched(good, func(b []byte) { binary.BigEndian.PutUint32(b[24:], 9) }), xar.ErrFormat},
		{"a header sha256 against a TOC sha1", patched(good, func(b []byte) { binary.BigEndian.PutUint32(b[24:], 3) }), xar.ErrFormat},
		{"a wrong TOC checksum", patched(good, func(b []byte) { b[28+binary.BigEndian.Uint64(b[8:])] ^= 1 }), xar.ErrChecksum},
		{"a damaged compressed TOC", patched(good, func(b []byte) { b[40] ^= 0x10 }), xar.ErrFormat},
		{"a heap cut short", good[:28+binary.BigEndian.Uint64(good[8:])+30], xar.ErrFormat},
		{"not XML", assemble("not xml at all", nil), xar.ErrFormat},
		{"no toc element", assemble(`<xar></xar>`, nil), xar.ErrFormat},
		{"another root", assemble(`<tar><toc/></tar>`, nil), xar.ErrFormat},
		{"two roots", assemble(tocHead+tocTail+`<xar/>`, nil), xar.ErrFormat},
		{"two toc elements", assemble(`<xar><toc/><toc/></xar>`, nil), xar.ErrFormat},
		{"an unclosed element", assemble(tocHead+`<file><name>a</name>`, nil), xar.ErrFormat},
		{"an entity defined in a DTD", assemble(`<!DOCTYPE xar [<!ENTITY e "eeee">]>`+tocHead+fileXML("&e;", "file", "")+tocTail, nil), xar.ErrFormat},
		{"no checksum element", assemble(`<xar><toc></toc></xar>`, nil), xar.ErrFormat},
		{"a TOC checksum style unlike the header's", assemble(strings.Replace(tocHead, "sha1", "md5", 1)+tocTail, nil), xar.ErrFormat},
		{"a TOC checksum of the wrong size", assemble(strings.Replace(tocHead, "<size>20", "<size>16", 1)+tocTail, nil), xar.ErrFormat},
		{"a TOC checksum past the heap", assemble(strings.Replace(tocHead, "<offset>0", "<offset>5", 1)+tocTail, nil), xar.ErrFormat},
		{"a file without a name", assemble(tocHead+`<file><type>file</type></file>`+tocTail, nil), xar.ErrFormat},
		{"a file without a type", assemble(tocHead+`<file><name>a</name></file>`+tocTail, nil), xar.ErrFormat},
		{"a file with two names", assemble(tocHead+`<file><name>a</name><name>b</name><type>file</type></file>`+tocTail, nil), xar.ErrFormat},
		{"a dot-dot name", assemble(tocHead+fileXML("..", "file", "")+tocTail, nil), xar.ErrInvalidName},
		{"a name with a slash", assemble(tocHead+fileXML("a/b", "file", "")+tocTail, nil), xar.ErrInvalidName},
		{"an empty name", assemble(tocHead+fileXML("", "file", "")+tocTail, nil), xar.ErrInvalidName},
		{"a control character by reference", assemble(tocHead+fileXML("a&#x1b;b", "file", "")+tocTail, nil), xar.ErrFormat},
		{"a base64 name decoding to ..", assemble(tocHead+`<file><name enctype="base64">`+base64.StdEncoding.EncodeToString([]byte(".."))+`</name><type>file</type></file>`+tocTail, nil), xar.ErrInvalidName},
		{"a base64 name decoding to non-UTF-8", assemble(tocHead+`<file><name enctype="base64">`+base64.StdEncoding.EncodeToString([]byte("\xff"))+`</name><type>file</type></file>`+tocTail, nil), xar.ErrInvalidName},
		{"a path over 1024 bytes", assemble(tocHead+strings.Repeat(`<file><name>`+strings.Repeat("d", 200)+`</name><type>directory</type>`, 6)+strings.Repeat(`</file>`, 6)+tocTail, nil), xar.ErrInvalidName},
		{"files nested 600 deep", assemble(tocHead+nested+tocTail, nil), xar.ErrLimit},
		{"a name twice", assemble(tocHead+helloFile+fileXML("a", "file", "")+tocTail, hello), xar.ErrFormat},
		{"a file with entries inside", assemble(tocHead+fileXML("a", "file", fileXML("b", "file", ""))+tocTail, nil), xar.ErrFormat},
		{"a directory with data", assemble(tocHead+fileXML("a", "directory", storedXML(20, hello))+tocTail, hello), xar.ErrFormat},
		{"a symlink", assemble(tocHead+fileXML("a", "symlink", "")+tocTail, nil), errors.ErrUnsupported},
		{"a mode over 07777", assemble(tocHead+`<file><name>a</name><type>file</type><mode>17777</mode></file>`+tocTail, nil), xar.ErrFormat},
		{"a mode in decimal digits", assemble(tocHead+`<file><name>a</name><type>file</type><mode>0689</mode></file>`+tocTail, nil), xar.ErrFormat},
		{"a bad time", assemble(tocHead+`<file><name>a</name><type>file</type><mtime>yesterday</mtime></file>`+tocTail, nil), xar.ErrFormat},
		{"data past the heap", assemble(tocHead+fileXML("a", "file", storedXML(21, hello))+tocTail, hello), xar.ErrFormat},
		{"data of length 2^63-1", assemble(tocHead+fileXML("a", "file", dataXML(20, 1<<63-1, 1<<63-1, "application/octet-stream", sha1Hex(nil), sha1Hex(nil)))+tocTail, hello), xar.ErrFormat},
		{"a negative offset", assemble(tocHead+fileXML("a", "file", dataXML(-20, 5, 5, "application/octet-stream", sha1Hex(hello), sha1Hex(hello)))+tocTail, hello), xar.ErrFormat},
		{"data overlapping the TOC checksum", assemble(tocHead+fileXML("a", "file", storedXML(15, append(make([]byte, 5), hello...)))+tocTail, hello), xar.ErrFormat},
		{"two files sharing data", assemble(tocHead+helloFile+fileXML("b", "file", storedXML(20, hello))+tocTail, hello), xar.ErrFormat},
		{"data without an offset", assemble(tocHead+fileXML("a", "file", `<data><length>5</length><size>5</size></data>`)+tocTail, hello), xar.ErrFormat},
		{"stored data of another size", assemble(tocHead+fileXML("a", "file", dataXML(20, 5, 6, "application/octet-stream", sha1Hex(hello), sha1Hex(hello)))+tocTail, hello), xar.ErrFormat},
		{"data without checksums", assemble(tocHead+fileXML("a", "file", `<data><offset>20</offset><length>5</length><size>5</size></data>`)+tocTail, hello), errors.ErrUnsupported},
		{"a checksum that is not hex", assemble(tocHead+fileXML("a", "file", dataXML(20, 5, 5, "application/octet-stream", "zz", "zz"))+tocTail, hello), xar.ErrFormat},
		{"a checksum of the wrong length", assemble(tocHead+fileXML("a", "file", dataXML(20, 5, 5, "application/octet-stream", "abcd", "abcd"))+tocTail, hello), xar.ErrFormat},
		{"an md5 file checksum", assemble(tocHead+fileXML("a", "file", strings.ReplaceAll(storedXML(20, hello), "sha1", "md5"))+tocTail, hello), errors.ErrUnsupported},
		{"two styles of file checksum", assemble(tocHead+fileXML("a", "file", strings.Replace(storedXML(20, hello), "sha1", "sha256", 1))+tocTail, hello), xar.ErrFormat},
		{"a stray element inside a name", assemble(tocHead+`<file><name>a<b/></name><type>file</type></file>`+tocTail, nil), xar.ErrFormat},
		{"zlib data running past the heap", assemble(tocHead+fileXML("a", "file", dataXML(20, int64(len(zhello))+1, 5, "application/x-gzip", sha1Hex(zhello), sha1Hex(hello)))+tocTail, zhello), xar.ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := xar.Read(bytes.NewReader(tc.archive), int64(len(tc.archive)))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Read = %v, want %v", err, tc.want)
			}
			if a != nil {
				t.Error("Read returned an archive with its error")
			}
		})
	}
}

func TestReadFileRefusesBadData(t *testing.T) {
	hello := []byte("hello")
	zhello := zlibBytes(hello)
	zbomb := zlibBytes(make([]byte, 1<<20))
	good := writeArchive(t, sampleFiles())
	for _, tc := range []struct {
		name     string
		archive  []byte
		file     string
		maxBytes int64
		want     error
	}{
		{"a flipped byte in stored data", patched(good, func(b []byte) { b[len(b)-100] ^= 1 }), "Gatehouse.pkg/Payload", 0, xar.ErrChecksum},
		{"a flipped byte in zlib data", patched(good, func(b []byte) { b[len(b)-5] ^= 1 }), "Gatehouse.pkg/Scripts/postinstall", 0, xar.ErrChecksum},
		{"a wrong extracted checksum, stored", assemble(tocHead+fileXML("a", "file", dataXML(20, 5, 5, "application/octet-stream", sha1Hex(hello), sha1Hex([]byte("other"))))+tocTail, hello), "a", 0, xar.ErrChecksum},
		{"a wrong extracted checksum, zlib", assemble(tocHead+fileXML("a", "file", dataXML(20, int64(len(zhello)), 5, "application/x-gzip", sha1Hex(zhello), sha1Hex([]byte("other"))))+tocTail, zhello), "a", 0, xar.ErrChecksum},
		{"zlib data shorter than its size", assemble(tocHead+fileXML("a", "file", dataXML(20, int64(len(zhello)), 6, "application/x-gzip", sha1Hex(zhello), sha1Hex(hello)))+tocTail, zhello), "a", 0, xar.ErrFormat},
		{"zlib data longer than its size (a bomb)", assemble(tocHead+fileXML("a", "file", dataXML(20, int64(len(zbomb)), 10, "application/x-gzip", sha1Hex(zbomb), sha1Hex(make([]byte, 10))))+tocTail, zbomb), "a", 0, xar.ErrFormat},
		{"data that is not zlib", assemble(tocHead+fileXML("a", "file", dataXML(20, 5, 5, "application/x-gzip", sha1Hex(hello), sha1Hex(hello)))+tocTail, hello), "a", 0, xar.ErrFormat},
		{"a file over MaxFileSize", good, "Gatehouse.pkg/Payload", 69_999, xar.ErrLimit},
		{"an unknown encoding", assemble(tocHead+fileXML("a", "file", dataXML(20, 5, 5, "application/x-bzip2", sha1Hex(hello), sha1Hex(hello)))+tocTail, hello), "a", 0, errors.ErrUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := readArchive(t, tc.archive)
			if tc.maxBytes != 0 {
				a.MaxFileSize = tc.maxBytes
			}
			if _, err := a.ReadFile(tc.file); !errors.Is(err, tc.want) {
				t.Errorf("ReadFile = %v, want %v", err, tc.want)
			}
			r, err := a.Open(tc.file)
			if err == nil {
				_, err = io.ReadAll(r)
			}
			if !errors.Is(err, tc.want) {
				t.Errorf("Open and read = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestReadAcceptsWhatOtherWritersMayWrite(t *testing.T) {
	hello := []byte("hello")
	zhello := zlibBytes(hello)
	for _, tc := range []struct {
		name, toc string
		heap      []byte
		file      string
	}{
		{"unknown elements everywhere", `<?xml version="1.0"?><!-- made elsewhere --><xar><subdoc/><toc><creation-time>2024-01-01T00:00:00</creation-time>` +
			`<checksum style="sha1"><size>20</size><offset>0</offset></checksum><signature style="RSA"><offset>20</offset><size>0</size><KeyInfo><X509Data/></KeyInfo></signature>` +
			`<file id="9"><inode>1</inode><name>a</name><ea><name>x</name></ea><type>file</type><user>root</user>` + storedXML(20, hello) + `</file></toc></xar>`, hello, "a"},
		{"no encoding means stored", tocHead + fileXML("a", "file", `<data><offset>20</offset><length>5</length><size>5</size>`+
			`<archived-checksum style="sha1">`+sha1Hex(hello)+`</archived-checksum><extracted-checksum style="sha1">`+sha1Hex(hello)+`</extracted-checksum></data>`) + tocTail, hello, "a"},
		{"application/zlib", tocHead + fileXML("a", "file", dataXML(20, int64(len(zhello)), 5, "application/zlib", sha1Hex(zhello), sha1Hex(hello))) + tocTail, zhello, "a"},
		{"a base64 name", tocHead + `<file><name enctype="base64">` + base64.StdEncoding.EncodeToString([]byte("a")) + `</name><type>file</type>` + storedXML(20, hello) + `</file>` + tocTail, hello, "a"},
		{"uppercase hex and spaced numbers", tocHead + fileXML("a", "file", `<data><offset> 20 </offset><length>5</length><size>
5</size><encoding style="application/octet-stream"/><archived-checksum style="sha1">`+strings.ToUpper(sha1Hex(hello))+
			`</archived-checksum><extracted-checksum style="sha1"> `+sha1Hex(hello)+` </extracted-checksum></data>`) + tocTail, hello, "a"},
		{"an empty file without data", tocHead + fileXML("a", "file", "") + tocTail, nil, "a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := readArchive(t, assemble(tc.toc, tc.heap))
			got, err := a.ReadFile(tc.file)
			want := hello
			if tc.heap == nil {
				want = nil
			}
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("ReadFile = %q, %v; want %q", got, err, want)
			}
		})
	}
}
