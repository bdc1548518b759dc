package codesign

import (
	"bytes"
	"debug/macho"
	"encoding/binary"
	"testing"
	"time"
)

// tinyMachO is a minimal 64-bit Mach-O: a header, a __TEXT segment with one
// page of code, and an empty __LINKEDIT for relic to put a signature in.
// Small inputs let the fuzzer reach the signature quickly.
func tinyMachO() []byte { return tinyMachOText(4096) }

// tinyMachOText makes __TEXT textSize bytes long in the file, which may
// reach past the first page where __LINKEDIT and the signature start.
func tinyMachOText(textSize uint64) []byte {
	const page = 4096
	var b bytes.Buffer
	le := binary.LittleEndian
	seg := func(name string, off, size uint64) macho.Segment64 {
		s := macho.Segment64{Cmd: macho.LoadCmdSegment64, Len: 72, Addr: 0x100000000 + off, Memsz: page, Offset: off, Filesz: size, Maxprot: 5, Prot: 5}
		copy(s.Name[:], name)
		return s
	}
	binary.Write(&b, le, macho.FileHeader{
		Magic: macho.Magic64, Cpu: macho.CpuArm64, Type: macho.TypeExec,
		Ncmd: 2, Cmdsz: 2 * 72,
	})
	binary.Write(&b, le, uint32(0)) // reserved
	binary.Write(&b, le, seg("__TEXT", 0, textSize))
	binary.Write(&b, le, seg("__LINKEDIT", page, 0))
	b.Write(make([]byte, page-b.Len()))
	return b.Bytes()
}

func fuzzSeeds(tb testing.TB) [][]byte {
	s := testSigned(tb)
	b := testBinaries(tb)
	c := testCertificates(tb)
	tiny := tinyMachO()
	tinySigned := sign(tb, tiny, c.leaf, signingID, teamID)
	seeds := [][]byte{
		tiny, tinySigned,
		universal(tinySigned, sign(tb, tiny, c.leaf, signingID, teamID)),
		b.arm64A[:8192], s.arm64A[:4096],
	}
	// The signature of a real binary, moved into the tiny one's place.
	off, size := signatureRange(tb, s.arm64A)
	seeds = append(seeds, append(bytes.Clone(tiny), s.arm64A[off:off+size]...))
	for _, flip := range []int{20, 40, 4096 + 12, 4096 + 40, len(tinySigned) - 100} {
		p := bytes.Clone(tinySigned)
		p[flip] ^= 0x80
		seeds = append(seeds, p)
	}
	return seeds
}

func FuzzFile(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	v := NewVerifier(testCertificates(f).pool)
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := v.File(bytes.NewReader(data), int64(len(data)), nil)
		if err != nil {
			t.Fatalf("File returned an error for in-memory data: %v", err)
		}
		if got.Status < Unsigned || got.Status > Signed {
			t.Fatalf("Status = %v", got.Status)
		}
		if got.Status != Signed && got.Status != AdHoc && got.Reason == "" {
			t.Fatalf("%v without a reason", got.Status)
		}
		var k [20]byte
		copy(k[:], data)
		if _, err := v.File(bytes.NewReader(data), int64(len(data)), &k); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzSignature feeds arbitrary signature superblobs to the parser and to
// relic's CMS verification, without the Mach-O around them.
func FuzzSignature(f *testing.F) {
	s := testSigned(f)
	b := testBinaries(f)
	for _, img := range [][]byte{s.arm64A, b.arm64A, sign(f, tinyMachO(), testCertificates(f).leaf, signingID, teamID)} {
		off, size := signatureRange(f, img)
		f.Add(img[off : off+size])
	}
	v := NewVerifier(testCertificates(f).pool)
	now := time.Now()
	f.Fuzz(func(t *testing.T, data []byte) {
		sb, err := parseSuperBlob(data)
		if err != nil || sb.cms == nil {
			return
		}
		v.verifyCMSUncached(sb, now)
	})
}

func TestTheTinyFuzzSeedIsSignedSoTheFuzzerReachesTheCMS(t *testing.T) {
	c := testCertificates(t)
	data := sign(t, tinyMachO(), c.leaf, signingID, teamID)
	got := verify(t, NewVerifier(c.pool), data, nil)
	if got.Status != Signed {
		t.Errorf("Status = %v (%s), want signed", got.Status, got.Reason)
	}
	t.Logf("tiny signed Mach-O: %d bytes", len(data))
}

func TestASegmentReachingPastTheSignatureIsInvalid(t *testing.T) {
	// relic signs up to the end of __LINKEDIT and puts the signature
	// there, inside __TEXT: the second page of __TEXT is loaded but not
	// hashed.
	c := testCertificates(t)
	data := sign(t, tinyMachOText(3*4096), c.leaf, signingID, teamID)
	got := verify(t, NewVerifier(c.pool), data, nil)
	if got.Status != Invalid {
		t.Fatalf("Status = %v (%s), want invalid", got.Status, got.Reason)
	}
	wantReason(t, got.Reason, "segment __TEXT is not covered by the signature")
}
