package codesign

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"debug/macho"
	"encoding/binary"
	"sync"
	"testing"

	"github.com/sassoftware/relic/v8/lib/certloader"
	"github.com/sassoftware/relic/v8/lib/fruit/csblob"

	"github.com/gatehouse/gatehouse/facts/codesign/codesigntest"
)

// The test binaries (codesigntest): variants A and B of arm64 differ only
// in a string of the same length; amd64 is unsigned as Go's linker leaves
// it.
type binaries struct {
	arm64A, arm64B, amd64A []byte
}

func testBinaries(tb testing.TB) binaries {
	tb.Helper()
	return binaries{codesigntest.Darwin(tb, "arm64", "A"), codesigntest.Darwin(tb, "arm64", "B"), codesigntest.Darwin(tb, "amd64", "A")}
}

// testCA is codesigntest's chain, as these tests name its parts.
type testCA struct {
	root, inter *x509.Certificate
	pool        *x509.CertPool
	leaf        *certloader.Certificate
}

var (
	caOnce sync.Once
	ca     testCA
)

const (
	leafCN  = "Developer ID Application: Test Corp (ABCDE12345)"
	interCN = codesigntest.InterCN
	rootCN  = codesigntest.RootCN
	teamID  = "ABCDE12345"
)

func testCertificates(tb testing.TB) testCA {
	tb.Helper()
	caOnce.Do(func() { ca = newTestCA(tb, teamID, leafCN) })
	return ca
}

func newTestCA(tb testing.TB, team, cn string) testCA {
	tb.Helper()
	c := codesigntest.NewCA(tb, team, cn)
	return testCA{root: c.Root, inter: c.Inter, pool: c.Pool, leaf: c.Cert}
}

// sign signs a Mach-O image with relic, replacing any signature it has.
func sign(tb testing.TB, image []byte, cert *certloader.Certificate, ident, team string) []byte {
	tb.Helper()
	return codesigntest.Sign(tb, image, cert, ident, team)
}

// signParams signs with a fixed requirements blob.
func signParams(tb testing.TB, image []byte, c testCA, reqs []byte) []byte {
	tb.Helper()
	return codesigntest.SignWithParams(tb, image, c.leaf, &csblob.SignatureParams{
		HashFunc:        crypto.SHA256,
		SigningIdentity: "com.example.hello",
		TeamIdentifier:  teamID,
		Requirements:    reqs,
	})
}

// signatureRange returns the offset and size of LC_CODE_SIGNATURE's data.
func signatureRange(tb testing.TB, image []byte) (off, size int64) {
	tb.Helper()
	f, err := macho.NewFile(bytes.NewReader(image))
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range f.Loads {
		raw := l.Raw()
		if f.ByteOrder.Uint32(raw) == loadCmdCodeSignature {
			return int64(f.ByteOrder.Uint32(raw[8:])), int64(f.ByteOrder.Uint32(raw[12:]))
		}
	}
	tb.Fatal("no LC_CODE_SIGNATURE")
	return 0, 0
}

// independentCDHash computes the cdhash without this package's parser: the
// first 20 bytes of the SHA-256 of the slot 0 code directory blob, located
// through the superblob index.
func independentCDHash(tb testing.TB, image []byte) [20]byte {
	tb.Helper()
	off, size := signatureRange(tb, image)
	sb := image[off : off+size]
	count := binary.BigEndian.Uint32(sb[8:])
	for i := uint32(0); i < count; i++ {
		if binary.BigEndian.Uint32(sb[12+8*i:]) != 0 {
			continue
		}
		cdOff := binary.BigEndian.Uint32(sb[16+8*i:])
		cdLen := binary.BigEndian.Uint32(sb[cdOff+4:])
		sum := sha256.Sum256(sb[cdOff : cdOff+cdLen])
		var h [20]byte
		copy(h[:], sum[:])
		return h
	}
	tb.Fatal("no code directory")
	return [20]byte{}
}

// universal assembles a fat binary, big-endian header first, each slice
// aligned to 2^14 as lipo does.
func universal(slices ...[]byte) []byte {
	const align = 14
	var buf bytes.Buffer
	hdr := []uint32{0xcafebabe, uint32(len(slices))}
	off := uint32(1 << align)
	type arch struct{ cpu, sub, off, size, align uint32 }
	var archs []arch
	for _, s := range slices {
		le := binary.LittleEndian
		archs = append(archs, arch{le.Uint32(s[4:]), le.Uint32(s[8:]) &^ 0x80000000, off, uint32(len(s)), align})
		off += uint32(len(s))
		off = (off + 1<<align - 1) &^ (1<<align - 1)
	}
	binary.Write(&buf, binary.BigEndian, hdr)
	binary.Write(&buf, binary.BigEndian, archs)
	for i, s := range slices {
		buf.Write(make([]byte, int(archs[i].off)-buf.Len()))
		buf.Write(s)
	}
	return buf.Bytes()
}
