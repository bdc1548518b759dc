package codesign

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"howett.net/plist"

	"github.com/sassoftware/relic/v8/lib/fruit/csblob"
	"github.com/sassoftware/relic/v8/lib/fruit/machos"
	"github.com/sassoftware/relic/v8/lib/pkcs9"
)

// Signed is what a verified signature says.
type Signed struct {
	Identifier, TeamID string
	// Runtime is hardened runtime.
	Runtime bool
	// Entitlements as signed (an empty map for none).
	Entitlements map[string]any
	// Signer is the leaf certificate; Chained says its chain was checked
	// to one of the roots given.
	Signer  *x509.Certificate
	Chained bool
	// Timestamped says a time-stamping authority countersigned it.
	Timestamped bool
}

// VerifyMachO checks the signature of the Mach-O at path with relic: the
// code directory's page hashes, the signature over it, the Info.plist and
// seal bound to it (nil for a program outside a bundle), and, if roots is
// not nil, the signer's chain to one of them for code signing.
func VerifyMachO(path string, infoPlist, resources []byte, roots *x509.CertPool) (*Signed, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	v, err := machos.Verify(f, infoPlist, resources, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(v.Blob.Directories) == 0 || v.Signature == nil {
		return nil, fmt.Errorf("%s: no code directory or no signature", path)
	}
	cd := v.Blob.Directories[0]
	s := &Signed{
		Identifier:  cd.SigningIdentity,
		TeamID:      cd.TeamIdentifier,
		Runtime:     cd.Header.Flags&csblob.FlagRuntime != 0,
		Signer:      v.Signature.Certificate,
		Timestamped: v.Signature.CounterSignature != nil,
	}
	if cd.Header.Flags&csblob.FlagAdhoc != 0 {
		return nil, fmt.Errorf("%s: signed ad hoc", path)
	}
	s.Entitlements = map[string]any{}
	if len(v.Blob.Entitlement) > 8 {
		if _, err := plist.Unmarshal(v.Blob.Entitlement[8:], &s.Entitlements); err != nil {
			return nil, fmt.Errorf("%s: entitlements: %w", path, err)
		}
	}
	if roots != nil {
		if err := chain(v.Signature, roots, x509.ExtKeyUsageCodeSigning); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		s.Chained = true
	}
	return s, nil
}

func chain(sig *pkcs9.TimestampedSignature, roots *x509.CertPool, usage x509.ExtKeyUsage) error {
	markApple(sig.Certificate)
	for _, c := range sig.Intermediates {
		markApple(c)
	}
	if err := sig.VerifyChain(roots, nil, usage); err != nil {
		return fmt.Errorf("signer %q: %w", sig.Certificate.Subject.CommonName, err)
	}
	return nil
}

// appleExtensions is the arc of Apple's certificate extensions
// (1.2.840.113635.100.6): the role of a leaf (Developer ID Application,
// Installer) and of an intermediate (Developer ID). Apple may mark them
// critical; they are what the code requirement reads, so the chain check
// treats them as understood.
var appleExtensions = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6}

func markApple(c *x509.Certificate) {
	var keep []asn1.ObjectIdentifier
	for _, id := range c.UnhandledCriticalExtensions {
		if len(id) < len(appleExtensions) || !id[:len(appleExtensions)].Equal(appleExtensions) {
			keep = append(keep, id)
		}
	}
	c.UnhandledCriticalExtensions = keep
}

// VerifyBundle checks the bundle at dir: its main executable's signature
// (VerifyMachO, with the Info.plist and seal on disk), that it is signed
// as the bundle's CFBundleIdentifier, and that the seal names exactly the
// bundle's files with their contents now.
func VerifyBundle(dir string, roots *x509.CertPool) (*Signed, error) {
	contents := filepath.Join(dir, "Contents")
	info, err := os.ReadFile(filepath.Join(contents, "Info.plist"))
	if err != nil {
		return nil, err
	}
	bi, err := readBundleInfo(info)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	seal, err := os.ReadFile(filepath.Join(contents, "_CodeSignature", "CodeResources"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%s: not sealed (no _CodeSignature/CodeResources)", dir)
	} else if err != nil {
		return nil, err
	}
	s, err := VerifyMachO(filepath.Join(contents, "MacOS", bi.Executable), info, seal, roots)
	if err != nil {
		return nil, err
	}
	if s.Identifier != bi.ID {
		return nil, fmt.Errorf("%s: signed as %q, the bundle is %q", dir, s.Identifier, bi.ID)
	}
	now, err := CodeResources(contents, "MacOS/"+bi.Executable)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(now, seal) {
		want, err := sealedFiles2(seal)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		got, err := sealedFiles2(now)
		if err != nil {
			return nil, err
		}
		if d := diffSeals(want, got); len(d) > 0 {
			return nil, fmt.Errorf("%s: the seal does not match the bundle: %s", dir, strings.Join(d, "; "))
		}
	}
	return s, nil
}
