package codesign

import (
	"bytes"
	"crypto/sha512"
	"encoding/binary"
	"testing"
)

// superItems splits a superblob into its (slot, blob) items.
func superItems(t *testing.T, sb []byte) (slots []uint32, blobs [][]byte) {
	t.Helper()
	count := binary.BigEndian.Uint32(sb[8:])
	for i := uint32(0); i < count; i++ {
		slot := binary.BigEndian.Uint32(sb[12+8*i:])
		off := binary.BigEndian.Uint32(sb[16+8*i:])
		n := binary.BigEndian.Uint32(sb[off+4:])
		slots = append(slots, slot)
		blobs = append(blobs, sb[off:off+n])
	}
	return slots, blobs
}

func marshalSuper(slots []uint32, blobs [][]byte) []byte {
	var b bytes.Buffer
	off := 12 + 8*len(slots)
	total := off
	for _, x := range blobs {
		total += len(x)
	}
	binary.Write(&b, binary.BigEndian, []uint32{csMagicEmbeddedSignature, uint32(total), uint32(len(slots))})
	for i, s := range slots {
		binary.Write(&b, binary.BigEndian, []uint32{s, uint32(off)})
		off += len(blobs[i])
	}
	for _, x := range blobs {
		b.Write(x)
	}
	return b.Bytes()
}

// replaceSignature writes a new superblob into image's signature space.
func replaceSignature(t *testing.T, image, sb []byte) []byte {
	t.Helper()
	off, size := signatureRange(t, image)
	if int64(len(sb)) > size {
		t.Fatalf("new signature of %d bytes does not fit in %d", len(sb), size)
	}
	out := bytes.Clone(image)
	copy(out[off:off+size], make([]byte, size))
	copy(out[off:], sb)
	return out
}

func TestASpecialSlotThatDoesNotMatchItsHashIsInvalid(t *testing.T) {
	c := testCertificates(t)
	data := sign(t, tinyMachO(), c.leaf, signingID, teamID)
	off, size := signatureRange(t, data)
	slots, blobs := superItems(t, data[off:off+size])
	found := false
	for i, s := range slots {
		if s == specialRequirements {
			blobs[i] = bytes.Clone(blobs[i])
			blobs[i][len(blobs[i])-1] ^= 1
			found = true
		}
	}
	if !found {
		t.Fatal("relic wrote no requirements blob")
	}
	got := verify(t, NewVerifier(c.pool), replaceSignature(t, data, marshalSuper(slots, blobs)), nil)
	if got.Status != Invalid {
		t.Fatalf("Status = %v (%s), want invalid", got.Status, got.Reason)
	}
	wantReason(t, got.Reason, "special slot 2 does not match its hash")
}

// TestAnAlternateCodeDirectoryTheCMSDoesNotSignIsInvalid adds a SHA-384 code
// directory with correct page hashes: it would be the best directory, but
// the CMS signature names only the SHA-256 one.
func TestAnAlternateCodeDirectoryTheCMSDoesNotSignIsInvalid(t *testing.T) {
	c := testCertificates(t)
	data := sign(t, tinyMachO(), c.leaf, signingID, teamID)
	off, size := signatureRange(t, data)
	slots, blobs := superItems(t, data[off:off+size])
	orig, err := parseCodeDir(blobs[0], 0)
	if err != nil || slots[0] != slotCodeDirectory {
		t.Fatalf("slot 0 code directory: %v", err)
	}
	// Header (version 0x20400, 88 bytes), identifier, team, one page hash.
	ident := append([]byte(orig.ident), 0)
	team := append([]byte(orig.team), 0)
	pageHash := sha512.Sum384(data[:off])
	hdr := make([]byte, cdHeaderSize)
	be := binary.BigEndian
	length := cdHeaderSize + len(ident) + len(team) + len(pageHash)
	be.PutUint32(hdr[0:], csMagicCodeDirectory)
	be.PutUint32(hdr[4:], uint32(length))
	be.PutUint32(hdr[8:], 0x20400)
	be.PutUint32(hdr[16:], uint32(cdHeaderSize+len(ident)+len(team))) // hash offset
	be.PutUint32(hdr[20:], cdHeaderSize)                              // identifier
	be.PutUint32(hdr[28:], 1)                                         // code slots
	be.PutUint32(hdr[32:], uint32(off))                               // code limit
	hdr[36], hdr[37], hdr[39] = 48, hashSHA384, 12
	be.PutUint32(hdr[48:], uint32(cdHeaderSize+len(ident))) // team
	cd := bytes.Join([][]byte{hdr, ident, team, pageHash[:]}, nil)
	if _, err := parseCodeDir(cd, slotAlternateFirst); err != nil {
		t.Fatalf("the forged directory does not parse: %v", err)
	}
	slots = append(slots, slotAlternateFirst)
	blobs = append(blobs, cd)
	got := verify(t, NewVerifier(c.pool), replaceSignature(t, data, marshalSuper(slots, blobs)), nil)
	if got.Status != Invalid {
		t.Fatalf("Status = %v (%s), want invalid", got.Status, got.Reason)
	}
	t.Logf("reason: %s", got.Reason)
	wantReason(t, got.Reason, "signed cdhash")
}
