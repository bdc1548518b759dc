package plist

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf16"
)

const (
	bplistHeaderLen  = 8
	bplistTrailerLen = 32
)

// appleEpoch is 2001-01-01T00:00:00Z in Unix seconds, the zero of plist dates.
const appleEpoch = 978307200

type bdec struct {
	data       []byte
	offSize    uint64
	refSize    uint64
	numObjects uint64
	offTable   uint64 // start of the offset table == end of the object area

	objects   int                 // objects decoded so far
	dataBytes uint64              // bytes copied for data objects so far
	active    map[uint64]struct{} // containers on the current decoding path
	strs      map[uint64]string   // decoded strings, shared freely
}

func parseBinary(data []byte) (any, error) {
	n := uint64(len(data))
	// Header, at least one one-byte object, a one-byte offset table entry
	// and the trailer.
	if n < bplistHeaderLen+2+bplistTrailerLen {
		return nil, fmt.Errorf("plist: binary: file too short (%d bytes)", n)
	}
	trailerOff := n - bplistTrailerLen
	t := data[trailerOff:]
	d := &bdec{
		data:       data,
		offSize:    uint64(t[6]),
		refSize:    uint64(t[7]),
		numObjects: binary.BigEndian.Uint64(t[8:16]),
		offTable:   binary.BigEndian.Uint64(t[24:32]),
	}
	top := binary.BigEndian.Uint64(t[16:24])
	terr := func(format string, args ...any) error {
		return fmt.Errorf("plist: binary: bad trailer at offset %d: "+format, append([]any{trailerOff}, args...)...)
	}
	switch {
	case d.offSize < 1 || d.offSize > 8:
		return nil, terr("offset size %d not in 1..8", d.offSize)
	case d.refSize < 1 || d.refSize > 8:
		return nil, terr("object reference size %d not in 1..8", d.refSize)
	case d.numObjects == 0:
		return nil, terr("object count is 0")
	case top >= d.numObjects:
		return nil, terr("top object %d out of range (%d objects)", top, d.numObjects)
	case d.offTable < bplistHeaderLen+1 || d.offTable >= trailerOff:
		return nil, terr("offset table offset %d not in %d..%d", d.offTable, bplistHeaderLen+1, trailerOff-1)
	case d.numObjects > (trailerOff-d.offTable)/d.offSize:
		return nil, terr("offset table of %d entries of %d bytes at offset %d runs past the trailer",
			d.numObjects, d.offSize, d.offTable)
	case d.refSize < 8 && d.numObjects > 1<<(8*d.refSize):
		return nil, terr("%d objects cannot be addressed with %d-byte references", d.numObjects, d.refSize)
	}
	d.active = make(map[uint64]struct{})
	d.strs = make(map[uint64]string)
	return d.decode(top, 1)
}

func (d *bdec) errf(off uint64, format string, args ...any) error {
	return fmt.Errorf("plist: binary: offset %d: "+format, append([]any{off}, args...)...)
}

// bytesAt returns data[start:start+n] if it lies inside the object area.
func (d *bdec) bytesAt(start, n uint64) ([]byte, bool) {
	if start > d.offTable || n > d.offTable-start {
		return nil, false
	}
	return d.data[start : start+n], true
}

// readUint reads a big-endian unsigned integer of 1..8 bytes.
func readUint(b []byte) uint64 {
	var u uint64
	for _, c := range b {
		u = u<<8 | uint64(c)
	}
	return u
}

// offset returns the file offset of object ref.
func (d *bdec) offset(ref uint64) (uint64, error) {
	if ref >= d.numObjects {
		return 0, fmt.Errorf("plist: binary: object reference %d out of range (%d objects)", ref, d.numObjects)
	}
	p := d.offTable + ref*d.offSize // in bounds: checked against the trailer
	off := readUint(d.data[p : p+d.offSize])
	if off < bplistHeaderLen || off >= d.offTable {
		return 0, fmt.Errorf("plist: binary: offset table entry at offset %d: object %d offset %d outside object area %d..%d",
			p, ref, off, bplistHeaderLen, d.offTable-1)
	}
	return off, nil
}

