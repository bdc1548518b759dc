// Package codesigntest makes the certificates Gatehouse's signing tests
// sign with: a root, a Developer ID intermediate and the two Developer ID
// leaves, shaped like Apple's (the extensions codesign and Installer look
// for), a provisioning profile, and an RFC 3161 time-stamping authority
// on a local HTTP server. Nothing here is trusted by a Mac.
package codesigntest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"howett.net/plist"

	"github.com/sassoftware/relic/v8/lib/certloader"
	"github.com/sassoftware/relic/v8/lib/pkcs7"
	"github.com/sassoftware/relic/v8/lib/pkcs9"
	"software.sslmate.com/src/go-pkcs12"
)

// CA is a test certificate authority and the identities it issued.
type CA struct {
	Team      string
	Root      *x509.Certificate
	App       *certloader.Certificate // Developer ID Application
	Installer *certloader.Certificate // Developer ID Installer
	// Other is a plain code-signing identity without Apple's extensions.
	Other *certloader.Certificate
	// TSA signs timestamps (TSAHandler).
	TSA *certloader.Certificate
}

var (
	extIntermediate = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6, 2, 6}
	extApplication  = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6, 1, 13}
	extInstaller    = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6, 1, 14}
	ekuPackageSign  = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 4, 13}
	asn1Null        = []byte{5, 0}
)

// New makes a CA for team. Keys are RSA 2048, as Apple issues them.
func New(team string) (*CA, error) {
	now := time.Now()
	rootKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	root, err := issue(&x509.Certificate{
		Subject: pkix.Name{CommonName: "Gatehouse Test Root CA", Organization: []string{"Gatehouse tests"}},
		IsCA:    true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(10 * 365 * 24 * time.Hour),
	}, nil, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	intKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	inter, err := issue(&x509.Certificate{
		Subject: pkix.Name{CommonName: "Gatehouse Test Developer ID Certification Authority", OrganizationalUnit: []string{"Gatehouse tests"}},
		IsCA:    true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(5 * 365 * 24 * time.Hour),
		ExtraExtensions: []pkix.Extension{{Id: extIntermediate, Critical: true, Value: asn1Null}},
	}, root, &intKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	leaf := func(cn string, ext asn1.ObjectIdentifier, eku []x509.ExtKeyUsage, unknown []asn1.ObjectIdentifier, parent *x509.Certificate, parentKey crypto.Signer, chain ...*x509.Certificate) (*certloader.Certificate, error) {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		tmpl := &x509.Certificate{
			Subject:   pkix.Name{CommonName: cn, OrganizationalUnit: []string{team}, Organization: []string{"Gatehouse Test Corp"}, Country: []string{"US"}},
			KeyUsage:  x509.KeyUsageDigitalSignature,
			NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
			ExtKeyUsage: eku, UnknownExtKeyUsage: unknown, BasicConstraintsValid: true,
		}
		if ext != nil {
			tmpl.ExtraExtensions = []pkix.Extension{{Id: ext, Critical: true, Value: asn1Null}}
		}
		c, err := issue(tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			return nil, err
		}
		return &certloader.Certificate{PrivateKey: key, Leaf: c, Certificates: append([]*x509.Certificate{c}, chain...)}, nil
	}
	ca := &CA{Team: team, Root: root}
	if ca.App, err = leaf(fmt.Sprintf("Developer ID Application: Gatehouse Test Corp (%s)", team), extApplication,
		[]x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, nil, inter, intKey, inter); err != nil {
		return nil, err
	}
	if ca.Installer, err = leaf(fmt.Sprintf("Developer ID Installer: Gatehouse Test Corp (%s)", team), extInstaller,
		nil, []asn1.ObjectIdentifier{ekuPackageSign}, inter, intKey, inter); err != nil {
		return nil, err
	}
	if ca.Other, err = leaf("Some Code Signer", nil, []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}, nil, root, rootKey); err != nil {
		return nil, err
	}
	tsaKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tsa, err := issue(&x509.Certificate{
		Subject:   pkix.Name{CommonName: "Gatehouse Test Timestamp Authority"},
		KeyUsage:  x509.KeyUsageDigitalSignature,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageTimeStamping}, BasicConstraintsValid: true,
	}, root, &tsaKey.PublicKey, rootKey)
	if err != nil {
		return nil, err
	}
	ca.TSA = &certloader.Certificate{PrivateKey: tsaKey, Leaf: tsa, Certificates: []*x509.Certificate{tsa}}
	return ca, nil
}

var serial int64

