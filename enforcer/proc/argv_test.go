package proc

import (
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"syscall"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fakeMem is an address space with one mapped region; reading outside it
// fails like /proc/TID/mem does on an unmapped page (EIO).
type fakeMem struct {
	base uint64
	data []byte
}

func (m *fakeMem) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || uint64(off) < m.base || uint64(off) >= m.base+uint64(len(m.data)) {
		return 0, syscall.EIO
	}
	n := copy(p, m.data[uint64(off)-m.base:])
	if n < len(p) {
		return n, syscall.EIO
	}
	return n, nil
}

// layout builds memory at base holding an argv array at base+ptrOff and
// the strings after it, as a libc caller might.
func layout(base uint64, ptrOff int, args []string) (*fakeMem, uint64) {
	data := make([]byte, ptrOff+8*(len(args)+1))
	for i, s := range args {
		binary.NativeEndian.PutUint64(data[ptrOff+8*i:], base+uint64(len(data)))
		data = append(data, s...)
		data = append(data, 0)
	}
	return &fakeMem{base: base, data: data}, base + uint64(ptrOff)
}

func TestReadArgv(t *testing.T) {
	const base = 0x7ffd0000_0000
	long := strings.Repeat("x", 10000) // spans chunks
	many := make([]string, maxArgs)
	for i := range many {
		many[i] = "a"
	}
	big := []string{strings.Repeat("y", 200<<10), strings.Repeat("z", 100<<10)}

	tests := []struct {
		name      string
		args      []string
		ptrOff    int
		want      []string
		truncated bool
	}{
		{name: "typical", args: []string{"prog", "--flag", "a b", ""}, want: []string{"prog", "--flag", "a b", ""}},
		{name: "empty", args: []string{}, want: nil},
		{name: "array crosses a chunk", args: []string{"a", "b", "c"}, ptrOff: chunkSize - 12, want: []string{"a", "b", "c"}},
		{name: "string spans chunks", args: []string{"p", long}, ptrOff: 100, want: []string{"p", long}},
		{name: "exactly maxArgs", args: many, want: many},
		{name: "one too many", args: append(many, "b"), want: many, truncated: true},
		{name: "too many bytes", args: big, want: big[:1], truncated: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem, argv := layout(base, tt.ptrOff, tt.args)
			got, err := readArgv(mem, argv, 8)
			if tt.truncated != errors.Is(err, ErrTruncated) || !tt.truncated && err != nil {
				t.Fatalf("err = %v, want truncated %v", err, tt.truncated)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("argv (-want +got):\n%s", diff)
			}
		})
	}
}

func TestReadArgvFaults(t *testing.T) {
	const base = 0x10000
	t.Run("null argv", func(t *testing.T) {
		got, err := readArgv(&fakeMem{}, 0, 8)
		if err != nil || got != nil {
			t.Errorf("readArgv(NULL) = %q, %v; want empty", got, err)
		}
	})
	t.Run("unmapped array", func(t *testing.T) {
		mem, _ := layout(base, 0, []string{"a"})
		if _, err := readArgv(mem, base+1<<20, 8); !errors.Is(err, syscall.EIO) {
			t.Errorf("err = %v, want EIO", err)
		}
	})
	t.Run("unterminated array", func(t *testing.T) {
		mem, argv := layout(base, 0, []string{"a", "b"})
		mem.data = mem.data[:16] // two pointers, no NULL, no strings
		got, err := readArgv(mem, argv, 8)
		if err == nil {
			t.Errorf("readArgv = %q, nil; want an error", got)
		}
	})
	t.Run("unterminated string", func(t *testing.T) {
		mem, argv := layout(base, 0, []string{"ab"})
		mem.data = mem.data[:len(mem.data)-1] // drop the NUL at the end of memory
		got, err := readArgv(mem, argv, 8)
		if err == nil || len(got) != 0 {
			t.Errorf("readArgv = %q, %v; want no args and an error", got, err)
		}
	})
	t.Run("pointer past int64", func(t *testing.T) {
		if _, err := readArgv(&fakeMem{}, 1<<63, 8); !errors.Is(err, errAddress) {
			t.Errorf("err = %v, want errAddress", err)
		}
	})
	t.Run("array wraps", func(t *testing.T) {
		mem := &fakeMem{base: 0, data: make([]byte, 16)}
		binary.NativeEndian.PutUint64(mem.data, 0) // would be the end, but the read starts past it
		if _, err := readArgv(mem, ^uint64(3), 8); err == nil {
			t.Error("no error for an array at the top of the address space")
		}
	})
	t.Run("eof", func(t *testing.T) {
		if _, err := readArgv(eofMem{}, base, 8); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("err = %v, want io.ErrUnexpectedEOF", err)
		}
	})
}

// eofMem is a task whose memory is gone.
type eofMem struct{}

func (eofMem) ReadAt(p []byte, off int64) (int, error) { return 0, io.EOF }

// FuzzReadArgv reads argv from arbitrary memory: it must not panic, must
// stop within its bounds, and must return only strings that were in memory.
func FuzzReadArgv(f *testing.F) {
	mem, argv := layout(0x1000, 0, []string{"prog", "--flag", "a b", ""})
	f.Add(mem.data, argv-mem.base)
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0}, uint64(0))
	f.Add([]byte{8, 0x10, 0, 0, 0, 0, 0, 0, 'x'}, uint64(0))
	f.Fuzz(func(t *testing.T, data []byte, off uint64) {
		const base = 0x1000
		args, _ := readArgv(&fakeMem{base: base, data: data}, base+off, 8)
		total := 0
		for _, a := range args {
			total += len(a) + 1
			if len(a) > len(data) {
				t.Fatalf("argument of %d bytes from %d bytes of memory", len(a), len(data))
			}
		}
		if len(args) > maxArgs || total > maxArgBytes {
			t.Fatalf("%d args, %d bytes: past the bounds", len(args), total)
		}
	})
}
