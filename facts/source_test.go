package facts

import (
	"strings"
	"testing"
)

func TestParseWhereFroms(t *testing.T) {
	const url = "https://dl.example.com/Foo-2.4.dmg"
	tests := []struct {
		name    string
		in      []byte
		want    string
		wantErr string
	}{
		{"safari", whereFroms(url, "https://example.com/download"), url, ""},
		// The smallest real value, written out completely:
		// ["https://x.io/a"] (array of one 14-byte ASCII string).
		{"literal bytes", []byte("bplist00" +
			"\xa1\x01" + // object 0 at offset 8: array of 1, ref 1
			"\x5ehttps://x.io/a" + // object 1 at offset 10: string of 14
			"\x08\x0a" + // offset table at 25
			"\x00\x00\x00\x00\x00\x00\x01\x01" +
			"\x00\x00\x00\x00\x00\x00\x00\x02" +
			"\x00\x00\x00\x00\x00\x00\x00\x00" +
			"\x00\x00\x00\x00\x00\x00\x00\x19"), "https://x.io/a", ""},
		{"first entry empty", bplist(bpArray(1, 2), bpString(""), bpString(url)), url, ""},
		{"empty array", bplist(bpArray()), "", ""},
		{"plain string", bplist(bpString(url)), url, ""},
		{"no value", nil, "", ""},
		{"xml", []byte(`<plist version="1.0"><array><string>` + url + `</string></array></plist>`), url, ""},
		{"not a list", bplist([]byte{0x09}), "", "holds bool"},
		{"garbage", []byte("bplist00garbage"), "", "kMDItemWhereFroms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseWhereFroms(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseWhereFroms = %q, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("parseWhereFroms = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestParseOriginURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.com/a.deb":     "https://example.com/a.deb",
		"https://example.com/a.deb\x00": "https://example.com/a.deb",
		"":                              "",
	} {
		if got := parseOriginURL([]byte(in)); got != want {
			t.Errorf("parseOriginURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseWhereFroms(f *testing.F) {
	f.Add(whereFroms("https://a.example/x", "https://a.example/"))
	f.Add(bplist(bpString("x")))
	f.Add([]byte("<plist><array><string>x</string></array></plist>"))
	f.Fuzz(func(t *testing.T, v []byte) {
		if s, err := parseWhereFroms(v); err != nil && s != "" {
			t.Fatalf("returned %q with error %v", s, err)
		}
	})
}