// length decodes the element count of the object whose marker is at off.
// It returns the count and the offset of the object's contents.
func (d *bdec) length(off uint64, lo byte) (n, start uint64, err error) {
	if lo != 0xF {
		return uint64(lo), off + 1, nil
	}
	p := off + 1
	m, ok := d.bytesAt(p, 1)
	if !ok {
		return 0, 0, d.errf(off, "truncated length")
	}
	if m[0]>>4 != 0x1 {
		return 0, 0, d.errf(p, "length marker 0x%02x is not an integer", m[0])
	}
	if m[0]&0xF > 3 {
		return 0, 0, d.errf(p, "length integer of %d bytes not supported", 1<<(m[0]&0xF))
	}
	size := uint64(1) << (m[0] & 0xF)
	b, ok := d.bytesAt(p+1, size)
	if !ok {
		return 0, 0, d.errf(p, "truncated length")
	}
	n = readUint(b)
	if size == 8 && n > math.MaxInt64 {
		return 0, 0, d.errf(p, "negative length %d", int64(n))
	}
	return n, p + 1 + size, nil
}

func (d *bdec) decode(ref uint64, depth int) (any, error) {
	off, err := d.offset(ref)
	if err != nil {
		return nil, err
	}
	if depth > maxDepth {
		return nil, d.errf(off, "nesting deeper than %d levels", maxDepth)
	}
	d.objects++
	if d.objects > maxObjects {
		return nil, d.errf(off, "more than %d objects decoded (too many shared references)", maxObjects)
	}
	m := d.data[off]
	hi, lo := m>>4, m&0xF
	switch hi {
	case 0x0:
		switch m {
		case 0x08:
			return false, nil
		case 0x09:
			return true, nil
		}
		return nil, d.errf(off, "unsupported object marker 0x%02x", m)

	case 0x1: // integer of 2^lo bytes
		if lo > 4 {
			return nil, d.errf(off, "integer of %d bytes not supported", 1<<lo)
		}
		b, ok := d.bytesAt(off+1, 1<<lo)
		if !ok {
			return nil, d.errf(off, "truncated integer")
		}
		switch len(b) {
		case 8: // signed
			return int64(binary.BigEndian.Uint64(b)), nil
		case 16:
			h, l := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
			switch {
			case h == 0:
				return intValue(l), nil
			case h == math.MaxUint64 && l > math.MaxInt64:
				return int64(l), nil
			}
			return nil, d.errf(off, "128-bit integer does not fit in 64 bits")
		default: // 1, 2, 4 bytes: unsigned
			return int64(readUint(b)), nil
		}

	case 0x2: // real
		switch lo {
		case 2:
			b, ok := d.bytesAt(off+1, 4)
			if !ok {
				return nil, d.errf(off, "truncated real")
			}
			return float64(math.Float32frombits(binary.BigEndian.Uint32(b))), nil
		case 3:
			b, ok := d.bytesAt(off+1, 8)
			if !ok {
				return nil, d.errf(off, "truncated real")
			}
			return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
		}
		return nil, d.errf(off, "real of %d bytes not supported", 1<<lo)

	case 0x3: // date
		if m != 0x33 {
			return nil, d.errf(off, "unsupported date marker 0x%02x", m)
		}
		b, ok := d.bytesAt(off+1, 8)
		if !ok {
			return nil, d.errf(off, "truncated date")
		}
		t, ok := appleDate(math.Float64frombits(binary.BigEndian.Uint64(b)))
		if !ok {
			return nil, d.errf(off, "date out of range")
		}
		return t, nil

	case 0x4: // data
		n, start, err := d.length(off, lo)
		if err != nil {
			return nil, err
		}
		b, ok := d.bytesAt(start, n)
		if !ok {
			return nil, d.errf(off, "data of %d bytes runs past the object area", n)
		}
		d.dataBytes += n
		if d.dataBytes > uint64(len(d.data))+maxSharedData {
			return nil, d.errf(off, "data objects expand to more than %d bytes", uint64(len(d.data))+maxSharedData)
		}
		return append([]byte{}, b...), nil

	case 0x5, 0x6: // ASCII or UTF-16BE string
		if s, ok := d.strs[ref]; ok {
			return s, nil
		}
		n, start, err := d.length(off, lo)
		if err != nil {
			return nil, err
		}
		var s string
		if hi == 0x5 {
			b, ok := d.bytesAt(start, n)
			if !ok {
				return nil, d.errf(off, "string of %d bytes runs past the object area", n)
			}
			s = latin1(b)
		} else {
			if n > (d.offTable-start)/2 {
				return nil, d.errf(off, "UTF-16 string of %d units runs past the object area", n)
			}
			b := d.data[start : start+2*n]
			u := make([]uint16, n)
			for i := range u {
				u[i] = binary.BigEndian.Uint16(b[2*i:])
			}
			s = string(utf16.Decode(u))
		}
		d.strs[ref] = s
		return s, nil

	case 0x8: // UID of lo+1 bytes
		if lo > 7 {
			return nil, d.errf(off, "UID of %d bytes not supported", lo+1)
		}
		b, ok := d.bytesAt(off+1, uint64(lo)+1)
		if !ok {
			return nil, d.errf(off, "truncated UID")
		}
		return UID(readUint(b)), nil

	case 0xA, 0xC: // array, set
		n, start, err := d.length(off, lo)
		if err != nil {
			return nil, err
		}
		if n > (d.offTable-start)/d.refSize {
			return nil, d.errf(off, "array of %d elements runs past the object area", n)
		}
		if err := d.enter(ref, off, n); err != nil {
			return nil, err
		}
		defer delete(d.active, ref)
		a := make([]any, n)
		for i := range a {
			p := start + uint64(i)*d.refSize
			r := readUint(d.data[p : p+d.refSize])
			if r >= d.numObjects {
				return nil, d.errf(p, "array element %d: object reference %d out of range (%d objects)", i, r, d.numObjects)
			}
			if a[i], err = d.decode(r, depth+1); err != nil {
				return nil, err
			}
		}
		return a, nil

	case 0xD: // dict: n key refs, then n value refs
		n, start, err := d.length(off, lo)
		if err != nil {
			return nil, err
		}
		if n > (d.offTable-start)/(2*d.refSize) {
			return nil, d.errf(off, "dict of %d entries runs past the object area", n)
		}
		if err := d.enter(ref, off, 2*n); err != nil {
			return nil, err
		}
		defer delete(d.active, ref)
		dict := make(map[string]any, n)
		for i := uint64(0); i < n; i++ {
			kp := start + i*d.refSize
			vp := start + (n+i)*d.refSize
			kr := readUint(d.data[kp : kp+d.refSize])
			vr := readUint(d.data[vp : vp+d.refSize])
			if kr >= d.numObjects {
				return nil, d.errf(kp, "dict key %d: object reference %d out of range (%d objects)", i, kr, d.numObjects)
			}
			if vr >= d.numObjects {
				return nil, d.errf(vp, "dict value %d: object reference %d out of range (%d objects)", i, vr, d.numObjects)
			}
			kv, err := d.decode(kr, depth+1)
			if err != nil {
				return nil, err
			}
			k, ok := kv.(string)
			if !ok {
				return nil, d.errf(kp, "dict key %d is %s, not string", i, typeName(kv))
			}
			v, err := d.decode(vr, depth+1)
			if err != nil {
				return nil, err
			}
			dict[k] = v // duplicate keys: last wins
		}
		return dict, nil
	}
	return nil, d.errf(off, "unsupported object marker 0x%02x", m)
}

