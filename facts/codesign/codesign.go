// Package codesign reads and verifies the code signature of a Mach-O file in
// pure Go, on any OS, so that the policy can match a program by the team,
// signing identifier and certificate chain Apple's tools would show.
//
// What is verified, for each architecture slice:
//   - the Mach-O load commands, the signature superblob and its code
//     directories are well formed. This package parses them itself, every
//     offset checked (debug/macho would also parse the symbol table,
//     thousands of allocations per file; relic's parser slices without
//     bounds checks and panics on hostile input);
//   - coverage: the code directory covers the file exactly up to the
//     signature, and no segment the kernel would map reaches past it;
//   - the pages: unless the kernel has already validated them (see File), every
//     page hash of the best code directory (SHA-384, then SHA-256, then SHA-1,
//     as the kernel picks) is recomputed. A signature copied from another file
//     fails here;
//   - the special slots (requirements, entitlements) against their hashes in
//     every code directory;
//   - the CMS signature over the slot 0 code directory (relic's lib/pkcs7,
//     after a BER to DER re-encoding with go-asn1-ber), and Apple's signed
//     cdhash attributes against every code directory they name; the best
//     directory must be the slot 0 one or be named there, else anyone could
//     have added it;
//   - the certificate chain, leaf plus the certificates in the CMS blob, to the
//     Verifier's roots with crypto/x509.
//
// This is what relic's lib/fruit/csblob.Verify does, written against relic's
// lib/pkcs7 instead: csblob imports relic's pkcs9 (net/http, for timestamp
// requests) and certloader (OpenPGP, keyrings, D-Bus), and the enforcer must
// not link net/http (internal/importrules holds this package to that).
//
// Nothing here recovers from panics: hostile input is bounded before it
// reaches a library (signatures over 32 MiB are refused), and the fuzz
// targets FuzzFile and FuzzSignature hold that.
//
// What is not: revocation (no OCSP, no network), notarization tickets, the
// designated requirement, bundle resources (CodeResources) and the Info.plist
// slot of a bundle, 64-bit universal headers (0xcafebabf). Platform (Apple's
// own) binaries are not told apart: that needs the kernel's trust caches.
//
// Decisions:
//   - Time. The chain is verified at the CMS signing-time attribute if there
//     is one and it is not in the future, else now. The attribute is asserted
//     by the signer itself, so an expired certificate keeps working for code
//     that says it was signed while the certificate was valid, as Apple does
//     for Developer ID code; without revocation checking, refusing expired
//     certificates would add little. RFC 3161 timestamp tokens are not
//     verified: under this rule they would change nothing.
//   - Key usage. The leaf must allow code signing (an extended key usage of
//     code signing or any, or none at all); intermediates are not held to an
//     extended key usage, as Apple's are not consistent about it. Apple's
//     proprietary critical extensions (1.2.840.113635.100.6.1.*) are marked
//     handled before the chain is verified, as relic does.
//   - Team. TeamID comes from the code directory. If the leaf certificate
//     carries an Apple team id (a 10-character OU next to Apple's code signing
//     extension) that differs, the signature is Invalid; if the code directory
//     has none, the certificate's is reported.
//   - Ad hoc. A signature without CMS is AdHoc: SigningID is reported for
//     information only, TeamID and Authority are empty, and the policy must
//     treat AdHoc like Unsigned, since anyone can write any identifier.
//   - Not Mach-O. A file without a Mach-O or universal magic number (ELF,
//     script, Java class, empty) is Unsigned with a Reason, not an error; a
//     file with a Mach-O magic that cannot be parsed is Invalid.
//   - Universal binaries. Every slice is verified and all must agree on status,
//     signing identifier and team, else Invalid. The slice reported is the one
//     whose cdhash the kernel gave (the one it ran, native or under Rosetta),
//     else arm64, else x86_64, else the first.
//   - Errors are returned only for I/O errors; every verdict about the bytes
//     is a Status and a Reason.
//   - Cache. The result of the CMS and chain verification, the expensive part,
//     is cached per SHA-256 of the whole signature superblob, never per cdhash:
//     a copied code directory re-signed by another certificate must not
//     inherit the first certificate's result. Page verification is never
//     cached here; callers cache per file identity. An entry is not re-checked
//     as time passes: a result computed at "now" (no signing time) stays
//     until evicted; bounded at 4096 entries, an arbitrary one evicted.
//   - Invalid carries no SigningID, TeamID or Authority, so that no policy
//     rule can match them by accident; the Reason names what was found.
package codesign

import (
	"crypto/x509"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
)

// Status is the verdict on a signature. Stored values never change; the zero
// value means unknown (not verified).
type Status int

const (
	// Unsigned: no code signature, or not a Mach-O file.
	Unsigned Status = iota + 1
	// AdHoc: a code directory without a CMS signature. Treat as Unsigned.
	AdHoc
	// Invalid: a signature that does not verify; Reason says why.
	Invalid
	// Signed: the pages, the CMS signature and the chain to a root verify.
	Signed
)

