package plist

import (
	"bytes"
	"encoding/binary"
	"math"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// ---- minimal binary plist encoder, for tests only ----

// bpNode is one object of the flattened tree; kids are object indexes.
type bpNode struct {
	v    any
	kids []int
}

func bpFlatten(nodes *[]bpNode, v any) int {
	i := len(*nodes)
	*nodes = append(*nodes, bpNode{v: v})
	var kids []int
	switch t := v.(type) {
	case []any:
		for _, c := range t {
			kids = append(kids, bpFlatten(nodes, c))
		}
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			kids = append(kids, bpFlatten(nodes, k))
		}
		for _, k := range keys {
			kids = append(kids, bpFlatten(nodes, t[k]))
		}
	}
	(*nodes)[i].kids = kids
	return i
}

// bytesFor is the number of bytes needed to hold u (at least 1).
func bytesFor(u uint64) int {
	n := 1
	for u > 0xFF {
		u >>= 8
		n++
	}
	return n
}

func appendUint(b []byte, u uint64, size int) []byte {
	for i := size - 1; i >= 0; i-- {
		b = append(b, byte(u>>(8*i)))
	}
	return b
}

// bpHeader appends a marker with a count, using an extended length when
// the count does not fit in the low nibble.
func bpHeader(b []byte, hi byte, n int) []byte {
	if n < 15 {
		return append(b, hi<<4|byte(n))
	}
	b = append(b, hi<<4|0xF)
	return bpInt(b, int64(n))
}

func bpInt(b []byte, v int64) []byte {
	switch {
	case v >= 0 && v <= 0xFF:
		return append(append(b, 0x10), byte(v))
	case v >= 0 && v <= 0xFFFF:
		return appendUint(append(b, 0x11), uint64(v), 2)
	case v >= 0 && v <= 0xFFFFFFFF:
		return appendUint(append(b, 0x12), uint64(v), 4)
	}
	return appendUint(append(b, 0x13), uint64(v), 8)
}

func bpObject(t testing.TB, n bpNode, refSize int) []byte {
	var b []byte
	switch v := n.v.(type) {
	case bool:
		if v {
			return []byte{0x09}
		}
		return []byte{0x08}
	case int:
		return bpInt(b, int64(v))
	case int64:
		return bpInt(b, v)
	case uint64:
		if v <= math.MaxInt64 {
			return bpInt(b, int64(v))
		}
		b = append(b, 0x14)
		b = appendUint(b, 0, 8)
		return appendUint(b, v, 8)
	case float32:
		return appendUint(append(b, 0x22), uint64(math.Float32bits(v)), 4)
	case float64:
		return appendUint(append(b, 0x23), math.Float64bits(v), 8)
	case time.Time:
		secs := float64(v.Unix()-appleEpoch) + float64(v.Nanosecond())/1e9
		return appendUint(append(b, 0x33), math.Float64bits(secs), 8)
	case []byte:
		return append(bpHeader(b, 0x4, len(v)), v...)
	case string:
		ascii := true
		for i := 0; i < len(v); i++ {
			if v[i] >= 0x80 {
				ascii = false
			}
		}
		if ascii {
			return append(bpHeader(b, 0x5, len(v)), v...)
		}
		u := utf16.Encode([]rune(v))
		b = bpHeader(b, 0x6, len(u))
		for _, c := range u {
			b = appendUint(b, uint64(c), 2)
		}
		return b
	case UID:
		size := bytesFor(uint64(v))
		return appendUint(append(b, 0x80|byte(size-1)), uint64(v), size)
	case []any:
		b = bpHeader(b, 0xA, len(n.kids))
	case map[string]any:
		b = bpHeader(b, 0xD, len(n.kids)/2)
	default:
		t.Fatalf("bpObject: unsupported type %T", v)
	}
	for _, k := range n.kids {
		b = appendUint(b, uint64(k), refSize)
	}
	return b
}

// encodeBinary encodes v as a bplist00 file with object 0 at the top.
func encodeBinary(t testing.TB, v any) []byte {
	t.Helper()
	var nodes []bpNode
	bpFlatten(&nodes, v)
	refSize := bytesFor(uint64(len(nodes) - 1))
	objs := make([][]byte, len(nodes))
	for i, n := range nodes {
		objs[i] = bpObject(t, n, refSize)
	}
	return assemble(objs, 0, refSize)
}