// enter marks container ref as being decoded, rejecting cycles, and checks
// that its children cannot push the object count past the limit.
func (d *bdec) enter(ref, off, children uint64) error {
	if _, ok := d.active[ref]; ok {
		return d.errf(off, "object %d contains itself (reference cycle)", ref)
	}
	if uint64(d.objects)+children > maxObjects {
		return d.errf(off, "more than %d objects decoded (too many shared references)", maxObjects)
	}
	d.active[ref] = struct{}{}
	return nil
}

// latin1 converts ASCII bytes to a string; bytes >= 0x80 are taken as
// Latin-1 so the result is always valid UTF-8.
func latin1(b []byte) string {
	ascii := true
	for _, c := range b {
		if c >= 0x80 {
			ascii = false
			break
		}
	}
	if ascii {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) * 2)
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// appleDate converts seconds since 2001-01-01 UTC to a time.Time.
func appleDate(f float64) (time.Time, bool) {
	// ±2^52 s is about ±142 million years: far beyond any real date and
	// safely inside int64 seconds.
	const limit = 1 << 52
	if math.IsNaN(f) || f > limit || f < -limit {
		return time.Time{}, false
	}
	sec := math.Floor(f)
	nsec := math.Round((f - sec) * 1e9)
	return time.Unix(appleEpoch+int64(sec), int64(nsec)).UTC(), true
}
