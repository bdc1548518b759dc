package fanotify

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// event encodes one struct fanotify_event_metadata followed by extra bytes
// of information records.
func event(vers uint8, mask uint64, fd, pid int32, extra int) []byte {
	b := make([]byte, metadataSize+extra)
	binary.NativeEndian.PutUint32(b[0:], uint32(len(b)))
	b[4] = vers
	binary.NativeEndian.PutUint16(b[6:], metadataSize)
	binary.NativeEndian.PutUint64(b[8:], mask)
	binary.NativeEndian.PutUint32(b[16:], uint32(fd))
	binary.NativeEndian.PutUint32(b[20:], uint32(pid))
	return b
}

func concat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

const execPerm = 0x40000 // FAN_OPEN_EXEC_PERM

func TestParseEvents(t *testing.T) {
	badLen := event(metadataVersion, execPerm, 5, 6, 0)
	binary.NativeEndian.PutUint32(badLen[0:], 200) // longer than the buffer
	shortMeta := event(metadataVersion, execPerm, 5, 6, 0)
	binary.NativeEndian.PutUint16(shortMeta[6:], 8)
	zeroLen := event(metadataVersion, execPerm, 5, 6, 0)
	binary.NativeEndian.PutUint32(zeroLen[0:], 0) // would loop forever if trusted

	tests := []struct {
		name    string
		buf     []byte
		want    []metadata
		wantErr bool
		version bool // error is errVersion
	}{
		{name: "empty", buf: nil},
		{name: "one", buf: event(metadataVersion, execPerm, 7, 1234, 0),
			want: []metadata{{mask: execPerm, fd: 7, pid: 1234}}},
		{name: "two with info record", buf: concat(event(metadataVersion, execPerm, 7, 1, 16), event(metadataVersion, 0x8, noFD, 2, 0)),
			want: []metadata{{mask: execPerm, fd: 7, pid: 1}, {mask: 0x8, fd: noFD, pid: 2}}},
		{name: "trailing garbage", buf: concat(event(metadataVersion, execPerm, 7, 1, 0), []byte{1, 2, 3}),
			want: []metadata{{mask: execPerm, fd: 7, pid: 1}}, wantErr: true},
		{name: "event_len past end", buf: badLen, wantErr: true},
		{name: "metadata_len too small", buf: shortMeta, wantErr: true},
		{name: "event_len zero", buf: zeroLen, wantErr: true},
		{name: "version", buf: concat(event(metadataVersion, execPerm, 7, 1, 0), event(2, execPerm, 8, 1, 0)),
			want: []metadata{{mask: execPerm, fd: 7, pid: 1}}, wantErr: true, version: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseEvents(nil, tt.buf)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if tt.version != errors.Is(err, errVersion) {
				t.Errorf("errors.Is(%v, errVersion) = %v, want %v", err, !tt.version, tt.version)
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(metadata{})); diff != "" {
				t.Errorf("events (-want +got):\n%s", diff)
			}
		})
	}
}

// FuzzParseEvents checks that no buffer makes the parser panic or loop, and
// that it never reports more events than the buffer can frame.
func FuzzParseEvents(f *testing.F) {
	f.Add(event(metadataVersion, execPerm, 7, 1234, 0))
	f.Add(concat(event(metadataVersion, execPerm, 7, 1, 16), event(metadataVersion, 0x8, noFD, 2, 0)))
	f.Add(event(2, execPerm, 7, 1, 0))
	f.Add([]byte{24, 0, 0, 0, 3, 0, 24})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, buf []byte) {
		got, err := parseEvents(nil, buf)
		if len(got)*metadataSize > len(buf) {
			t.Fatalf("%d events from %d bytes", len(got), len(buf))
		}
		if err == nil && len(buf) > 0 && len(got) == 0 {
			t.Fatalf("no events and no error from %d bytes", len(buf))
		}
	})
}