// assemble lays out hand-encoded objects (with refs of refSize bytes
// already inside them), an offset table and a trailer.
func assemble(objs [][]byte, top uint64, refSize int) []byte {
	b := []byte("bplist00")
	offs := make([]uint64, len(objs))
	for i, o := range objs {
		offs[i] = uint64(len(b))
		b = append(b, o...)
	}
	offTable := uint64(len(b))
	offSize := bytesFor(offTable)
	for _, o := range offs {
		b = appendUint(b, o, offSize)
	}
	b = append(b, 0, 0, 0, 0, 0, 0, byte(offSize), byte(refSize))
	b = appendUint(b, uint64(len(objs)), 8)
	b = appendUint(b, top, 8)
	return appendUint(b, offTable, 8)
}

// Trailer field patchers.
func clone(b []byte) []byte { return append([]byte{}, b...) }

func setOffSize(b []byte, n byte) []byte { b = clone(b); b[len(b)-26] = n; return b }
func setRefSize(b []byte, n byte) []byte { b = clone(b); b[len(b)-25] = n; return b }
func setNumObjects(b []byte, n uint64) []byte {
	b = clone(b)
	binary.BigEndian.PutUint64(b[len(b)-24:], n)
	return b
}
func setTop(b []byte, n uint64) []byte {
	b = clone(b)
	binary.BigEndian.PutUint64(b[len(b)-16:], n)
	return b
}
func setOffTable(b []byte, n uint64) []byte {
	b = clone(b)
	binary.BigEndian.PutUint64(b[len(b)-8:], n)
	return b
}

// ---- fixtures ----

const infoPlistXML = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>BuildMachineOSBuild</key>
	<string>23C71</string>
	<key>CFBundleDevelopmentRegion</key>
	<string>en</string>
	<key>CFBundleExecutable</key>
	<string>Gatehouse</string>
	<key>CFBundleIconFile</key>
	<string>AppIcon</string>
	<key>CFBundleIdentifier</key>
	<string>com.example.gatehouse</string>
	<key>CFBundleInfoDictionaryVersion</key>
	<string>6.0</string>
	<key>CFBundleName</key>
	<string>Gatehouse</string>
	<key>CFBundlePackageType</key>
	<string>APPL</string>
	<key>CFBundleShortVersionString</key>
	<string>2.4.1</string>
	<key>CFBundleSupportedPlatforms</key>
	<array>
		<string>MacOSX</string>
	</array>
	<key>CFBundleVersion</key>
	<string>241</string>
	<key>DTPlatformVersion</key>
	<string>14.2</string>
	<key>LSMinimumSystemVersion</key>
	<string>12.0</string>
	<key>LSUIElement</key>
	<true/>
	<key>NSHighResolutionCapable</key>
	<true/>
	<key>NSHumanReadableCopyright</key>
	<string>Copyright © 2024 Example &amp; Co. All rights reserved.</string>
	<key>NSPrincipalClass</key>
	<string>NSApplication</string>
</dict>
</plist>
`

var infoPlistValue = map[string]any{
	"BuildMachineOSBuild":           "23C71",
	"CFBundleDevelopmentRegion":     "en",
	"CFBundleExecutable":            "Gatehouse",
	"CFBundleIconFile":              "AppIcon",
	"CFBundleIdentifier":            "com.example.gatehouse",
	"CFBundleInfoDictionaryVersion": "6.0",
	"CFBundleName":                  "Gatehouse",
	"CFBundlePackageType":           "APPL",
	"CFBundleShortVersionString":    "2.4.1",
	"CFBundleSupportedPlatforms":    []any{"MacOSX"},
	"CFBundleVersion":               "241",
	"DTPlatformVersion":             "14.2",
	"LSMinimumSystemVersion":        "12.0",
	"LSUIElement":                   true,
	"NSHighResolutionCapable":       true,
	"NSHumanReadableCopyright":      "Copyright © 2024 Example & Co. All rights reserved.",
	"NSPrincipalClass":              "NSApplication",
}

var whereFromsValue = []any{
	"https://downloads.example.com/gatehouse/Gatehouse-2.4.1.dmg",
	"https://www.example.com/download",
}

func wrapXML(body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
` + body + `
</plist>
`
}