func (s Status) String() string {
	switch s {
	case Unsigned:
		return "unsigned"
	case AdHoc:
		return "ad-hoc"
	case Invalid:
		return "invalid"
	case Signed:
		return "signed"
	}
	return fmt.Sprintf("Status(%d)", int(s))
}

// Signature is what a Mach-O's code signature says, once verified. Only a
// Signed signature vouches for SigningID, TeamID and Authority.
type Signature struct {
	Status Status
	// Reason says why the status is not Signed, for `gatehouse policy explain`.
	Reason string
	// SigningID is the code directory identifier (informational for AdHoc).
	SigningID string
	// TeamID is the code directory team identifier; empty unless Signed.
	TeamID string
	// Authority holds the certificate chain's common names, leaf first, as
	// `codesign -dvvv` prints them; empty unless Signed.
	Authority []string
	// CDHash is the kernel's cdhash: the first 20 bytes of the hash of the
	// best code directory. Set whenever a code directory was parsed.
	CDHash [20]byte
}

// maxCacheEntries bounds the CMS result cache.
const maxCacheEntries = 4096

// Verifier holds the trust roots and a cache of CMS and chain results. It is
// safe for concurrent use.
type Verifier struct {
	roots *x509.CertPool

	mu    sync.Mutex
	cache map[[32]byte]cmsResult // sha256 of the superblob → result
}

// NewVerifier returns a Verifier trusting roots; nil means Apple's root
// certificates embedded in this package (Apple Root CA, G2 and G3).
func NewVerifier(roots *x509.CertPool) *Verifier {
	if roots == nil {
		roots = AppleRoots()
	}
	return &Verifier{roots: roots, cache: make(map[[32]byte]cmsResult)}
}

// File verifies the code signature of the Mach-O (thin or universal) file
// of size bytes read from r.
//
// kernelCDHash is the cdhash the kernel validated the pages against (macOS
// Endpoint Security); with it the pages of that slice are not hashed again
// but the signature on disk must have that cdhash. Pass nil when no kernel
// vouches for the pages (Linux, the CLI): then every page is verified. An
// all-zero hash (the kernel's value for unsigned code) counts as nil.
//
// The error is non-nil only for I/O errors from r.
func (v *Verifier) File(r io.ReaderAt, size int64, kernelCDHash *[20]byte) (Signature, error) {
	if kernelCDHash != nil && *kernelCDHash == ([20]byte{}) {
		kernelCDHash = nil
	}
	er := &errReader{r: r}
	sig := v.file(er, size, kernelCDHash)
	if er.err != nil {
		return Signature{}, fmt.Errorf("read Mach-O file: %w", er.err)
	}
	return sig, nil
}

const (
	magicFat    = 0xcafebabe
	magicFat64  = 0xcafebabf
	magic32     = 0xfeedface
	magic64     = 0xfeedfacf
	magic32Swap = 0xcefaedfe
	magic64Swap = 0xcffaedfe

	// maxFatArchs separates universal binaries from Java class files, which
	// share the magic number (file(1) uses the same bound).
	maxFatArchs = 20
)

func (v *Verifier) file(r io.ReaderAt, size int64, kernel *[20]byte) Signature {
	var hdr [8]byte
	if size < int64(len(hdr)) {
		return Signature{Status: Unsigned, Reason: "not a Mach-O file"}
	}
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return Signature{Status: Invalid, Reason: "cannot read the file header"}
	}
	switch magic := binary.BigEndian.Uint32(hdr[:]); magic {
	case magic32, magic64, magic32Swap, magic64Swap:
		s := v.thin(io.NewSectionReader(r, 0, size), size, kernel, true)
		if kernel != nil && !s.kernelMatch && s.sig.Status != Invalid {
			return invalid(s.sig.CDHash, "the signature on disk is not the one the kernel validated")
		}
		return s.sig
	case magicFat:
		if binary.BigEndian.Uint32(hdr[4:]) >= maxFatArchs {
			return Signature{Status: Unsigned, Reason: "not a Mach-O file"}
		}
		return v.fat(r, size, kernel)
	case magicFat64:
		return Signature{Status: Invalid, Reason: "64-bit universal binaries are not supported"}
	}
	return Signature{Status: Unsigned, Reason: "not a Mach-O file"}
}

func invalid(cdhash [20]byte, format string, args ...any) Signature {
	return Signature{Status: Invalid, Reason: fmt.Sprintf(format, args...), CDHash: cdhash}
}

// errReader records the first error other than io.EOF, so that I/O errors
// are told apart from files that end early.
type errReader struct {
	r   io.ReaderAt
	mu  sync.Mutex
	err error
}

func (e *errReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := e.r.ReadAt(p, off)
	if err != nil && !errors.Is(err, io.EOF) {
		e.mu.Lock()
		if e.err == nil {
			e.err = err
		}
		e.mu.Unlock()
	}
	return n, err
}
