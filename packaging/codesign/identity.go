// Package codesign signs Gatehouse's darwin programs and its installer
// package with a Developer ID, through relic (github.com/sassoftware/relic):
// each Mach-O with hardened runtime, its entitlements and the bundle's
// resource seal; the product archive with a Developer ID Installer
// identity. It runs on any OS; what only a Mac can check (Gatekeeper,
// notarization) is in docs/packaging.md.
package codesign

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/sassoftware/relic/v8/lib/certloader"
	"github.com/sassoftware/relic/v8/lib/fruit/csblob"
	"github.com/sassoftware/relic/v8/lib/pkcs7"
	"github.com/sassoftware/relic/v8/lib/pkcs9"
	"software.sslmate.com/src/go-pkcs12"
)

// Identity is a certificate chain and its private key.
type Identity = certloader.Certificate

// Apple's certificate extensions (Apple's Certification Practice
// Statement; csblob.CodeSign is their prefix).
var (
	oidDeveloperIDApplication = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6, 1, 13}
	oidDeveloperIDInstaller   = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6, 1, 14}
)

// Kind is what an identity signs.
type Kind int

const (
	// Application signs code (Developer ID Application).
	Application Kind = iota
	// Installer signs installer packages (Developer ID Installer).
	Installer
)

func (k Kind) String() string {
	if k == Installer {
		return "Developer ID Installer"
	}
	return "Developer ID Application"
}

// LoadP12 reads an identity from a PKCS#12 file (what Keychain Access
// exports) with its password.
func LoadP12(path, password string, kind Kind) (*Identity, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	key, leaf, chain, err := pkcs12.DecodeChain(b, password)
	if errors.Is(err, pkcs12.ErrIncorrectPassword) {
		return nil, fmt.Errorf("%s: wrong password", path)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: not a PKCS#12 file with one key and its certificate: %w", path, err)
	}
	id := &Identity{PrivateKey: key, Leaf: leaf, Certificates: append([]*x509.Certificate{leaf}, chain...)}
	return id, check(id, path, kind)
}

// LoadPEM reads an identity from a certificate file (PEM or DER; the
// chain's intermediates may follow the certificate) and its private key
// (PEM, unencrypted).
func LoadPEM(certPath, keyPath string, kind Kind) (*Identity, error) {
	id, err := certloader.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		return nil, fmt.Errorf("%s, %s: %w", certPath, keyPath, err)
	}
	return id, check(id, certPath, kind)
}

// check refuses an identity that cannot make the signature asked for:
// its key does not sign, it is not the kind's certificate, or it has
// expired. Apple's own checks come later, on the Mac and at notarization.
func check(id *Identity, name string, kind Kind) error {
	if id.Leaf == nil || id.Signer() == nil {
		return fmt.Errorf("%s: no certificate with a private key that signs", name)
	}
	markApple(id.Leaf)
	want := oidDeveloperIDApplication
	if kind == Installer {
		want = oidDeveloperIDInstaller
	}
	found := false
	for _, e := range id.Leaf.Extensions {
		found = found || e.Id.Equal(want)
	}
	if !found {
		return fmt.Errorf("%s: %q is not a %s certificate (it lacks Apple's extension %s); export the %s identity from Keychain Access", name, id.Leaf.Subject.CommonName, kind, want, kind)
	}
	if now := time.Now(); now.After(id.Leaf.NotAfter) {
		return fmt.Errorf("%s: %q expired on %s", name, id.Leaf.Subject.CommonName, id.Leaf.NotAfter.Format(time.DateOnly))
	}
	issuer := false
	for _, c := range id.Certificates[1:] {
		issuer = issuer || bytes.Equal(c.RawSubject, id.Leaf.RawIssuer)
	}
	if !issuer {
		return fmt.Errorf("%s: the chain stops at %q; include its issuer, %q (Apple publishes it at https://www.apple.com/certificateauthority/), in the file", name, id.Leaf.Subject.CommonName, id.Leaf.Issuer.CommonName)
	}
	if kind == Application && csblob.TeamID(id.Leaf) == "" {
		return fmt.Errorf("%s: %q names no team (subject OU)", name, id.Leaf.Subject.CommonName)
	}
	return nil
}

// TeamIDOf is the Apple team a certificate belongs to (its subject OU),
// or "" if it is not one of Apple's developer certificates.
func TeamIDOf(c *x509.Certificate) string { return csblob.TeamID(c) }

// Timestamper is an RFC 3161 time-stamping client for one server:
// notarization requires a secure timestamp in every signature, Apple's
// server is http://timestamp.apple.com/ts01. (relic's own client brings
// metrics and caching Gatehouse does not need.)
type Timestamper struct {
	URL    string
	Client *http.Client
}

var _ pkcs9.Timestamper = Timestamper{}

// maxTimestampResponse bounds what a time-stamping server may send.
const maxTimestampResponse = 1 << 20

// Timestamp asks the server to stamp req's signature.
func (t Timestamper) Timestamp(ctx context.Context, req *pkcs9.Request) (*pkcs7.ContentInfoSignedData, error) {
	if req.Legacy {
		return nil, errors.New("timestamp: only RFC 3161 requests")
	}
	d := req.Hash.New()
	d.Write(req.EncryptedDigest)
	msg, hreq, err := pkcs9.NewRequest(t.URL, req.Hash, d.Sum(nil))
	if err != nil {
		return nil, fmt.Errorf("timestamp: %w", err)
	}
	client := t.Client
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(hreq.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("timestamp server %s: %w", t.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxTimestampResponse+1))
	if err != nil {
		return nil, fmt.Errorf("timestamp server %s: %w", t.URL, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("timestamp server %s: %s: %s", t.URL, resp.Status, bytes.TrimSpace(body[:min(len(body), 200)]))
	}
	if len(body) > maxTimestampResponse {
		return nil, fmt.Errorf("timestamp server %s: a response of more than %d bytes", t.URL, maxTimestampResponse)
	}
	tok, err := msg.ParseResponse(body)
	if err != nil {
		return nil, fmt.Errorf("timestamp server %s: %w", t.URL, err)
	}
	return tok, nil
}

// hashFor is the hash each signature uses.
var hashFor = crypto.SHA256