var date1 = time.Date(2024, 3, 15, 12, 30, 45, 0, time.UTC)

// ---- valid inputs ----

func TestXML(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want any
	}{
		{"string", wrapXML(`<string>hello</string>`), "hello"},
		{"string entities", wrapXML(`<string>a &lt;b&gt; &amp; &quot;c&quot; &#x263A; &#65;</string>`), `a <b> & "c" ☺ A`},
		{"string cdata", wrapXML(`<string><![CDATA[<not a tag>]]></string>`), "<not a tag>"},
		{"string utf8", wrapXML(`<string>Grüße, 世界</string>`), "Grüße, 世界"},
		{"empty string", wrapXML(`<string/>`), ""},
		{"empty string pair", wrapXML(`<string></string>`), ""},
		{"string whitespace kept", wrapXML("<string>  a\n b </string>"), "  a\n b "},
		{"integer", wrapXML(`<integer>42</integer>`), int64(42)},
		{"integer negative", wrapXML(`<integer>-17</integer>`), int64(-17)},
		{"integer plus", wrapXML(`<integer>+17</integer>`), int64(17)},
		{"integer hex", wrapXML(`<integer>0x1F</integer>`), int64(31)},
		{"integer neg hex", wrapXML(`<integer>-0x10</integer>`), int64(-16)},
		{"integer spaces", wrapXML(`<integer> 7 </integer>`), int64(7)},
		{"integer max", wrapXML(`<integer>9223372036854775807</integer>`), int64(math.MaxInt64)},
		{"integer min", wrapXML(`<integer>-9223372036854775808</integer>`), int64(math.MinInt64)},
		{"integer uint64", wrapXML(`<integer>18446744073709551615</integer>`), uint64(math.MaxUint64)},
		{"real", wrapXML(`<real>3.25</real>`), 3.25},
		{"real exp", wrapXML(`<real>-1.5e3</real>`), -1500.0},
		{"real int form", wrapXML(`<real>2</real>`), 2.0},
		{"real inf", wrapXML(`<real>-inf</real>`), math.Inf(-1)},
		{"true", wrapXML(`<true/>`), true},
		{"false", wrapXML(`<false/>`), false},
		{"true pair", wrapXML(`<true></true>`), true},
		{"date", wrapXML(`<date>2024-03-15T12:30:45Z</date>`), date1},
		{"date offset", wrapXML(`<date>2024-03-15T14:30:45+02:00</date>`), date1},
		{"date no zone", wrapXML(`<date>2024-03-15T12:30:45</date>`), date1},
		{"data", wrapXML(`<data>aGVsbG8gd29ybGQ=</data>`), []byte("hello world")},
		{"data whitespace", wrapXML("<data>\n\taGVs\n\tbG8g d29y\r\n\tbGQ=\n</data>"), []byte("hello world")},
		{"data unpadded", wrapXML(`<data>aGk</data>`), []byte("hi")},
		{"data empty", wrapXML(`<data></data>`), []byte{}},
		{"array", wrapXML(`<array><string>a</string><integer>1</integer><true/></array>`), []any{"a", int64(1), true}},
		{"empty array", wrapXML(`<array/>`), []any{}},
		{"empty dict", wrapXML(`<dict/>`), map[string]any{}},
		{"nested", wrapXML(`<dict><key>a</key><array><dict><key>b</key><array/></dict></array></dict>`),
			map[string]any{"a": []any{map[string]any{"b": []any{}}}}},
		{"dict duplicate key last wins", wrapXML(`<dict><key>k</key><integer>1</integer><key>k</key><integer>2</integer></dict>`),
			map[string]any{"k": int64(2)}},
		{"empty key", wrapXML(`<dict><key/><string>v</string></dict>`), map[string]any{"": "v"}},
		{"comments", wrapXML(`<!-- c --><dict><!-- c --><key>a<!-- c -->b</key><!-- c --><string>x<!-- c -->y</string></dict><!-- c -->`),
			map[string]any{"ab": "xy"}},
		{"no plist wrapper", `<dict><key>a</key><string>b</string></dict>`, map[string]any{"a": "b"}},
		{"no prolog", `<plist><string>x</string></plist>`, "x"},
		{"bom", "\xef\xbb\xbf" + wrapXML(`<string>x</string>`), "x"},
		{"info.plist", infoPlistXML, infoPlistValue},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse([]byte(tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestBinaryRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   any // encoded with the test encoder
		want any // nil: same as in
	}{
		{"true", true, nil},
		{"false", false, nil},
		{"int 1 byte", int64(200), nil},
		{"int 2 bytes", int64(60000), nil},
		{"int 4 bytes", int64(4000000000), nil},
		{"int 8 bytes", int64(1 << 40), nil},
		{"int negative", int64(-1), nil},
		{"int min", int64(math.MinInt64), nil},
		{"int max", int64(math.MaxInt64), nil},
		{"uint64 16 bytes", uint64(math.MaxUint64), nil},
		{"real", 3.25, nil},
		{"real32", float32(1.5), 1.5},
		{"date", date1, nil},
		{"date before 2001", time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), nil},
		{"date fraction", time.Date(2024, 3, 15, 12, 30, 45, 500000000, time.UTC), nil},
		{"data", []byte{0, 1, 2, 0xFF}, nil},
		{"data empty", []byte{}, nil},
		{"data long", bytes.Repeat([]byte{0xAB}, 300), nil},
		{"string", "hello", nil},
		{"string empty", "", nil},
		{"string long", strings.Repeat("x", 1000), nil},
		{"string utf16", "Grüße, 世界 😀", nil},
		{"string utf16 long", strings.Repeat("é", 40), nil},
		{"uid small", UID(7), nil},
		{"uid large", UID(1 << 40), nil},
		{"array", []any{"a", int64(1), true, 2.5}, nil},
		{"array empty", []any{}, nil},
		{"array long", func() []any {
			a := make([]any, 300)
			for i := range a {
				a[i] = int64(i)
			}
			return a
		}(), nil},
		{"dict", map[string]any{"a": "b", "n": int64(1)}, nil},
		{"dict empty", map[string]any{}, nil},
		{"nested", map[string]any{"a": []any{map[string]any{"b": []any{UID(1)}}}}, nil},
		{"info.plist", infoPlistValue, nil},
		{"whereFroms", whereFromsValue, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := tt.want
			if want == nil {
				want = tt.in
			}
			got, err := Parse(encodeBinary(t, tt.in))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %#v\nwant %#v", got, want)
			}
		})
	}
}

