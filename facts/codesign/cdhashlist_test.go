package codesign

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"howett.net/plist"
)

func TestCDHashListReadsWhatSignersWrite(t *testing.T) {
	want := [][]byte{bytes.Repeat([]byte{0xAB}, 20), bytes.Repeat([]byte{0xCD}, 20)}
	list := struct {
		CDHashes [][]byte `plist:"cdhashes"`
	}{want}
	// relic writes indented XML; Apple's codesign writes XML too. Binary is
	// read the same way.
	for name, format := range map[string]int{"xml": plist.XMLFormat, "binary": plist.BinaryFormat} {
		t.Run(name, func(t *testing.T) {
			text, err := plist.MarshalIndent(list, format, "  ")
			if err != nil {
				t.Fatal(err)
			}
			got, err := cdHashList(text)
			if err != nil {
				t.Fatalf("cdHashList: %v", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("cdHashList (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCDHashListWithoutTheKeyIsEmpty(t *testing.T) {
	got, err := cdHashList([]byte(`<plist><dict><key>other</key><true/></dict></plist>`))
	if err != nil || len(got) != 0 {
		t.Fatalf("cdHashList = %v, %v; want an empty list", got, err)
	}
}

// bplist00 lays out objects (their references refSize bytes wide, object
// 0 at the top) with 4-byte offsets and a trailer.
func bplist00(refSize byte, objs ...[]byte) []byte {
	b := []byte("bplist00")
	var offs []byte
	for _, o := range objs {
		offs = append(offs, byte(len(b)>>24), byte(len(b)>>16), byte(len(b)>>8), byte(len(b)))
		b = append(b, o...)
	}
	table := len(b)
	b = append(b, offs...)
	b = append(b, 0, 0, 0, 0, 0, 0, 4, refSize)
	for _, v := range []int{len(objs), 0, table} {
		b = append(b, 0, 0, 0, 0, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
	}
	return b
}

// cdhashesDict is {"cdhashes": object 2} with 1-byte references: the
// objects after it start at 2.
func cdhashesDict() []byte { return []byte{0xD1, 1, 2} }

func TestCDHashListRejectsHostilePlists(t *testing.T) {
	key := append([]byte{0x58}, "cdhashes"...)
	ff := bytes.Repeat([]byte{0xFF}, 8)
	// A chain of one-element arrays 20,000 deep under "cdhashes", with
	// 4-byte references.
	deep := func() []byte {
		const n = 20_000
		objs := [][]byte{{0xD1, 0, 0, 0, 1, 0, 0, 0, 2}, key}
		for i := range n {
			r := i + 3
			objs = append(objs, []byte{0xA1, byte(r >> 24), byte(r >> 16), byte(r >> 8), byte(r)})
		}
		return bplist00(4, append(objs, []byte{0x09})...)
	}
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		// The first three make howett.net/plist, decoding into the struct
		// this file used, panic with a runtime error (the first two) or
		// allocate 16 TiB; it spends time quadratic in the depth on the
		// fourth (internal/plist/howett_compare_test.go measures them).
		{"data length wraps the offset", bplist00(1, cdhashesDict(), key, append([]byte{0x4F, 0x13}, ff...)), "negative length"},
		{"dict count wraps the size", bplist00(1, cdhashesDict(), key, append([]byte{0xDF, 0x13, 0x80}, make([]byte, 7)...)), "negative length"},
		{"zero-byte references", bplist00(0, append([]byte{0xAF, 0x13, 0, 0, 1}, make([]byte, 5)...)), "reference size 0"},
		{"nested 20,000 deep", deep(), "nesting deeper than 512"},
		{"XML nested 100,000 deep", []byte("<plist><dict><key>cdhashes</key>" + strings.Repeat("<array>", 100_000)), "nesting deeper than 512"},
		{"not a dict", []byte(`<plist><array/></plist>`), "not dict"},
		{"not an array", []byte(`<plist><dict><key>cdhashes</key><string>x</string></dict></plist>`), "not an array"},
		{"entry not data", []byte(`<plist><dict><key>cdhashes</key><array><string>x</string></array></dict></plist>`), "not data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cdHashList(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("cdHashList = %d entries, %v; want an error containing %q", len(got), err, tt.want)
			}
		})
	}
}
