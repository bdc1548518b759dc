package backstop

import (
	"encoding/binary"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseMode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Mode
		bad  bool
	}{
		{"", Off, false}, {"off", Off, false}, {"audit", Audit, false}, {"deny", Deny, false},
		{"kill", 0, true}, {"Deny", 0, true},
	} {
		got, err := ParseMode(tc.in)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("ParseMode(%q) = %v, %v; want %v, error %v", tc.in, got, err, tc.want, tc.bad)
		}
		if err == nil && got.String() != map[string]string{"": "off"}[tc.in]+tc.in {
			t.Errorf("%v.String() = %q, want %q", got, got.String(), tc.in)
		}
	}
}

func encode(r Report) []byte {
	b := make([]byte, reportSize)
	le := binary.LittleEndian
	le.PutUint32(b[0:], uint32(r.PID))
	le.PutUint32(b[4:], uint32(r.TGID))
	le.PutUint32(b[8:], r.UID)
	le.PutUint32(b[12:], r.Major<<20|r.Minor)
	le.PutUint64(b[16:], r.Ino)
	le.PutUint64(b[24:], r.FSType)
	if r.Killed {
		le.PutUint32(b[32:], 1)
	}
	copy(b[40:55], r.Comm)
	copy(b[56:reportSize-1], r.Filename)
	return b
}

func TestDecodeReport(t *testing.T) {
	want := Report{PID: 4242, TGID: 4242, UID: 1000, Major: 0, Minor: 77, Ino: 12, FSType: 0x01021994,
		Comm: "prog", Filename: "/dev/fd/3", Killed: true}
	got, err := decodeReport(encode(want))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decodeReport (-want +got):\n%s", diff)
	}
	if _, err := decodeReport(make([]byte, reportSize-1)); err == nil {
		t.Error("a short report decoded")
	}
	if FSName(0x01021994) != "tmpfs" || FSName(1) != "magic 0x1" {
		t.Errorf("FSName: %q %q", FSName(0x01021994), FSName(1))
	}
}

func FuzzDecodeReport(f *testing.F) {
	f.Add(encode(Report{PID: 1, Comm: "x", Filename: "/a"}))
	f.Add(make([]byte, 3))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeReport(b)
		if err != nil {
			return
		}
		if len(r.Comm) > 16 || len(r.Filename) > 256 || r.Minor >= 1<<20 {
			t.Fatalf("decodeReport(%x) = %+v: fields past their bounds", b, r)
		}
	})
}
