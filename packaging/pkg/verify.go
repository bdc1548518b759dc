package pkg

import (
	"bytes"
	"compress/gzip"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	cpio "github.com/korylprince/go-cpio-odc"

	"github.com/gatehouse/gatehouse/packaging/codesign"
	"github.com/gatehouse/gatehouse/packaging/xar"
)

// Report is what Verify found in a package.
type Report struct {
	// Product is the product signature.
	Product *codesign.Signed
	// Programs are the payload's programs' signatures, in SignedPrograms'
	// order.
	Programs []Program
}

// Program is one signed program of the payload.
type Program struct {
	Path string
	*codesign.Signed
}

// maxPayload bounds the payload Verify unpacks (Gatehouse's is tens of
// megabytes).
const maxPayload = 2 << 30

// Verify checks the signed package at pkgPath the way Installer and
// Gatekeeper would, as far as that can be done off a Mac: the product
// signature (an installer identity), then every program of the payload
// (each bundle's seal and main executable, the CLI) signed by one team
// with hardened runtime, its identifier and its entitlement. With roots,
// every signer must chain to one of them (Apple's root, or a test CA);
// without, the chains are not checked.
func Verify(pkgPath string, roots *x509.CertPool) (*Report, error) {
	prod, err := codesign.VerifyProduct(pkgPath, roots)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(prod.Signer.Subject.CommonName, "Developer ID Installer") {
		return nil, fmt.Errorf("%s: signed by %q, not a Developer ID Installer identity", pkgPath, prod.Signer.Subject.CommonName)
	}
	b, err := os.ReadFile(pkgPath)
	if err != nil {
		return nil, err
	}
	a, err := xar.Read(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkgPath, err)
	}
	payload, err := a.ReadFile(componentName + "/Payload")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", pkgPath, err)
	}
	dir, err := os.MkdirTemp("", "gatehouse-verify-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := unpack(payload, dir); err != nil {
		return nil, fmt.Errorf("%s: payload: %w", pkgPath, err)
	}
	rep := &Report{Product: prod}
	for _, sp := range SignedPrograms {
		p := filepath.Join(dir, filepath.FromSlash(sp.Path))
		var s *codesign.Signed
		if sp.Bundle {
			s, err = codesign.VerifyBundle(p, roots)
		} else {
			s, err = codesign.VerifyMachO(p, nil, nil, roots)
		}
		if err != nil {
			return nil, fmt.Errorf("/%s: %s", sp.Path, strings.ReplaceAll(err.Error(), dir, ""))
		}
		var problems []string
		if s.Identifier != sp.Identifier {
			problems = append(problems, fmt.Sprintf("signed as %q, not %q", s.Identifier, sp.Identifier))
		}
		if !s.Runtime {
			problems = append(problems, "no hardened runtime")
		}
		if s.TeamID == "" || s.TeamID != prod.TeamID {
			problems = append(problems, fmt.Sprintf("team %q, the package's is %q", s.TeamID, prod.TeamID))
		}
		if sp.Entitlement != "" && s.Entitlements[sp.Entitlement] != true {
			problems = append(problems, "without "+sp.Entitlement)
		}
		if len(problems) > 0 {
			return nil, fmt.Errorf("/%s: %s", sp.Path, strings.Join(problems, "; "))
		}
		rep.Programs = append(rep.Programs, Program{Path: "/" + sp.Path, Signed: s})
	}
	return rep, nil
}

// unpack extracts a gzip'd odc cpio payload into dir: directories and
// regular files only, every path inside dir.
func unpack(payload []byte, dir string) error {
	zr, err := gzip.NewReader(bytes.NewReader(payload))
	if err != nil {
		return err
	}
	raw, err := io.ReadAll(io.LimitReader(zr, maxPayload+1))
	if err != nil {
		return err
	}
	if len(raw) > maxPayload {
		return fmt.Errorf("more than %d bytes", maxPayload)
	}
	r := cpio.NewReader(bytes.NewReader(raw))
	for {
		f, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := path.Clean(strings.TrimPrefix(f.Path, "./"))
		if name == "." {
			continue
		}
		if path.IsAbs(name) || name == ".." || strings.HasPrefix(name, "../") {
			return fmt.Errorf("%q: outside the install root", f.Path)
		}
		dst := filepath.Join(dir, filepath.FromSlash(name))
		switch {
		case f.FileMode.IsDir():
			if err := os.MkdirAll(dst, 0o755); err != nil {
				return err
			}
		case f.FileMode.IsRegular():
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(dst, f.Body, f.FileMode.Perm()); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%q: mode %v; the payload holds files and directories only", f.Path, f.FileMode)
		}
	}
}
