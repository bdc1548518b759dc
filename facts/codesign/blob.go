package codesign

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"slices"
)

// The signature superblob and code directories are parsed here, every offset
// checked; relic only ever sees the CMS blob. Layouts from xnu
// osfmk/kern/cs_blobs.h.

const (
	csMagicEmbeddedSignature = 0xfade0cc0
	csMagicCodeDirectory     = 0xfade0c02

	slotCodeDirectory  = 0
	slotAlternateFirst = 0x1000
	slotAlternateLast  = 0x1004 // five alternates, as in xnu
	slotSignature      = 0x10000

	hashSHA1   = 1
	hashSHA256 = 2
	hashSHA384 = 4

	// cdHeaderSize is the code directory header up to and including the
	// exec segment fields (version 0x20400); shorter directories are
	// refused, as relic and every signer in use since 2017 write at least this.
	cdHeaderSize = 88
	minPageLog2  = 12
	maxPageLog2  = 16
)

// superBlob is a checked signature superblob.
type superBlob struct {
	raw     []byte     // the superblob, its own length
	dirs    []*codeDir // in slot order, the slot 0 directory first
	best    *codeDir
	cms     []byte            // the CMS blob wrapper, nil for ad hoc
	special map[uint32][]byte // special slot number → blob (requirements, entitlements…)
}

// codeDir is a checked code directory.
type codeDir struct {
	slot      uint32
	raw       []byte
	hashType  uint8
	hash      crypto.Hash
	digest    []byte // full hash of raw
	cdhash    [20]byte
	ident     string
	team      string
	codeLimit int64
	pageLog2  uint8
	hashes    []byte   // code slot hashes, concatenated
	special   [][]byte // special[i-1] is the hash of special slot i, nil when all zero
}

func parseSuperBlob(b []byte) (*superBlob, error) {
	if len(b) < 12 {
		return nil, errors.New("superblob too short")
	}
	if m := binary.BigEndian.Uint32(b); m != csMagicEmbeddedSignature {
		return nil, fmt.Errorf("superblob magic %#x, not an embedded signature", m)
	}
	length := binary.BigEndian.Uint32(b[4:])
	if length < 12 || uint64(length) > uint64(len(b)) {
		return nil, fmt.Errorf("superblob length %d outside the %d bytes of LC_CODE_SIGNATURE", length, len(b))
	}
	b = b[:length]
	count := uint64(binary.BigEndian.Uint32(b[8:]))
	indexEnd := 12 + 8*count
	if indexEnd > uint64(len(b)) {
		return nil, fmt.Errorf("superblob index of %d entries overflows it", count)
	}
	sb := &superBlob{raw: b, special: make(map[uint32][]byte)}
	seen := make(map[uint32]bool)
	for i := uint64(0); i < count; i++ {
		slot := binary.BigEndian.Uint32(b[12+8*i:])
		off := uint64(binary.BigEndian.Uint32(b[16+8*i:]))
		if seen[slot] {
			return nil, fmt.Errorf("slot %#x appears twice", slot)
		}
		seen[slot] = true
		if off < indexEnd || off+8 > uint64(len(b)) {
			return nil, fmt.Errorf("slot %#x at offset %d is outside the superblob", slot, off)
		}
		n := uint64(binary.BigEndian.Uint32(b[off+4:]))
		if n < 8 || off+n > uint64(len(b)) {
			return nil, fmt.Errorf("slot %#x of %d bytes overflows the superblob", slot, n)
		}
		item := b[off : off+n]
		switch {
		case slot == slotCodeDirectory || slot >= slotAlternateFirst && slot <= slotAlternateLast:
			cd, err := parseCodeDir(item, slot)
			if err != nil {
				return nil, fmt.Errorf("code directory in slot %#x: %w", slot, err)
			}
			sb.dirs = append(sb.dirs, cd)
		case slot == slotSignature:
			// A wrapper of 8 bytes or less holds no signature: that is
			// how ad hoc signatures spell it.
			if n > 8 {
				sb.cms = item
			}
		case slot >= slotAlternateFirst && slot < slotSignature:
			return nil, fmt.Errorf("unexpected slot %#x", slot)
		case slot < slotAlternateFirst:
			sb.special[slot] = item
		}
	}
	if len(sb.dirs) == 0 {
		return nil, errors.New("no code directory")
	}
	if !seen[slotCodeDirectory] {
		return nil, errors.New("no code directory in slot 0")
	}
	slices.SortFunc(sb.dirs, func(a, b *codeDir) int { return cmp.Compare(a.slot, b.slot) })
	for _, cd := range sb.dirs {
		if sb.best == nil || rank(cd.hashType) > rank(sb.best.hashType) {
			sb.best = cd
		}
		if cd.ident != sb.dirs[0].ident || cd.team != sb.dirs[0].team || cd.codeLimit != sb.dirs[0].codeLimit {
			return nil, errors.New("the code directories disagree on identifier, team or size")
		}
	}
	return sb, nil
}

// rank orders hash types as the kernel prefers them.
func rank(t uint8) int {
	switch t {
	case hashSHA384:
		return 3
	case hashSHA256:
		return 2
	case hashSHA1:
		return 1
	}
	return 0
}

