package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"testing"
	"time"
)

// FuzzIssueClient feeds IssueClient arbitrary bytes as a CSR: it must never
// panic, and it may issue only for a CSR that parses, whose self-signature
// verifies and whose key is ECDSA P-256 or Ed25519, and then only for that
// key and the asked-for machine.
func FuzzIssueClient(f *testing.F) {
	a := newAuthority(f)
	good := newCSR(f, mustClientKey(f))
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	badSig := append([]byte(nil), good...)
	badSig[len(badSig)-1] ^= 1
	for _, seed := range [][]byte{good, newCSR(f, edKey), newCSR(f, rsaKey), newCSR(f, p384), badSig, good[:len(good)/2], nil} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, csrDER []byte) {
		der, err := a.IssueClient(csrDER, "m-1", time.Hour, testNow)
		if err != nil {
			return
		}
		csr, err := x509.ParseCertificateRequest(csrDER)
		if err != nil {
			t.Fatalf("issued for bytes that are not a CSR: %v", err)
		}
		if err := csr.CheckSignature(); err != nil {
			t.Fatalf("issued for a CSR whose signature does not verify: %v", err)
		}
		switch k := csr.PublicKey.(type) {
		case *ecdsa.PublicKey:
			if k.Curve != elliptic.P256() {
				t.Fatalf("issued for an ECDSA %s key", k.Curve.Params().Name)
			}
		case ed25519.PublicKey:
		default:
			t.Fatalf("issued for a %T key", csr.PublicKey)
		}
		cert, err := verifyClient(a.ClientCAs(), der, testNow)
		if err != nil {
			t.Fatalf("issued a certificate that does not verify: %v", err)
		}
		if !csr.PublicKey.(interface{ Equal(crypto.PublicKey) bool }).Equal(cert.PublicKey) {
			t.Fatal("issued for another key than the CSR's")
		}
		if id, err := MachineID(cert); err != nil || id != "m-1" {
			t.Fatalf("MachineID = %q, %v; want m-1", id, err)
		}
	})
}
