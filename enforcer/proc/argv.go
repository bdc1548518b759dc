package proc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
)

// Bounds on what ExecArgs reads. The kernel allows more (up to a quarter
// of the stack limit); policy needs far less, and a task held in execve is
// not allowed to make the daemon read without bound.
const (
	maxArgs     = 4096
	maxArgBytes = 256 << 10 // the strings, NULs included
)

// chunkSize is the unit of reads from the other address space. Reads are
// aligned to it, so with pages of 4 KiB or more a read never straddles a
// mapped and an unmapped page.
const chunkSize = 4096

// errAddress is an address that cannot be a file offset of /proc/TID/mem.
var errAddress = errors.New("address out of range")

// readArgv reads the NULL-terminated array of ptrSize-byte pointers at
// argv in mem (another address space, addressed by offset) and the
// NUL-terminated strings they point to. A NULL argv is an empty argv, as
// execve(2) treats it.
func readArgv(mem io.ReaderAt, argv uint64, ptrSize int) ([]string, error) {
	return new(argvReader).read(mem, argv, ptrSize)
}

// argvReader holds the buffers of readArgv, for reuse. Separate caches:
// the pointer array and the strings usually lie in different chunks, and
// alternating would reread both.
type argvReader struct {
	ptrs, strs chunkReader
}

// readers keeps argvReaders (8 KiB each) between calls.
var readers = sync.Pool{New: func() any { return new(argvReader) }}

func (r *argvReader) read(mem io.ReaderAt, argv uint64, ptrSize int) ([]string, error) {
	if argv == 0 {
		return nil, nil
	}
	ptrs, strs := &r.ptrs, &r.strs
	ptrs.r, ptrs.n = mem, 0
	strs.r, strs.n = mem, 0
	defer func() { ptrs.r, strs.r = nil, nil }()
	var args []string
	var word [8]byte
	total := 0
	for i := 0; ; i++ {
		at := argv + uint64(i)*uint64(ptrSize)
		if at < argv {
			return args, fmt.Errorf("argv[%d] pointer: %w", i, errAddress)
		}
		if err := ptrs.read(at, word[:ptrSize]); err != nil {
			return args, fmt.Errorf("argv[%d] pointer at %#x: %w", i, at, err)
		}
		var p uint64
		if ptrSize == 4 {
			p = uint64(binary.NativeEndian.Uint32(word[:4]))
		} else {
			p = binary.NativeEndian.Uint64(word[:8])
		}
		if p == 0 {
			return args, nil
		}
		if i == maxArgs {
			return args, fmt.Errorf("%w: more than %d arguments", ErrTruncated, maxArgs)
		}
		s, err := strs.cstring(p, maxArgBytes-total)
		if err != nil {
			return args, fmt.Errorf("argv[%d] at %#x: %w", i, p, err)
		}
		total += len(s) + 1
		args = append(args, s)
	}
}

// chunkReader reads another address space through a one-chunk cache.
type chunkReader struct {
	r    io.ReaderAt
	buf  [chunkSize]byte
	base uint64 // address of buf[0]
	n    int    // valid bytes in buf; 0: nothing cached
}

// from returns the bytes from addr to the end of its chunk (fewer if the
// chunk is only partly readable), at least one byte or an error.
func (c *chunkReader) from(addr uint64) ([]byte, error) {
	base := addr &^ (chunkSize - 1)
	if c.n == 0 || c.base != base {
		if base > math.MaxInt64-chunkSize {
			return nil, errAddress
		}
		c.base = base
		n, err := c.r.ReadAt(c.buf[:], int64(base))
		c.n = n
		if addr-base >= uint64(n) {
			c.n = 0
			if err == nil || errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
	if addr-base >= uint64(c.n) {
		return nil, io.ErrUnexpectedEOF
	}
	return c.buf[addr-base : c.n], nil
}

// read fills dst from addr, across chunks if need be.
func (c *chunkReader) read(addr uint64, dst []byte) error {
	for len(dst) > 0 {
		b, err := c.from(addr)
		if err != nil {
			return err
		}
		n := copy(dst, b)
		dst = dst[n:]
		addr += uint64(n)
	}
	return nil
}

// cstring reads the NUL-terminated string at addr, at most limit bytes
// with its NUL.
func (c *chunkReader) cstring(addr uint64, limit int) (string, error) {
	var s []byte
	for {
		b, err := c.from(addr)
		if err != nil {
			return "", err
		}
		if i := bytes.IndexByte(b, 0); i >= 0 {
			if len(s)+i+1 > limit {
				break
			}
			if s == nil {
				return string(b[:i]), nil
			}
			return string(append(s, b[:i]...)), nil
		}
		if len(s)+len(b) >= limit {
			break
		}
		s = append(s, b...)
		addr += uint64(len(b)) // no wrap: from refuses addresses past MaxInt64
	}
	return "", fmt.Errorf("%w: more than %d bytes", ErrTruncated, maxArgBytes)
}
