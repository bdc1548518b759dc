package profiles

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/scratch"
)

// identity is a throwaway signing identity: a CA and a leaf it issued.
type identity struct {
	caPEM, certPEM, keyPEM []byte
}

func newIdentity(t *testing.T, key crypto.Signer) identity {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Example Profile Signing CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ = x509.ParseCertificate(caDER)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Example IT profile signing", Organization: []string{"Example Corp"}},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageEmailProtection},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return identity{
		caPEM:   pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: leafDER}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
	}
}

// A signed profile is CMS SignedData that OpenSSL verifies (signature and
// digest, with -noverify; and the chain, given its throwaway CA) and whose
// content is the profile's XML, byte for byte; with RSA and ECDSA keys,
// and with the CA's certificate first in the PEM file. A changed byte of
// the content fails the check.
func TestProfileSignedVerifiesWithOpenSSL(t *testing.T) {
	tool, err := exec.LookPath("openssl")
	scratch.Need(t, err == nil, "openssl (Debian's openssl, which ca-certificates brings)")
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	files := gatehouseFiles(t, Config{TeamID: testTeam, Organization: "Example Corp"})
	xml := marshal(t, files[0].Profile)
	for _, tt := range []struct {
		name      string
		key       crypto.Signer
		caFirst   bool
		verbsArgs []string
	}{
		{"RSA, openssl smime", rsaKey, false, []string{"smime", "-verify"}},
		{"ECDSA, openssl cms", ecKey, false, []string{"cms", "-verify"}},
		{"RSA, the CA first in the PEM file", rsaKey, true, []string{"cms", "-verify"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := newIdentity(t, tt.key)
			certPEM := append(append([]byte(nil), id.certPEM...), id.caPEM...)
			if tt.caFirst {
				certPEM = append(append([]byte(nil), id.caPEM...), id.certPEM...)
			}
			s, err := LoadSigner(certPEM, id.keyPEM)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Certificate().Subject.CommonName; got != "Example IT profile signing" {
				t.Errorf("signing certificate %q, want the leaf", got)
			}
			der, err := s.Sign(xml, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			signed := filepath.Join(dir, "signed.mobileconfig")
			if err := os.WriteFile(signed, der, 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "content.xml")
			args := append(tt.verbsArgs, "-noverify", "-inform", "DER", "-in", signed, "-out", out)
			if b, err := exec.Command(tool, args...).CombinedOutput(); err != nil {
				t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, b)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, xml) {
				t.Errorf("the signed content is not the profile's XML:\n%s", got)
			}
			// And the chain, when its CA is trusted.
			caFile := filepath.Join(dir, "ca.pem")
			if err := os.WriteFile(caFile, id.caPEM, 0o644); err != nil {
				t.Fatal(err)
			}
			chain := []string{"cms", "-verify", "-inform", "DER", "-in", signed, "-CAfile", caFile, "-purpose", "any", "-out", os.DevNull}
			if b, err := exec.Command(tool, chain...).CombinedOutput(); err != nil {
				t.Errorf("openssl %s: %v\n%s", strings.Join(chain, " "), err, b)
			}

			i := bytes.Index(der, []byte("Gatehouse: privacy permissions"))
			if i < 0 {
				t.Fatal("the XML is not inside the SignedData")
			}
			tampered := append([]byte(nil), der...)
			tampered[i] = 'g'
			if err := os.WriteFile(signed, tampered, 0o644); err != nil {
				t.Fatal(err)
			}
			if b, err := exec.Command(tool, args...).CombinedOutput(); err == nil {
				t.Errorf("openssl verified a profile changed after signing:\n%s", b)
			}
		})
	}
}

// What cannot sign is refused, saying what to give instead.
func TestProfileSignerRefusesWhatCannotSign(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := newIdentity(t, ecKey)
	other := newIdentity(t, otherKey)
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPKCS8, err := x509.MarshalPKCS8PrivateKey(edKey)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name          string
		cert, key     []byte
		want          string
		wantSucceeded bool
	}{
		{"a SEC 1 EC key", id.certPEM, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: ecDER}), "", true},
		{"no certificate", id.keyPEM, id.keyPEM, "no PEM CERTIFICATE block", false},
		{"no key", id.certPEM, id.certPEM, "no PEM private key block", false},
		{"another identity's key", id.certPEM, other.keyPEM, "not the key of", false},
		{"an encrypted key", id.certPEM, pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}), "encrypted", false},
		{"an Ed25519 key", id.certPEM, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: edPKCS8}), "RSA or ECDSA", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadSigner(tt.cert, tt.key)
			if tt.wantSucceeded {
				if err != nil {
					t.Errorf("LoadSigner: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("LoadSigner = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
