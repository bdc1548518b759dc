package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"strings"
	"time"
)

const (
	caYears        = 10
	serverLifetime = 365 * 24 * time.Hour
	// backdate is how long before now a certificate starts, for peers whose
	// clock is a little behind.
	backdate = 5 * time.Minute
	// maxCSR bounds the CSR IssueClient parses; a P-256 or Ed25519 CSR is a
	// few hundred bytes.
	maxCSR = 8 << 10
	// maxMachineID bounds a machine id; a UUID is 36 characters.
	maxMachineID = 64

	machineScheme = "gatehouse"
	machinePrefix = "machine:"
)

// ServerCert issues a TLS server certificate (a fresh ECDSA P-256 key, 1
// year, ServerAuth) for names, each a DNS name or an IP address. The chain
// holds the leaf and the CA; Leaf is set.
func (a *Authority) ServerCert(names []string, now time.Time) (tls.Certificate, error) {
	if len(names) == 0 {
		return tls.Certificate{}, errors.New("server certificate: no names; give the DNS names or IP addresses endpoints use to reach the console")
	}
	var dns []string
	var ips []net.IP
	for _, n := range names {
		if ip := net.ParseIP(n); ip != nil {
			ips = append(ips, ip)
			continue
		}
		if n == "" || strings.ContainsAny(n, " /:\x00") {
			return tls.Certificate{}, fmt.Errorf("server certificate: %q is neither a DNS name nor an IP address", n)
		}
		dns = append(dns, n)
	}
	notAfter, err := a.notAfter(now, serverLifetime)
	if err != nil {
		return tls.Certificate{}, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate server key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: names[0]},
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              dns,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.caCert, &key.PublicKey, a.caKey)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create server certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("parse server certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der, a.caCert.Raw}, PrivateKey: key, Leaf: leaf}, nil
}

// IssueClient signs an endpoint's CSR (DER) for machineID, an id the server
// chose (letters, digits, '.', '_', '-'; at most 64). The certificate has CN
// machineID, the URI SAN "gatehouse:machine:<machineID>", ClientAuth, a
// random 128-bit serial and the given lifetime (cut at the CA's end). The
// CSR's self-signature must verify and its key must be ECDSA P-256 or
// Ed25519; its subject, SANs and extensions are ignored. The result is DER.
func (a *Authority) IssueClient(csrDER []byte, machineID string, lifetime time.Duration, now time.Time) ([]byte, error) {
	if err := checkMachineID(machineID); err != nil {
		return nil, err
	}
	if lifetime <= 0 {
		return nil, fmt.Errorf("client certificate lifetime %v: must be positive", lifetime)
	}
	if len(csrDER) > maxCSR {
		return nil, fmt.Errorf("certificate request is %d bytes, more than %d", len(csrDER), maxCSR)
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, fmt.Errorf("parse certificate request: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("certificate request signature does not verify: %w", err)
	}
	switch k := csr.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("certificate request key is ECDSA %s; use ECDSA P-256 or Ed25519", k.Curve.Params().Name)
		}
	case ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("certificate request key is %T; use ECDSA P-256 or Ed25519", csr.PublicKey)
	}
	notAfter, err := a.notAfter(now, lifetime)
	if err != nil {
		return nil, err
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: machineID},
		NotBefore:             now.Add(-backdate),
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
		URIs:                  []*url.URL{machineURI(machineID)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.caCert, csr.PublicKey, a.caKey)
	if err != nil {
		return nil, fmt.Errorf("create client certificate: %w", err)
	}
	return der, nil
}

// MachineID is the machine id in a client certificate: its one
// "gatehouse:machine:<id>" URI SAN, which the CN must repeat. It does not
// verify cert; pass one the TLS stack verified against ClientCAs.
func MachineID(cert *x509.Certificate) (string, error) {
	var ids []string
	for _, u := range cert.URIs {
		if u.Scheme == machineScheme && strings.HasPrefix(u.Opaque, machinePrefix) {
			ids = append(ids, strings.TrimPrefix(u.Opaque, machinePrefix))
		}
	}
	switch len(ids) {
	case 0:
		return "", errors.New("client certificate has no gatehouse:machine URI; it was not issued by the console, re-enroll the endpoint")
	case 1:
	default:
		return "", fmt.Errorf("client certificate names %d machines, want one", len(ids))
	}
	id := ids[0]
	if err := checkMachineID(id); err != nil {
		return "", fmt.Errorf("client certificate: %w", err)
	}
	if cert.Subject.CommonName != id {
		return "", fmt.Errorf("client certificate CN %q disagrees with its machine id %q", cert.Subject.CommonName, id)
	}
	return id, nil
}