func issue(tmpl, parent *x509.Certificate, pub any, key crypto.Signer) (*x509.Certificate, error) {
	serial++
	tmpl.SerialNumber = big.NewInt(time.Now().UnixNano() + serial)
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, key)
	if err != nil {
		return nil, err
	}
	return x509.ParseCertificate(der)
}

// Roots is a pool holding the CA's root.
func (ca *CA) Roots() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.Root)
	return p
}

// WriteRoot writes the root, PEM, to path.
func (ca *CA) WriteRoot(path string) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Root.Raw}), 0o644)
}

// WriteP12 writes id as a PKCS#12 file with password, its chain inside,
// as Keychain Access exports it.
func WriteP12(id *certloader.Certificate, path, password string) error {
	b, err := pkcs12.Modern.Encode(id.PrivateKey, id.Leaf, id.Certificates[1:], password)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// WritePEM writes id's chain and key as PEM files.
func WritePEM(id *certloader.Certificate, certPath, keyPath string) error {
	var certs []byte
	for _, c := range id.Certificates {
		certs = append(certs, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	der, err := x509.MarshalPKCS8PrivateKey(id.PrivateKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(certPath, certs, 0o644); err != nil {
		return err
	}
	return os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
}

// Profile is a provisioning profile for team's bundleID granting
// entitlements, valid until expires, CMS-signed by the CA's intermediate
// identity (Apple's are signed by Apple; macOS checks that, not
// Gatehouse).
func (ca *CA) Profile(name, bundleID string, entitlements map[string]any, expires time.Time) ([]byte, error) {
	ents := map[string]any{"com.apple.application-identifier": ca.Team + "." + bundleID, "com.apple.developer.team-identifier": ca.Team}
	for k, v := range entitlements {
		ents[k] = v
	}
	body, err := plist.MarshalIndent(map[string]any{
		"AppIDName": "Gatehouse", "Name": name, "TeamIdentifier": []string{ca.Team}, "TeamName": "Gatehouse Test Corp",
		"Entitlements": ents, "CreationDate": time.Now().UTC().Truncate(time.Second), "ExpirationDate": expires.UTC().Truncate(time.Second),
		"Platform": []string{"OSX"}, "ProvisionsAllDevices": true, "Version": 1, "UUID": "6F9E8C1D-0000-4000-8000-000000000001",
	}, plist.XMLFormat, "\t")
	if err != nil {
		return nil, err
	}
	b := pkcs7.NewBuilder(ca.App.Signer(), ca.App.Certificates, crypto.SHA256)
	if err := b.SetContentData(body); err != nil {
		return nil, err
	}
	psd, err := b.Sign()
	if err != nil {
		return nil, err
	}
	return psd.Marshal()
}

// TSAServer starts an RFC 3161 time-stamping authority on a local
// server; Close it when done.
func (ca *CA) TSAServer() *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(ca.serveTimestamp))
}

func (ca *CA) serveTimestamp(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if err != nil || r.Header.Get("Content-Type") != "application/timestamp-query" {
		http.Error(w, "an RFC 3161 query", http.StatusBadRequest)
		return
	}
	var req pkcs9.TimeStampReq
	if _, err := asn1.Unmarshal(body, &req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	gen, err := asn1.MarshalWithParams(time.Now().UTC().Truncate(time.Second), "generalized")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	serial++
	info := pkcs9.TSTInfo{Version: 1, Policy: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}, MessageImprint: req.MessageImprint,
		SerialNumber: big.NewInt(serial), GenTime: asn1.RawValue{FullBytes: gen}, Nonce: req.Nonce}
	der, err := asn1.Marshal(info)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	b := pkcs7.NewBuilder(ca.TSA.Signer(), ca.TSA.Certificates, crypto.SHA256)
	if err := b.SetContent(pkcs9.OidTSTInfo, der); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	psd, err := b.Sign()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	out, err := asn1.Marshal(pkcs9.TimeStampResp{Status: pkcs9.PKIStatusInfo{Status: pkcs9.StatusGranted}, TimeStampToken: *psd})
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/timestamp-reply")
	w.Write(out)
}

// MachO builds a small Go program for darwin/arch at out: a real Mach-O
// to sign (Go's linker signs arm64 ones ad hoc, amd64 ones not at all).
func MachO(out, arch string) error {
	dir, err := os.MkdirTemp("", "codesigntest-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "hello.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() { println(\"hello\") }\n"), 0o644); err != nil {
		return err
	}
	cmd := exec.Command("go", "build", "-trimpath", "-o", out, src)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOOS=darwin", "GOARCH="+arch, "CGO_ENABLED=0", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build for darwin/%s: %v\n%s", arch, err, b)
	}
	return nil
}
