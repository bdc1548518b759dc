package facts

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"

	"github.com/gatehouse/gatehouse/facts/codesign"
	"github.com/gatehouse/gatehouse/policy"
)

// verifierNow is the code-signature verifier in use (its roots, and the
// cache of CMS and chain results per signature); nil until first needed.
var verifierNow atomic.Pointer[codesign.Verifier]

func verifier() *codesign.Verifier {
	if v := verifierNow.Load(); v != nil {
		return v
	}
	verifierNow.CompareAndSwap(nil, codesign.NewVerifier(nil))
	return verifierNow.Load()
}

// TrustCodeSigningRoots makes code signatures that chain to one of roots
// count as signed, besides those that chain to Apple's roots: an
// organisation's own code-signing CA. It replaces the verifier (and its
// cache); call it at start, before facts are gathered.
func TrustCodeSigningRoots(roots []*x509.Certificate) {
	pool := codesign.AppleRoots()
	for _, c := range roots {
		pool.AddCert(c)
	}
	verifierNow.Store(codesign.NewVerifier(pool))
}

// ReadRoots reads the PEM certificates in the files paths (each may hold
// several), for TrustCodeSigningRoots.
func ReadRoots(paths []string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("code-signing roots: %w", err)
		}
		n := 0
		for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
			if block.Type != "CERTIFICATE" {
				continue
			}
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, fmt.Errorf("code-signing roots: %s: certificate %d: %w", p, n+1, err)
			}
			out = append(out, c)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("code-signing roots: %s holds no PEM certificate (-----BEGIN CERTIFICATE-----)", p)
		}
	}
	return out, nil
}

// signature reads the code signature of the file r (its first bytes in
// header) into s when the gathering wants it: for a Mach-O file, verified
// (facts/codesign); anything else has none. Only a signature that verifies
// names a publisher, team and signing identifier.
func (g gather) signature(s *policy.Subject, header []byte, r io.ReaderAt, size int64) error {
	if !g.want.Signature {
		return nil
	}
	if !isMachO(header) {
		s.Signature = "none (not a Mach-O file)"
		return nil
	}
	sig, err := verifier().File(g.reader(r), size, g.want.KernelCDHash)
	if err != nil {
		return err
	}
	s.Signature = describeSignature(sig)
	if sig.Status == codesign.Signed {
		s.TeamID, s.SigningID = sig.TeamID, sig.SigningID
		if len(sig.Authority) > 0 {
			s.Publisher = sig.Authority[0]
		}
	}
	return nil
}

// describeSignature says what the check found, for explain.
func describeSignature(sig codesign.Signature) string {
	switch sig.Status {
	case codesign.Signed:
		return "signed: " + strings.Join(sig.Authority, " → ")
	case codesign.AdHoc:
		id := ""
		if sig.SigningID != "" {
			id = " (identifier " + sig.SigningID + ")"
		}
		return "ad-hoc signed" + id + ": no certificate, treated as unsigned"
	case codesign.Invalid:
		return "invalid, treated as unsigned: " + sig.Reason
	}
	if sig.Reason != "" {
		return "unsigned: " + sig.Reason
	}
	return "unsigned"
}