func parseCodeDir(b []byte, slot uint32) (*codeDir, error) {
	if len(b) < cdHeaderSize {
		return nil, fmt.Errorf("%d bytes, shorter than a header", len(b))
	}
	be := binary.BigEndian
	if m := be.Uint32(b); m != csMagicCodeDirectory {
		return nil, fmt.Errorf("magic %#x", m)
	}
	version := be.Uint32(b[8:])
	hashOffset := uint64(be.Uint32(b[16:]))
	identOffset := uint64(be.Uint32(b[20:]))
	nSpecial := uint64(be.Uint32(b[24:]))
	nCode := uint64(be.Uint32(b[28:]))
	codeLimit := uint64(be.Uint32(b[32:]))
	hashSize := uint64(b[36])
	hashType := b[37]
	pageLog2 := b[39]
	var scatterOffset, teamOffset uint64
	if version >= 0x20100 {
		scatterOffset = uint64(be.Uint32(b[44:]))
	}
	if version >= 0x20200 {
		teamOffset = uint64(be.Uint32(b[48:]))
	}
	if version >= 0x20300 {
		if l := be.Uint64(b[56:]); l != 0 {
			codeLimit = l
		}
	}
	cd := &codeDir{slot: slot, raw: b, hashType: hashType, pageLog2: pageLog2}
	switch hashType {
	case hashSHA1:
		cd.hash = crypto.SHA1
	case hashSHA256:
		cd.hash = crypto.SHA256
	case hashSHA384:
		cd.hash = crypto.SHA384
	default:
		return nil, fmt.Errorf("unsupported hash type %d", hashType)
	}
	if hashSize != uint64(cd.hash.Size()) {
		return nil, fmt.Errorf("hash size %d for hash type %d", hashSize, hashType)
	}
	if scatterOffset != 0 {
		return nil, errors.New("scatter vectors are not supported")
	}
	if pageLog2 < minPageLog2 || pageLog2 > maxPageLog2 {
		return nil, fmt.Errorf("page size 2^%d", pageLog2)
	}
	if codeLimit > 1<<48 {
		return nil, fmt.Errorf("code limit %d", codeLimit)
	}
	pageSize := uint64(1) << pageLog2
	if want := (codeLimit + pageSize - 1) / pageSize; nCode != want {
		return nil, fmt.Errorf("%d code slots for %d bytes of %d-byte pages", nCode, codeLimit, pageSize)
	}
	if nSpecial > 64 || hashOffset < nSpecial*hashSize || hashOffset-nSpecial*hashSize < cdHeaderSize/2 {
		return nil, fmt.Errorf("%d special slots before offset %d", nSpecial, hashOffset)
	}
	if hashOffset+nCode*hashSize > uint64(len(b)) {
		return nil, fmt.Errorf("%d code slots overflow the directory", nCode)
	}
	var err error
	if cd.ident, err = cstring(b, identOffset); err != nil {
		return nil, fmt.Errorf("identifier: %w", err)
	}
	if teamOffset != 0 {
		if cd.team, err = cstring(b, teamOffset); err != nil {
			return nil, fmt.Errorf("team identifier: %w", err)
		}
	}
	cd.codeLimit = int64(codeLimit)
	cd.hashes = b[hashOffset : hashOffset+nCode*hashSize]
	cd.special = make([][]byte, nSpecial)
	for i := uint64(1); i <= nSpecial; i++ {
		h := b[hashOffset-i*hashSize : hashOffset-(i-1)*hashSize]
		if !allZero(h) {
			cd.special[i-1] = h
		}
	}
	h := cd.hash.New()
	h.Write(b)
	cd.digest = h.Sum(nil)
	copy(cd.cdhash[:], cd.digest)
	return cd, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func cstring(b []byte, off uint64) (string, error) {
	if off == 0 || off >= uint64(len(b)) {
		return "", fmt.Errorf("offset %d outside the directory", off)
	}
	i := bytes.IndexByte(b[off:], 0)
	if i < 0 {
		return "", errors.New("not terminated")
	}
	return string(b[off : off+uint64(i)]), nil
}

func newHash(h crypto.Hash) hash.Hash {
	// Named constructors rather than h.New(), so the hashes are linked in
	// without blank imports.
	switch h {
	case crypto.SHA1:
		return sha1.New()
	case crypto.SHA384:
		return sha512.New384()
	}
	return sha256.New()
}

// verifyPages hashes every page up to the code limit. It returns the index
// of the first page that does not match, -1 if all match, or a read error
// with the page it happened at.
func (cd *codeDir) verifyPages(r io.ReaderAt) (int, error) {
	pageSize := int64(1) << cd.pageLog2
	buf := make([]byte, pageSize)
	h := newHash(cd.hash)
	size := cd.hash.Size()
	var sum []byte
	for i, off := 0, int64(0); off < cd.codeLimit; i, off = i+1, off+pageSize {
		page := buf[:min(pageSize, cd.codeLimit-off)]
		if _, err := r.ReadAt(page, off); err != nil {
			return i, err
		}
		h.Reset()
		h.Write(page)
		sum = h.Sum(sum[:0])
		if !hmac.Equal(sum, cd.hashes[i*size:(i+1)*size]) {
			return i, nil
		}
	}
	return -1, nil
}
