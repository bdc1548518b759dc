package codesign

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const signingID = "com.example.hello"

// signedSet is the binaries signed once per test binary run.
type signedSet struct {
	arm64A, arm64B, amd64A []byte
}

var (
	signOnce sync.Once
	signed   signedSet
)

func testSigned(tb testing.TB) signedSet {
	tb.Helper()
	b := testBinaries(tb)
	c := testCertificates(tb)
	signOnce.Do(func() {
		signed = signedSet{
			arm64A: sign(tb, b.arm64A, c.leaf, signingID, teamID),
			arm64B: sign(tb, b.arm64B, c.leaf, signingID, teamID),
			amd64A: sign(tb, b.amd64A, c.leaf, signingID, teamID),
		}
	})
	return signed
}

func verify(tb testing.TB, v *Verifier, data []byte, kernel *[20]byte) Signature {
	tb.Helper()
	got, err := v.File(bytes.NewReader(data), int64(len(data)), kernel)
	if err != nil {
		tb.Fatalf("File: %v", err)
	}
	return got
}

// ignoreReason compares everything but Reason, which is checked by substring.
var ignoreReason = cmpopts.IgnoreFields(Signature{}, "Reason")

func wantReason(t *testing.T, reason, substr string) {
	t.Helper()
	if !strings.Contains(reason, substr) {
		t.Errorf("Reason = %q, want it to mention %q", reason, substr)
	}
}

