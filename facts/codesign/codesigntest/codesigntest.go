// Package codesigntest makes code-signed Mach-O files for tests: real Go
// programs cross-compiled for darwin (Go's linker ad-hoc signs arm64 ones
// and leaves amd64 ones unsigned), a test CA shaped like Apple's Developer
// ID chain, and relic (lib/fruit) to sign with. It is imported by tests
// only.
package codesigntest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/sassoftware/relic/v8/lib/binpatch"
	"github.com/sassoftware/relic/v8/lib/certloader"
	"github.com/sassoftware/relic/v8/lib/fruit/csblob"
	"github.com/sassoftware/relic/v8/lib/fruit/machos"
)

const testProgram = `package main

import "fmt"

var variant = "variant-A"

func main() { fmt.Println("hello from", variant) }
`

var (
	buildMu sync.Mutex
	builds  = map[string][]byte{}
)

// Darwin returns a Go program built for darwin/arch whose variant string
// is "variant-"+variant (variants of one arch differ only in that string,
// of the same length, so their signatures have the same geometry). Builds
// are kept for the test binary's run.
func Darwin(tb testing.TB, arch, variant string) []byte {
	tb.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	key := arch + "-" + variant
	if b, ok := builds[key]; ok {
		return b
	}
	b, err := build(arch, variant)
	if err != nil {
		tb.Fatalf("build a darwin test binary: %v", err)
	}
	builds[key] = b
	return b
}

func build(arch, variant string) ([]byte, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return nil, fmt.Errorf("the go command is needed to build test binaries: %w", err)
	}
	dir, err := os.MkdirTemp("", "codesigntest-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module hello\n\ngo 1.22\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(testProgram), 0o644); err != nil {
		return nil, err
	}
	out := filepath.Join(dir, "hello")
	cmd := exec.Command(goTool, "build", "-trimpath", "-buildvcs=false",
		"-ldflags=-X main.variant=variant-"+variant, "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=darwin", "GOARCH="+arch, "CGO_ENABLED=0", "GOFLAGS=")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build %s: %v\n%s", arch, err, msg)
	}
	return os.ReadFile(out)
}

// CA is a root → intermediate → leaf chain shaped like Apple's Developer
// ID chain, including Apple's critical code signing extension on the leaf.
// Pool trusts its root; Cert is the leaf with its key, to sign with.
type CA struct {
	Root, Inter *x509.Certificate
	Pool        *x509.CertPool
	Cert        *certloader.Certificate
}

// The names the default chain carries.
const (
	RootCN  = "Test Root CA"
	InterCN = "Test Developer ID Certification Authority"
)

// NewCA makes a chain whose leaf is cn, with team id team.
func NewCA(tb testing.TB, team, cn string) CA {
	tb.Helper()
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		return k
	}
	create := func(tmpl, parent *x509.Certificate, pub, priv any) *x509.Certificate {
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, priv)
		if err != nil {
			tb.Fatal(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			tb.Fatal(err)
		}
		return c
	}
	notBefore := time.Now().Add(-time.Hour)
	notAfter := time.Now().Add(24 * time.Hour)
	rootKey, interKey, leafKey := key(), key(), key()
	rootTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: RootCN, Organization: []string{"Test"}},
		NotBefore: notBefore, NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	root := create(rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	interTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: InterCN, Organization: []string{"Test"}},
		NotBefore: notBefore, NotAfter: notAfter, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	inter := create(interTmpl, root, &interKey.PublicKey, rootKey)
	nullValue, _ := asn1.Marshal(asn1.NullRawValue)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(3),
		Subject:      pkix.Name{CommonName: cn, OrganizationalUnit: []string{team}, Organization: []string{"Test Corp"}},
		NotBefore:    notBefore, NotAfter: notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		ExtraExtensions: []pkix.Extension{
			// Apple's Developer ID Application marker, critical as Apple
			// issues it: x509 verification must not trip over it.
			{Id: csblob.CodeSignDevIDExecute, Critical: true, Value: nullValue},
		},
	}
	leaf := create(leafTmpl, inter, &leafKey.PublicKey, interKey)
	pool := x509.NewCertPool()
	pool.AddCert(root)
	return CA{
		Root: root, Inter: inter, Pool: pool,
		Cert: &certloader.Certificate{
			Leaf:         leaf,
			Certificates: []*x509.Certificate{leaf, inter, root},
			PrivateKey:   leafKey,
		},
	}
}

// Sign signs a Mach-O image with relic (SHA-256, identifier ident, team
// team), replacing any signature it has.
func Sign(tb testing.TB, image []byte, cert *certloader.Certificate, ident, team string) []byte {
	tb.Helper()
	return SignWithParams(tb, image, cert, &csblob.SignatureParams{
		HashFunc:        crypto.SHA256,
		SigningIdentity: ident,
		TeamIdentifier:  team,
	})
}

// SignWithParams signs with relic's parameters as given.
func SignWithParams(tb testing.TB, image []byte, cert *certloader.Certificate, params *csblob.SignatureParams) []byte {
	tb.Helper()
	patch, _, err := machos.Sign(context.Background(), bytes.NewReader(image), cert, params)
	if err != nil {
		tb.Fatalf("relic sign: %v", err)
	}
	return applyPatch(tb, image, patch)
}

func applyPatch(tb testing.TB, image []byte, p *binpatch.PatchSet) []byte {
	tb.Helper()
	type region struct {
		off, oldSize int64
		blob         []byte
	}
	var rs []region
	for i, h := range p.Patches {
		rs = append(rs, region{h.Offset, int64(h.OldSize), p.Blobs[i]})
	}
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].off < rs[j].off })
	var out bytes.Buffer
	pos := int64(0)
	for _, r := range rs {
		if r.off < pos || r.off > int64(len(image)) {
			tb.Fatalf("overlapping or out-of-range patch at %d", r.off)
		}
		out.Write(image[pos:r.off])
		out.Write(r.blob)
		pos = r.off + r.oldSize
	}
	if pos < int64(len(image)) {
		out.Write(image[pos:])
	}
	return out.Bytes()
}
