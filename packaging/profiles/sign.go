package profiles

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"time"

	"github.com/sassoftware/relic/v8/lib/pkcs7"
)

// Signer signs profiles with a certificate and its private key: a signed
// .mobileconfig is CMS SignedData (RFC 5652), DER, with the XML inside
// (not detached) — what `security cms -S` makes on a Mac and macOS shows
// as "Verified" when it trusts the chain.
//
// The CMS is relic's lib/pkcs7 (already the project's, for code
// signatures: facts/codesign), used as relic's own Apple code signer uses
// it (lib/fruit/csblob/sign.go): SHA-256, signed attributes content type,
// message digest and signing time, the PEM file's certificates inside.
type Signer struct {
	certs []*x509.Certificate // the signer's first
	key   crypto.Signer
}

// LoadSigner reads a signer from PEM: certPEM holds the signing
// certificate and, optionally, the intermediates to ship with it; keyPEM
// its unencrypted private key (PKCS #8, PKCS #1 or SEC 1; RSA or ECDSA).
func LoadSigner(certPEM, keyPEM []byte) (*Signer, error) {
	var certs []*x509.Certificate
	for rest := certPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("signing certificate: %w", err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("signing certificate: no PEM CERTIFICATE block; give the certificate as PEM (openssl x509 -inform DER -in cert.cer -out cert.pem converts one)")
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, err
	}
	// The certificate of the key goes first (relic wants it there), the
	// rest as they came.
	for i, c := range certs {
		if pub, ok := c.PublicKey.(interface{ Equal(crypto.PublicKey) bool }); ok && pub.Equal(key.Public()) {
			certs[0], certs[i] = certs[i], certs[0]
			return &Signer{certs: certs, key: key}, nil
		}
	}
	return nil, fmt.Errorf("signing key: it is not the key of %q (nor of any certificate given with it); give the key and certificate of one identity", certs[0].Subject)
}

var errEncryptedKey = errors.New("signing key: encrypted; this command reads unencrypted keys only (openssl pkey -in key.pem -out plain.pem decrypts one; keep it on a machine you trust)")

func parseKey(keyPEM []byte) (crypto.Signer, error) {
	for rest := keyPEM; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return nil, errors.New("signing key: no PEM private key block (PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY)")
		}
		var k any
		var err error
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			if b.Headers["Proc-Type"] == "4,ENCRYPTED" {
				return nil, errEncryptedKey
			}
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			if b.Headers["Proc-Type"] == "4,ENCRYPTED" {
				return nil, errEncryptedKey
			}
			k, err = x509.ParseECPrivateKey(b.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errEncryptedKey
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("signing key: %w", err)
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		}
		return nil, fmt.Errorf("signing key: %T is not supported; give an RSA or ECDSA key", k)
	}
}

// Certificate is the signing certificate.
func (s *Signer) Certificate() *x509.Certificate { return s.certs[0] }

// Sign returns content (a profile's XML) wrapped in CMS SignedData, DER,
// signed at the time at (the signing-time attribute).
func (s *Signer) Sign(content []byte, at time.Time) ([]byte, error) {
	b := pkcs7.NewBuilder(s.key, s.certs, crypto.SHA256)
	if err := b.SetContentData(content); err != nil {
		return nil, fmt.Errorf("sign profile: %w", err)
	}
	if err := b.AddAuthenticatedAttribute(pkcs7.OidAttributeSigningTime, at.UTC()); err != nil {
		return nil, fmt.Errorf("sign profile: %w", err)
	}
	sd, err := b.Sign()
	if err != nil {
		return nil, fmt.Errorf("sign profile: %w", err)
	}
	der, err := sd.Marshal()
	if err != nil {
		return nil, fmt.Errorf("sign profile: %w", err)
	}
	return der, nil
}