func TestAThinBinarySignedByATrustedChainIsSigned(t *testing.T) {
	s := testSigned(t)
	v := NewVerifier(testCertificates(t).pool)
	for name, data := range map[string][]byte{"arm64": s.arm64A, "x86_64": s.amd64A} {
		t.Run(name, func(t *testing.T) {
			got := verify(t, v, data, nil)
			want := Signature{
				Status:    Signed,
				SigningID: signingID,
				TeamID:    teamID,
				Authority: []string{leafCN, interCN, rootCN},
				CDHash:    independentCDHash(t, data),
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("File (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTheLinkersSignatureIsAdHoc(t *testing.T) {
	b := testBinaries(t)
	got := verify(t, NewVerifier(nil), b.arm64A, nil)
	want := Signature{Status: AdHoc, SigningID: "hello", CDHash: independentCDHash(t, b.arm64A)}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Signature{}, "Reason", "SigningID")); diff != "" {
		t.Errorf("File (-want +got):\n%s", diff)
	}
	if got.SigningID == "" {
		t.Error("SigningID is empty; the linker writes one")
	}
	t.Logf("linker signing id %q", got.SigningID)
}

func TestABinaryWithoutSignatureIsUnsigned(t *testing.T) {
	// Go's linker does not sign darwin/amd64 output.
	b := testBinaries(t)
	got := verify(t, NewVerifier(nil), b.amd64A, nil)
	if diff := cmp.Diff(Signature{Status: Unsigned}, got, ignoreReason); diff != "" {
		t.Errorf("File (-want +got):\n%s", diff)
	}
	wantReason(t, got.Reason, "no code signature")
}

// spliceSignature puts from's signature bytes into to, at to's own
// LC_CODE_SIGNATURE range, which must have the same geometry.
func spliceSignature(t *testing.T, from, to []byte) []byte {
	t.Helper()
	fo, fs := signatureRange(t, from)
	to2 := bytes.Clone(to)
	tOff, tSize := signatureRange(t, to2)
	if fo != tOff || fs != tSize || len(from) != len(to) {
		t.Fatalf("geometry differs: %d+%d (%d bytes) vs %d+%d (%d bytes)", fo, fs, len(from), tOff, tSize, len(to))
	}
	copy(to2[tOff:tOff+tSize], from[fo:fo+fs])
	return to2
}

func TestASignatureCopiedFromAnotherBinaryIsInvalid(t *testing.T) {
	s := testSigned(t)
	b := testBinaries(t)
	if bytes.Equal(s.arm64A, s.arm64B) {
		t.Fatal("variants A and B are identical")
	}
	v := NewVerifier(testCertificates(t).pool)
	t.Run("signed by a trusted certificate", func(t *testing.T) {
		forged := spliceSignature(t, s.arm64A, s.arm64B)
		got := verify(t, v, forged, nil)
		want := Signature{Status: Invalid, CDHash: independentCDHash(t, s.arm64A)}
		if diff := cmp.Diff(want, got, ignoreReason); diff != "" {
			t.Errorf("File (-want +got):\n%s", diff)
		}
		wantReason(t, got.Reason, "does not match its hash: the signature belongs to another file")
	})
	t.Run("ad hoc", func(t *testing.T) {
		forged := spliceSignature(t, b.arm64A, b.arm64B)
		got := verify(t, v, forged, nil)
		if got.Status != Invalid {
			t.Errorf("Status = %v, want invalid (%s)", got.Status, got.Reason)
		}
		wantReason(t, got.Reason, "does not match its hash")
	})
}

func TestAChainToAnUnknownRootIsInvalid(t *testing.T) {
	s := testSigned(t)
	got := verify(t, NewVerifier(nil), s.arm64A, nil)
	want := Signature{Status: Invalid, CDHash: independentCDHash(t, s.arm64A)}
	if diff := cmp.Diff(want, got, ignoreReason); diff != "" {
		t.Errorf("File (-want +got):\n%s", diff)
	}
	wantReason(t, got.Reason, `the certificate "`+leafCN+`" is not trusted`)
}

func TestATeamIDTheCertificateDoesNotCarryIsInvalid(t *testing.T) {
	b := testBinaries(t)
	c := testCertificates(t)
	data := sign(t, b.amd64A, c.leaf, signingID, "ZZZZZ99999")
	got := verify(t, NewVerifier(c.pool), data, nil)
	if got.Status != Invalid {
		t.Fatalf("Status = %v, want invalid", got.Status)
	}
	wantReason(t, got.Reason, `claims team "ZZZZZ99999"`)
}

func TestTheKernelsCDHash(t *testing.T) {
	s := testSigned(t)
	v := NewVerifier(testCertificates(t).pool)
	cdhash := independentCDHash(t, s.arm64A)
	t.Run("when it differs from the file's the signature is invalid", func(t *testing.T) {
		other := independentCDHash(t, s.arm64B)
		got := verify(t, v, s.arm64A, &other)
		if got.Status != Invalid {
			t.Fatalf("Status = %v, want invalid", got.Status)
		}
		wantReason(t, got.Reason, "the signature on disk is not the one the kernel validated")
	})
	t.Run("when it matches the pages are not hashed again", func(t *testing.T) {
		// A changed page would fail page verification; the kernel
		// vouches for the pages it ran, so it is not checked.
		changed := bytes.Clone(s.arm64A)
		changed[5000] ^= 0xff
		got := verify(t, v, changed, &cdhash)
		if got.Status != Signed {
			t.Errorf("Status = %v (%s), want signed", got.Status, got.Reason)
		}
		if got := verify(t, v, changed, nil); got.Status != Invalid {
			t.Errorf("without the kernel's cdhash: Status = %v, want invalid", got.Status)
		}
	})
	t.Run("all zero counts as none", func(t *testing.T) {
		var zero [20]byte
		if got := verify(t, v, s.arm64A, &zero); got.Status != Signed {
			t.Errorf("Status = %v (%s), want signed", got.Status, got.Reason)
		}
	})
}

func TestUniversalBinaries(t *testing.T) {
	s := testSigned(t)
	b := testBinaries(t)
	c := testCertificates(t)
	v := NewVerifier(c.pool)
	arm64Hash := independentCDHash(t, s.arm64A)
	amd64Hash := independentCDHash(t, s.amd64A)
	signedWant := func(h [20]byte) Signature {
		return Signature{
			Status: Signed, SigningID: signingID, TeamID: teamID,
			Authority: []string{leafCN, interCN, rootCN}, CDHash: h,
		}
	}
	tests := []struct {
		name       string
		data       []byte
		kernel     *[20]byte
		want       Signature
		wantReason string
	}{
		{
			name: "signed per slice report the arm64 slice",
			data: universal(s.amd64A, s.arm64A),
			want: signedWant(arm64Hash),
		},
		{
			name:   "signed per slice report the slice the kernel ran",
			data:   universal(s.amd64A, s.arm64A),
			kernel: &amd64Hash,
			want:   signedWant(amd64Hash),
		},
		{
			name:       "with a kernel cdhash of no slice are invalid",
			data:       universal(s.amd64A, s.arm64A),
			kernel:     new([20]byte{1}),
			want:       Signature{Status: Invalid, CDHash: amd64Hash},
			wantReason: "not the one the kernel validated",
		},
		{
			name:       "with an unsigned slice are invalid",
			data:       universal(b.amd64A, s.arm64A),
			want:       Signature{Status: Invalid, CDHash: arm64Hash},
			wantReason: "x86_64 is unsigned",
		},
		{
			name:       "with an ad-hoc slice are invalid",
			data:       universal(s.amd64A, b.arm64A),
			want:       Signature{Status: Invalid, CDHash: independentCDHash(t, b.arm64A)},
			wantReason: "the slices disagree",
		},
		{
			name:       "with a slice carrying another binary's signature are invalid",
			data:       universal(s.amd64A, spliceSignature(t, s.arm64A, s.arm64B)),
			want:       Signature{Status: Invalid, CDHash: arm64Hash},
			wantReason: "arm64 slice: page",
		},
		{
			name: "unsigned in every slice are unsigned",
			data: universal(b.amd64A),
			want: Signature{Status: Unsigned},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := verify(t, v, tt.data, tt.kernel)
			if diff := cmp.Diff(tt.want, got, ignoreReason); diff != "" {
				t.Errorf("File (-want +got):\n%s\nReason: %s", diff, got.Reason)
			}
			if tt.wantReason != "" {
				wantReason(t, got.Reason, tt.wantReason)
			}
		})
	}
}

func TestFilesThatAreNotMachOAreUnsignedWithoutError(t *testing.T) {
	elf, err := os.ReadFile("/proc/self/exe")
	if err != nil || !bytes.HasPrefix(elf, []byte("\x7fELF")) {
		elf = []byte("\x7fELF\x02\x01\x01\x00" + strings.Repeat("\x00", 56))
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"an ELF binary", elf},
		{"a script", []byte("#!/bin/sh\necho hello\n")},
		{"an empty file", nil},
		{"three bytes", []byte{0xcf, 0xfa, 0xed}},
		{"a Java class", []byte{0xca, 0xfe, 0xba, 0xbe, 0x00, 0x00, 0x00, 0x41, 0, 0, 0, 0}},
	}
	v := NewVerifier(nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := verify(t, v, tt.data, nil)
			if diff := cmp.Diff(Signature{Status: Unsigned, Reason: "not a Mach-O file"}, got); diff != "" {
				t.Errorf("File (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTruncatedMachOFilesAreInvalidWithoutError(t *testing.T) {
	s := testSigned(t)
	v := NewVerifier(testCertificates(t).pool)
	off, _ := signatureRange(t, s.arm64A)
	for _, n := range []int{8, 32, 100, 4096, int(off), int(off) + 100, len(s.arm64A) - 1} {
		got := verify(t, v, s.arm64A[:n], nil)
		if got.Status != Invalid {
			t.Errorf("truncated to %d bytes: Status = %v (%s), want invalid", n, got.Status, got.Reason)
		}
	}
	fat := universal(s.amd64A, s.arm64A)
	if got := verify(t, v, fat[:len(fat)/2], nil); got.Status != Invalid {
		t.Errorf("truncated universal binary: Status = %v (%s), want invalid", got.Status, got.Reason)
	}
}

// TestTheCacheIsKeyedByTheWholeSignature signs the same code directory
// twice, by a trusted and by an untrusted certificate with the same names:
// the second must not inherit the first's verdict.
func TestTheCacheIsKeyedByTheWholeSignature(t *testing.T) {
	b := testBinaries(t)
	trusted := testCertificates(t)
	untrusted := newTestCA(t, teamID, leafCN)
	// A fixed, empty requirement set keeps the code directories equal
	// (relic's default requirement names the certificates).
	emptyReqs := []byte{0xfa, 0xde, 0x0c, 0x01, 0, 0, 0, 12, 0, 0, 0, 0}
	signWith := func(c testCA) []byte {
		return signParams(t, b.amd64A, c, emptyReqs)
	}
	good, bad := signWith(trusted), signWith(untrusted)
	if independentCDHash(t, good) != independentCDHash(t, bad) {
		t.Fatal("the two signatures have different code directories; the test needs them equal")
	}
	v := NewVerifier(trusted.pool)
	if got := verify(t, v, good, nil); got.Status != Signed {
		t.Fatalf("trusted: Status = %v (%s), want signed", got.Status, got.Reason)
	}
	got := verify(t, v, bad, nil)
	if got.Status != Invalid {
		t.Errorf("untrusted after trusted: Status = %v, want invalid", got.Status)
	}
	wantReason(t, got.Reason, "not trusted")
}

func TestTheCacheIsBounded(t *testing.T) {
	s := testSigned(t)
	v := NewVerifier(testCertificates(t).pool)
	for i := range maxCacheEntries + 10 {
		v.cache[[32]byte{byte(i), byte(i >> 8), 1}] = cmsResult{}
	}
	verify(t, v, s.arm64A, nil)
	if n := len(v.cache); n > maxCacheEntries+10 {
		t.Errorf("cache holds %d entries", n)
	}
	v = NewVerifier(testCertificates(t).pool)
	for i := range maxCacheEntries {
		v.cache[[32]byte{byte(i), byte(i >> 8), 1}] = cmsResult{}
	}
	verify(t, v, s.arm64A, nil)
	if n := len(v.cache); n != maxCacheEntries {
		t.Errorf("full cache holds %d entries after an insert, want %d", n, maxCacheEntries)
	}
}

func TestConcurrentCallsShareTheVerifier(t *testing.T) {
	s := testSigned(t)
	v := NewVerifier(testCertificates(t).pool)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if got := verify(t, v, s.arm64A, nil); got.Status != Signed {
				t.Errorf("Status = %v (%s)", got.Status, got.Reason)
			}
		})
	}
	wg.Wait()
}

type failingReader struct{ data []byte }

var errDisk = errors.New("disk on fire")

func (f failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off > 8192 {
		return 0, errDisk
	}
	return bytes.NewReader(f.data).ReadAt(p, off)
}

func TestReadErrorsAreReturnedAsErrors(t *testing.T) {
	s := testSigned(t)
	_, err := NewVerifier(nil).File(failingReader{s.arm64A}, int64(len(s.arm64A)), nil)
	if !errors.Is(err, errDisk) {
		t.Errorf("File error = %v, want %v", err, errDisk)
	}
}

func TestTheEmbeddedRootsAreApples(t *testing.T) {
	want := map[string]string{
		"Apple Root CA":      "B0B1730ECBC7FF4505142C49F1295E6EDA6BCAED7E2C68C5BE91B5A11001F024",
		"Apple Root CA - G2": "C2B9B042DD57830E7D117DAC55AC8AE19407D38E41D88F3215BC3A890444A050",
		"Apple Root CA - G3": "63343ABFB89A6A03EBB57E9B3F5FA7BE7C4F5C756F3017B3A8C488C3653E9179",
	}
	got := make(map[string]string)
	for _, c := range embeddedRoots() {
		sum := sha256.Sum256(c.Raw)
		got[c.Subject.CommonName] = strings.ToUpper(hex.EncodeToString(sum[:]))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("embedded roots (-want +got):\n%s", diff)
	}
}

func TestStatusNamesReadAsWords(t *testing.T) {
	got := []string{Status(0).String(), Unsigned.String(), AdHoc.String(), Invalid.String(), Signed.String()}
	want := []string{"Status(0)", "unsigned", "ad-hoc", "invalid", "signed"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("String (-want +got):\n%s", diff)
	}
}

func TestTheChainIsVerifiedAtTheSigningTime(t *testing.T) {
	s := testSigned(t)
	off, size := signatureRange(t, s.arm64A)
	sb, err := parseSuperBlob(s.arm64A[off : off+size])
	if err != nil {
		t.Fatal(err)
	}
	v := NewVerifier(testCertificates(t).pool)
	// The test certificates are valid from an hour ago for a day; relic
	// writes the current time as the signing time.
	t.Run("so code outlives its expired certificate", func(t *testing.T) {
		if got := v.verifyCMSUncached(sb, time.Now().Add(72*time.Hour)); got.status != Signed {
			t.Errorf("three days later: %v (%s), want signed", got.status, got.reason)
		}
	})
	t.Run("unless the signing time is in the future", func(t *testing.T) {
		got := v.verifyCMSUncached(sb, time.Now().Add(-2*time.Hour))
		if got.status != Invalid {
			t.Errorf("two hours before the certificates: %v, want invalid", got.status)
		}
		wantReason(t, got.reason, "not trusted")
	})
}