// NewClientKey makes an endpoint's key: ECDSA P-256.
func NewClientKey() (*ecdsa.PrivateKey, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate client key: %w", err)
	}
	return k, nil
}

// CSR makes a certificate request (DER) for key, an ECDSA P-256 or Ed25519
// key. machineHint (a host name, say) goes in the CN for the operator's eyes
// only: the console names the machine itself.
func CSR(key crypto.Signer, machineHint string) ([]byte, error) {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: pkix.Name{CommonName: machineHint}}, key)
	if err != nil {
		return nil, fmt.Errorf("create certificate request: %w", err)
	}
	return der, nil
}

// PinCA parses the PEM CA certificate an endpoint is given on first contact
// and accepts it only if its CAHashOf equals wantHash from the enrollment
// token (case does not matter).
func PinCA(caPEM []byte, wantHash string) (*x509.Certificate, error) {
	b, _ := pem.Decode(caPEM)
	if b == nil || b.Type != "CERTIFICATE" {
		return nil, errors.New("console CA: no PEM CERTIFICATE block")
	}
	cert, err := x509.ParseCertificate(b.Bytes)
	if err != nil {
		return nil, fmt.Errorf("console CA: %w", err)
	}
	if got := CAHashOf(cert); !strings.EqualFold(got, wantHash) {
		return nil, fmt.Errorf("console CA hash is %s, the enrollment token says %s; check the console address and the token", got, wantHash)
	}
	if !cert.IsCA {
		return nil, errors.New("console CA: the pinned certificate is not a CA")
	}
	return cert, nil
}

// KeyPEM encodes a private key as PKCS#8 PEM ("PRIVATE KEY"), which
// tls.X509KeyPair reads.
func KeyPEM(key crypto.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// CertPEM encodes a DER certificate as PEM.
func CertPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func machineURI(id string) *url.URL {
	return &url.URL{Scheme: machineScheme, Opaque: machinePrefix + id}
}

func checkMachineID(id string) error {
	if id == "" || len(id) > maxMachineID {
		return fmt.Errorf("machine id %q: want 1 to %d characters", id, maxMachineID)
	}
	for _, c := range id {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("machine id %q: only letters, digits, '.', '_' and '-' are allowed", id)
		}
	}
	return nil
}

// notAfter is now+lifetime, cut at the CA's end.
func (a *Authority) notAfter(now time.Time, lifetime time.Duration) (time.Time, error) {
	if !now.Before(a.caCert.NotAfter) {
		return time.Time{}, fmt.Errorf("console CA %q expired on %s; a new CA means re-enrolling every endpoint", a.caCert.Subject.CommonName, a.caCert.NotAfter.Format(time.DateOnly))
	}
	end := now.Add(lifetime)
	if end.After(a.caCert.NotAfter) {
		end = a.caCert.NotAfter
	}
	return end, nil
}

// randomSerial is a random positive 128-bit serial number.
func randomSerial() (*big.Int, error) {
	b := make([]byte, 16)
	for {
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("serial number: %w", err)
		}
		if n := new(big.Int).SetBytes(b); n.Sign() > 0 {
			return n, nil
		}
	}
}

// ConfiguredServerCert is cert (a server certificate an administrator
// configured, its chain after it) ready to serve: machines pin the
// console's CA, so it must chain to it, for TLS servers, and be valid at
// now; the CA is added to the chain when missing, for a machine's first
// contact checks the chain for the CA its token names.
func (a *Authority) ConfiguredServerCert(cert tls.Certificate, now time.Time) (tls.Certificate, error) {
	if len(cert.Certificate) == 0 {
		return cert, errors.New("the server certificate file holds no certificate")
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return cert, fmt.Errorf("the server certificate: %w", err)
	}
	inter := x509.NewCertPool()
	hasCA := false
	for _, der := range cert.Certificate[1:] {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			return cert, fmt.Errorf("the server certificate's chain: %w", err)
		}
		hasCA = hasCA || c.Equal(a.caCert)
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: a.ClientCAs(), Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
		return cert, fmt.Errorf("the server certificate does not chain to the console's CA (sha256 %s), which machines pin: %w", a.CAHash(), err)
	}
	if !hasCA {
		cert.Certificate = append(cert.Certificate, a.caCert.Raw)
	}
	cert.Leaf = leaf
	return cert, nil
}
