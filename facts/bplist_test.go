package facts

// A hand assembler for binary property lists, after the test encoder of
// internal/plist: objects are written byte by byte in the test, then laid out
// with an offset table and a trailer.

// bpString is an ASCII string object (marker 0x5, length in the low nibble
// or an extended integer length).
func bpString(s string) []byte {
	if len(s) < 15 {
		return append([]byte{0x50 | byte(len(s))}, s...)
	}
	if len(s) > 0xFF {
		panic("bpString: test strings are at most 255 bytes")
	}
	return append([]byte{0x5F, 0x10, byte(len(s))}, s...)
}

// bpArray is an array object whose elements are the objects with the given
// one-byte references.
func bpArray(refs ...byte) []byte {
	if len(refs) >= 15 {
		panic("bpArray: at most 14 elements")
	}
	return append([]byte{0xA0 | byte(len(refs))}, refs...)
}

// bplist lays out objs (using one-byte references, object 0 at the top)
// as a bplist00 file with one-byte offsets.
func bplist(objs ...[]byte) []byte {
	b := []byte("bplist00")
	var offs []byte
	for _, o := range objs {
		if len(b) > 0xFF {
			panic("bplist: test plists are at most 255 bytes")
		}
		offs = append(offs, byte(len(b)))
		b = append(b, o...)
	}
	table := len(b)
	b = append(b, offs...)
	// Trailer: 6 unused bytes, offset size, reference size, then object
	// count, top object and offset table position as 8-byte integers.
	b = append(b, 0, 0, 0, 0, 0, 0, 1, 1)
	b = append(b, 0, 0, 0, 0, 0, 0, 0, byte(len(objs)))
	b = append(b, 0, 0, 0, 0, 0, 0, 0, 0)
	return append(b, 0, 0, 0, 0, 0, 0, 0, byte(table))
}

// whereFroms is a kMDItemWhereFroms value as Safari writes it: the
// download's URL, then the page it came from.
func whereFroms(download, page string) []byte {
	return bplist(bpArray(1, 2), bpString(download), bpString(page))
}