func TestBinaryHandEncoded(t *testing.T) {
	tests := []struct {
		name    string
		objs    [][]byte
		refSize int
		want    any
	}{
		{"utf16 surrogate pair", [][]byte{{0x62, 0xD8, 0x3D, 0xDE, 0x00}}, 1, "😀"},
		{"utf16 unpaired surrogate", [][]byte{{0x61, 0xD8, 0x3D}}, 1, "\uFFFD"},
		{"ascii high bytes as latin1", [][]byte{{0x52, 'a', 0xE9}}, 1, "aé"},
		{"int16 negative", [][]byte{append([]byte{0x14}, bytes.Repeat([]byte{0xFF}, 16)...)}, 1, int64(-1)},
		{"int16 small", [][]byte{append(append([]byte{0x14}, make([]byte, 15)...), 5)}, 1, int64(5)},
		{"int1 is unsigned", [][]byte{{0x10, 0xFF}}, 1, int64(255)},
		{"int4 is unsigned", [][]byte{{0x12, 0xFF, 0xFF, 0xFF, 0xFF}}, 1, int64(0xFFFFFFFF)},
		{"extended length with 2-byte int", [][]byte{{0x5F, 0x11, 0x00, 0x03, 'a', 'b', 'c'}}, 1, "abc"},
		{"set as array", [][]byte{{0xC2, 1, 2}, {0x09}, {0x08}}, 1, []any{true, false}},
		{"shared refs", [][]byte{{0xA3, 1, 1, 1}, {0x51, 'x'}}, 1, []any{"x", "x", "x"}},
		{"two-byte refs", [][]byte{{0xA1, 0, 1}, {0x09}}, 2, []any{true}},
		{"uid 1 byte", [][]byte{{0x80, 0x2A}}, 1, UID(42)},
		{"uid 8 bytes", [][]byte{{0x87, 1, 2, 3, 4, 5, 6, 7, 8}}, 1, UID(0x0102030405060708)},
		{"dict duplicate key last wins", [][]byte{{0xD2, 1, 1, 2, 3}, {0x51, 'k'}, {0x10, 1}, {0x10, 2}}, 1,
			map[string]any{"k": int64(2)}},
		{"dict utf16 key", [][]byte{{0xD1, 1, 2}, {0x61, 0x00, 0xE9}, {0x09}}, 1, map[string]any{"é": true}},
		{"date epoch", [][]byte{{0x33, 0, 0, 0, 0, 0, 0, 0, 0}}, 1, time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(assemble(tt.objs, 0, tt.refSize))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestNaN(t *testing.T) {
	for _, in := range [][]byte{
		[]byte(wrapXML(`<real>nan</real>`)),
		encodeBinary(t, math.NaN()),
	} {
		v, err := Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if f, ok := v.(float64); !ok || !math.IsNaN(f) {
			t.Fatalf("got %#v, want NaN", v)
		}
	}
}

func TestInfoPlistXMLAndBinaryAgree(t *testing.T) {
	x, err := Dict([]byte(infoPlistXML))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Dict(encodeBinary(t, infoPlistValue))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(x, b) {
		t.Fatalf("xml %#v\nbinary %#v", x, b)
	}
	for k, want := range map[string]string{
		"CFBundleIdentifier":         "com.example.gatehouse",
		"CFBundleShortVersionString": "2.4.1",
		"CFBundleVersion":            "241",
		"CFBundleExecutable":         "Gatehouse",
	} {
		if got, _ := b[k].(string); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestWhereFroms(t *testing.T) {
	v, err := Parse(encodeBinary(t, whereFromsValue))
	if err != nil {
		t.Fatal(err)
	}
	a, ok := v.([]any)
	if !ok || len(a) != 2 {
		t.Fatalf("got %#v", v)
	}
	if a[0] != whereFromsValue[0] || a[1] != whereFromsValue[1] {
		t.Fatalf("got %#v", a)
	}
}

// ---- errors ----

func TestErrors(t *testing.T) {
	info := encodeBinary(t, infoPlistValue)
	small := assemble([][]byte{{0xA1, 1}, {0x09}}, 0, 1) // [true]
	huge := func(marker byte) []byte {
		return assemble([][]byte{append([]byte{marker, 0x13}, 0x40, 0, 0, 0, 0, 0, 0, 0)}, 0, 1)
	}
	neg := func(marker byte) []byte {
		return assemble([][]byte{append([]byte{marker, 0x13}, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF)}, 0, 1)
	}
	chain := func(n int) []byte { // n nested single-element arrays around true
		objs := make([][]byte, n+1)
		for i := 0; i < n; i++ {
			objs[i] = []byte{0xA1, byte((i + 1) >> 8), byte(i + 1)}
		}
		objs[n] = []byte{0x09}
		return assemble(objs, 0, 2)
	}
	fanout := func(levels int) []byte { // each level refers twice to the next
		objs := make([][]byte, levels+1)
		for i := 0; i < levels; i++ {
			objs[i] = []byte{0xA2, byte(i + 1), byte(i + 1)}
		}
		objs[levels] = []byte{0x10, 1}
		return assemble(objs, 0, 1)
	}
	// One 1 MiB data object referenced 100 times.
	bigDataFile := func() []byte {
		arr := bpHeader(nil, 0xA, 100)
		for i := 0; i < 100; i++ {
			arr = append(arr, 1)
		}
		data := append(bpHeader(nil, 0x4, 1<<20), make([]byte, 1<<20)...)
		return assemble([][]byte{arr, data}, 0, 1)
	}

	tests := []struct {
		name string
		in   []byte
		want string // substring of the error
	}{
		// general
		{"empty", nil, "empty input"},
		{"whitespace only", []byte(" \n\t"), "empty input"},
		{"bplist other version", []byte("bplist15xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), "unsupported binary plist version"},
		{"bplist short magic", []byte("bplist"), "unsupported binary plist version"},

		// binary: file and trailer
		{"binary header only", []byte("bplist00"), "file too short"},
		{"binary truncated", info[:len(info)/2], "plist: binary"},
		{"binary trailer cut", info[:len(info)-1], "plist: binary"},
		{"offset size 0", setOffSize(small, 0), "offset size 0"},
		{"offset size 9", setOffSize(small, 9), "offset size 9"},
		{"ref size 0", setRefSize(small, 0), "reference size 0"},
		{"ref size 9", setRefSize(small, 9), "reference size 9"},
		{"no objects", setNumObjects(small, 0), "object count is 0"},
		{"too many objects", setNumObjects(small, 1<<62), "runs past the trailer"},
		{"max objects", setNumObjects(small, math.MaxUint64), "runs past the trailer"},
		{"objects exceed ref size", assemble(func() [][]byte {
			objs := make([][]byte, 300)
			for i := range objs {
				objs[i] = []byte{0x09}
			}
			return objs
		}(), 0, 1), "cannot be addressed with 1-byte references"},
		{"top out of range", setTop(small, 2), "top object 2 out of range"},
		{"top huge", setTop(small, math.MaxUint64), "out of range"},
		{"offset table in header", setOffTable(small, 3), "offset table offset 3"},
		{"offset table past trailer", setOffTable(small, 1<<40), "offset table offset"},
		{"offset table overlaps trailer", setOffTable(small, uint64(len(small)-32-1)), "runs past the trailer"},

		// binary: offsets, lengths, refs
		{"offset out of range", func() []byte {
			b := clone(small)
			b[len(b)-32-2] = 0xF0 // first offset table entry
			return b
		}(), "outside object area"},
		{"offset in header", func() []byte {
			b := clone(small)
			b[len(b)-32-1] = 2 // second entry
			return b
		}(), "outside object area"},
		{"ref out of range", assemble([][]byte{{0xA1, 5}, {0x09}}, 0, 1), "object reference 5 out of range"},
		{"dict key ref out of range", assemble([][]byte{{0xD1, 7, 1}, {0x09}}, 0, 1), "object reference 7 out of range"},
		{"dict value ref out of range", assemble([][]byte{{0xD1, 1, 9}, {0x51, 'k'}}, 0, 1), "object reference 9 out of range"},
		{"dict key not string", assemble([][]byte{{0xD1, 1, 1}, {0x09}}, 0, 1), "not string"},
		{"huge string", huge(0x5F), "runs past the object area"},
		{"huge utf16 string", huge(0x6F), "runs past the object area"},
		{"huge data", huge(0x4F), "runs past the object area"},
		{"huge array", huge(0xAF), "runs past the object area"},
		{"huge dict", huge(0xDF), "runs past the object area"},
		{"negative length", neg(0x5F), "negative length"},
		{"length not int", assemble([][]byte{{0x5F, 0x51, 'a'}}, 0, 1), "not an integer"},
		{"length 16-byte int", assemble([][]byte{{0x5F, 0x14, 0}}, 0, 1), "not supported"},
		{"length truncated", assemble([][]byte{{0x5F, 0x13, 0}}, 0, 1), "truncated length"},
		{"string past object area", assemble([][]byte{{0x55, 'a'}}, 0, 1), "runs past the object area"},
		{"int truncated", assemble([][]byte{{0x13, 1, 2}}, 0, 1), "truncated integer"},
		{"int 32 bytes", assemble([][]byte{{0x15, 1}}, 0, 1), "not supported"},
		{"int16 too big", assemble([][]byte{append([]byte{0x14, 1}, make([]byte, 15)...)}, 0, 1), "does not fit"},
		{"real truncated", assemble([][]byte{{0x23, 1}}, 0, 1), "truncated real"},
		{"real 1 byte", assemble([][]byte{{0x20, 1}}, 0, 1), "not supported"},
		{"date bad marker", assemble([][]byte{{0x34, 0, 0, 0, 0, 0, 0, 0, 0}}, 0, 1), "date marker"},
		{"date NaN", assemble([][]byte{appendUint([]byte{0x33}, math.Float64bits(math.NaN()), 8)}, 0, 1), "date out of range"},
		{"date huge", assemble([][]byte{appendUint([]byte{0x33}, math.Float64bits(1e300), 8)}, 0, 1), "date out of range"},
		{"uid 9 bytes", assemble([][]byte{{0x88, 1, 2, 3, 4, 5, 6, 7, 8, 9}}, 0, 1), "UID of 9 bytes"},
		{"uid truncated", assemble([][]byte{{0x83, 1}}, 0, 1), "truncated UID"},
		{"null", assemble([][]byte{{0x00}}, 0, 1), "marker 0x00"},
		{"unknown marker", assemble([][]byte{{0x70}}, 0, 1), "marker 0x70"},
		{"ordered set", assemble([][]byte{{0xB0}}, 0, 1), "marker 0xb0"},

		// binary: cycles, depth, expansion
		{"self-referencing array", assemble([][]byte{{0xA1, 0}}, 0, 1), "reference cycle"},
		{"indirect cycle", assemble([][]byte{{0xA1, 1}, {0xA1, 2}, {0xA2, 3, 0}, {0x09}}, 0, 1), "reference cycle"},
		{"dict value cycle", assemble([][]byte{{0xD1, 1, 0}, {0x51, 'k'}}, 0, 1), "reference cycle"},
		{"deep nesting", chain(600), "nesting deeper than 512"},
		{"shared ref expansion", fanout(40), "objects decoded"},
		{"shared data expansion", bigDataFile(), "data objects expand"},

		// XML
		{"not xml", []byte("hello"), "plist: xml"},
		{"unclosed", []byte(`<plist><dict><key>a</key><string>b</string>`), "unexpected EOF"},
		{"mismatched", []byte(`<plist><array></dict></plist>`), "plist: xml"},
		{"truncated xml", []byte(infoPlistXML[:len(infoPlistXML)/2]), "unexpected EOF"},
		{"empty plist", []byte(`<plist version="1.0"></plist>`), "empty <plist>"},
		{"two values", []byte(`<plist><true/><false/></plist>`), "more than one value"},
		{"two roots", []byte(`<plist><true/></plist><plist><true/></plist>`), "after the top-level value"},
		{"trailing text", []byte(`<plist><true/></plist>junk`), "unexpected text"},
		{"unknown element", []byte(wrapXML(`<foo/>`)), "unknown element <foo>"},
		{"nested plist", []byte(wrapXML(`<array><plist/></array>`)), "unknown element <plist>"},
		{"text in dict", []byte(wrapXML(`<dict>x<key>a</key><true/></dict>`)), "unexpected text in <dict>"},
		{"text in array", []byte(wrapXML(`<array>x</array>`)), "unexpected text in <array>"},
		{"value without key", []byte(wrapXML(`<dict><string>a</string></dict>`)), "expected <key>"},
		{"key without value", []byte(wrapXML(`<dict><key>a</key></dict>`)), `key "a" has no value`},
		{"element in string", []byte(wrapXML(`<string>a<b/>c</string>`)), "unexpected <b> inside <string>"},
		{"text in true", []byte(wrapXML(`<true>yes</true>`)), "unexpected text inside <true/>"},
		{"bad integer", []byte(wrapXML(`<integer>12a</integer>`)), "invalid integer"},
		{"empty integer", []byte(wrapXML(`<integer/>`)), "invalid integer"},
		{"integer overflow", []byte(wrapXML(`<integer>18446744073709551616</integer>`)), "out of range"},
		{"negative overflow", []byte(wrapXML(`<integer>-9223372036854775809</integer>`)), "out of range"},
		{"bad real", []byte(wrapXML(`<real>1.2.3</real>`)), "invalid real"},
		{"bad date", []byte(wrapXML(`<date>yesterday</date>`)), "invalid date"},
		{"bad data", []byte(wrapXML(`<data>!!!!</data>`)), "invalid base64"},
		{"undefined entity", []byte(wrapXML(`<string>&foo;</string>`)), "plist: xml"},
		{"dtd entity not expanded", []byte(`<?xml version="1.0"?>
<!DOCTYPE plist [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<plist><string>&xxe;</string></plist>`), "plist: xml"},
		{"deep xml", []byte(strings.Repeat("<array>", 600) + strings.Repeat("</array>", 600)), "nesting deeper than 512"},
		{"non-utf8 encoding", []byte(`<?xml version="1.0" encoding="ISO-8859-1"?><plist><string>x</string></plist>`), "plist: xml"},
		{"invalid utf8", []byte("<plist><string>\xff</string></plist>"), "plist: xml"},
		{"line number", []byte("<plist>\n<dict>\n<key>a</key>\n<integer>x</integer>\n</dict>\n</plist>"), "line 4"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse succeeded with %#v, want error containing %q", v, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "plist: ") {
				t.Errorf("error %q lacks the plist: prefix", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestBinaryEveryTruncation(t *testing.T) {
	for _, in := range [][]byte{encodeBinary(t, infoPlistValue), encodeBinary(t, whereFromsValue)} {
		for n := 0; n < len(in); n++ {
			if v, err := Parse(in[:n]); err == nil {
				t.Fatalf("Parse of %d/%d bytes succeeded: %#v", n, len(in), v)
			}
		}
	}
}

func TestDict(t *testing.T) {
	m, err := Dict([]byte(infoPlistXML))
	if err != nil {
		t.Fatal(err)
	}
	if m["CFBundleIdentifier"] != "com.example.gatehouse" {
		t.Fatalf("got %#v", m)
	}
	for _, in := range [][]byte{
		[]byte(wrapXML(`<array/>`)),
		[]byte(wrapXML(`<string>x</string>`)),
		encodeBinary(t, whereFromsValue),
	} {
		_, err := Dict(in)
		if err == nil || !strings.Contains(err.Error(), "not dict") {
			t.Errorf("Dict error = %v, want 'not dict'", err)
		}
	}
	if _, err := Dict(nil); err == nil {
		t.Error("Dict(nil) succeeded")
	}
}

// ---- fuzzing ----

func fuzzSeeds(t testing.TB) [][]byte {
	seeds := [][]byte{
		[]byte(infoPlistXML),
		[]byte(wrapXML(`<array><integer>-0x10</integer><real>1.5</real><date>2024-03-15T12:30:45Z</date><data>aGk=</data><false/><string/></array>`)),
		encodeBinary(t, infoPlistValue),
		encodeBinary(t, whereFromsValue),
		encodeBinary(t, []any{int64(-1), uint64(math.MaxUint64), 1.5, float32(2.5), date1, []byte{1, 2}, "é😀", UID(9),
			map[string]any{"k": []any{}}, false}),
		assemble([][]byte{{0xA2, 1, 1}, {0xC1, 2}, {0xD1, 3, 3}, {0x51, 'k'}}, 0, 1),
		assemble([][]byte{{0xA1, 0}}, 0, 1),
	}
	return seeds
}

func FuzzParse(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := Parse(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "plist: ") {
				t.Fatalf("error %q lacks the plist: prefix", err)
			}
			if v != nil {
				t.Fatalf("value %#v returned with error", v)
			}
			return
		}
		checkValue(t, v, 0)
		m, derr := Dict(data)
		if _, isMap := v.(map[string]any); isMap != (derr == nil) {
			t.Fatalf("Dict disagrees with Parse: %v", derr)
		}
		if derr == nil && !reflect.DeepEqual(m, v) && !hasNaN(v) {
			t.Fatalf("Dict result differs from Parse")
		}
	})
}

// checkValue asserts that v only holds the documented types, strings are
// valid UTF-8 and nesting is within the limit.
func checkValue(t *testing.T, v any, depth int) {
	t.Helper()
	if depth > maxDepth {
		t.Fatalf("nesting %d exceeds the limit", depth)
	}
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if !utf8.ValidString(k) {
				t.Fatalf("invalid UTF-8 key %q", k)
			}
			checkValue(t, e, depth+1)
		}
	case []any:
		for _, e := range x {
			checkValue(t, e, depth+1)
		}
	case string:
		if !utf8.ValidString(x) {
			t.Fatalf("invalid UTF-8 string %q", x)
		}
	case time.Time:
		if x.Location() != time.UTC {
			t.Fatalf("date %v not in UTC", x)
		}
	case int64, uint64, float64, bool, []byte, UID:
	default:
		t.Fatalf("unexpected type %T", v)
	}
}

func hasNaN(v any) bool {
	switch x := v.(type) {
	case float64:
		return math.IsNaN(x)
	case map[string]any:
		for _, e := range x {
			if hasNaN(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if hasNaN(e) {
				return true
			}
		}
	}
	return false
}
