package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

const clientLifetime = 90 * 24 * time.Hour

func mustClientKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := NewClientKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newCSR(t testing.TB, key crypto.Signer) []byte {
	t.Helper()
	der, err := CSR(key, "laptop-17")
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func issue(t testing.TB, a *Authority, csr []byte, id string) []byte {
	t.Helper()
	der, err := a.IssueClient(csr, id, clientLifetime, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func verifyClient(pool *x509.CertPool, der []byte, now time.Time) (*x509.Certificate, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	_, err = cert.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return cert, err
}

func TestServerCertVerifiesForItsNamesOnly(t *testing.T) {
	a := newAuthority(t)
	c, err := a.ServerCert([]string{"console.example", "127.0.0.1", "::1"}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Certificate) != 2 || c.Leaf == nil {
		t.Fatalf("chain has %d certificates (Leaf %v), want leaf and CA", len(c.Certificate), c.Leaf != nil)
	}
	roots := x509.NewCertPool()
	roots.AddCert(a.CACert())
	for _, tt := range []struct {
		name string
		want bool
	}{
		{"console.example", true},
		{"127.0.0.1", true},
		{"::1", true},
		{"other.example", false},
		{"sub.console.example", false},
		{"127.0.0.2", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: tt.name, Roots: roots, CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
			if got := err == nil; got != tt.want {
				t.Errorf("Verify for %s: err = %v, want ok %v", tt.name, err, tt.want)
			}
		})
	}
	if got, want := c.Leaf.NotAfter, testNow.Add(serverLifetime); !got.Equal(want) {
		t.Errorf("NotAfter = %v, want %v", got, want)
	}
	if _, err := c.Leaf.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}); err == nil {
		t.Error("the server certificate verifies as a client certificate")
	}
}

func TestServerCertRefusesBadNames(t *testing.T) {
	a := newAuthority(t)
	for _, names := range [][]string{nil, {""}, {"console.example", "http://x"}, {"a b"}} {
		if _, err := a.ServerCert(names, testNow); err == nil {
			t.Errorf("ServerCert(%q) succeeded", names)
		}
	}
}

func TestIssueClientCertVerifiesAsAClientAndCarriesTheMachineID(t *testing.T) {
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		key  crypto.Signer
	}{
		{"ECDSA P-256", mustClientKey(t)},
		{"Ed25519", edKey},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := newAuthority(t)
			const id = "0b6f3a2e-6f7c-4b59-9d3e-2c1f0a9b8c7d"
			cert, err := verifyClient(a.ClientCAs(), issue(t, a, newCSR(t, tt.key), id), testNow)
			if err != nil {
				t.Fatalf("client certificate does not verify: %v", err)
			}
			got, err := MachineID(cert)
			if err != nil || got != id {
				t.Errorf("MachineID = %q, %v; want %q", got, err, id)
			}
			if !tt.key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(cert.PublicKey) {
				t.Error("certificate key is not the CSR's key")
			}
			if got, want := cert.NotAfter, testNow.Add(clientLifetime); !got.Equal(want) {
				t.Errorf("NotAfter = %v, want %v", got, want)
			}
			if cert.SerialNumber.BitLen() > 128 || cert.SerialNumber.Sign() <= 0 {
				t.Errorf("serial %v is not a positive 128-bit number", cert.SerialNumber)
			}
			if _, err := cert.Verify(x509.VerifyOptions{Roots: a.ClientCAs(), CurrentTime: testNow, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
				t.Error("the client certificate verifies as a server certificate")
			}
		})
	}
}

func TestIssueClientIgnoresWhatTheCSRAsksFor(t *testing.T) {
	a := newAuthority(t)
	evil, _ := url.Parse("gatehouse:machine:someone-else")
	csr, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:     pkix.Name{CommonName: "someone-else", Organization: []string{"Gatehouse"}},
		DNSNames:    []string{"console.example"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		URIs:        []*url.URL{evil},
	}, mustClientKey(t))
	if err != nil {
		t.Fatal(err)
	}
	cert, err := verifyClient(a.ClientCAs(), issue(t, a, csr, "m-1"), testNow)
	if err != nil {
		t.Fatal(err)
	}
	type names struct {
		CN, URIs string
		DNS      []string
		IPs      []net.IP
		Org      []string
		IsCA     bool
	}
	got := names{CN: cert.Subject.CommonName, URIs: urisString(cert.URIs), DNS: cert.DNSNames, IPs: cert.IPAddresses, Org: cert.Subject.Organization, IsCA: cert.IsCA}
	want := names{CN: "m-1", URIs: "gatehouse:machine:m-1"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("issued names (-want +got):\n%s", d)
	}
}

func urisString(us []*url.URL) string {
	var s []string
	for _, u := range us {
		s = append(s, u.String())
	}
	return strings.Join(s, " ")
}

func TestIssueClientRefuses(t *testing.T) {
	a := newAuthority(t)
	good := newCSR(t, mustClientKey(t))
	badSig := append([]byte(nil), good...)
	badSig[len(badSig)-1] ^= 1 // inside the signature's s
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name     string
		csr      []byte
		id       string
		lifetime time.Duration
		want     string // in the error
	}{
		{"a CSR with a bad signature", badSig, "m-1", clientLifetime, "signature"},
		{"an RSA key", newCSR(t, rsaKey), "m-1", clientLifetime, "use ECDSA P-256 or Ed25519"},
		{"an ECDSA P-384 key", newCSR(t, p384), "m-1", clientLifetime, "P-384"},
		{"no CSR", nil, "m-1", clientLifetime, "parse"},
		{"garbage", []byte("-----BEGIN CERTIFICATE REQUEST-----"), "m-1", clientLifetime, "parse"},
		{"trailing data", append(append([]byte(nil), good...), 0), "m-1", clientLifetime, "parse"},
		{"a huge CSR", make([]byte, maxCSR+1), "m-1", clientLifetime, "more than"},
		{"an empty machine id", good, "", clientLifetime, "machine id"},
		{"a machine id with a colon", good, "m:1", clientLifetime, "machine id"},
		{"a machine id with a slash", good, "../m", clientLifetime, "machine id"},
		{"a too long machine id", good, strings.Repeat("a", maxMachineID+1), clientLifetime, "machine id"},
		{"a zero lifetime", good, "m-1", 0, "lifetime"},
		{"a negative lifetime", good, "m-1", -time.Hour, "lifetime"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			der, err := a.IssueClient(tt.csr, tt.id, tt.lifetime, testNow)
			if err == nil {
				t.Fatalf("IssueClient issued %d bytes", len(der))
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestClientCertsNeverOutliveTheCA(t *testing.T) {
	a := newAuthority(t)
	der, err := a.IssueClient(newCSR(t, mustClientKey(t)), "m-1", 20*365*24*time.Hour, testNow)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if !cert.NotAfter.Equal(a.CACert().NotAfter) {
		t.Errorf("NotAfter = %v, want the CA's %v", cert.NotAfter, a.CACert().NotAfter)
	}
	if _, err := a.IssueClient(newCSR(t, mustClientKey(t)), "m-1", time.Hour, a.CACert().NotAfter); err == nil {
		t.Error("an expired CA issued a certificate")
	}
}

func TestACertFromAnotherAuthorityDoesNotVerify(t *testing.T) {
	a, other := newAuthority(t), newAuthority(t)
	if a.CACert().Subject.CommonName == other.CACert().Subject.CommonName {
		t.Errorf("two authorities share the CA name %q", a.CACert().Subject.CommonName)
	}
	der := issue(t, other, newCSR(t, mustClientKey(t)), "m-1")
	if _, err := verifyClient(a.ClientCAs(), der, testNow); err == nil {
		t.Error("another authority's client certificate verifies against this one's pool")
	}
}

func TestMachineIDRefuses(t *testing.T) {
	a := newAuthority(t)
	u := func(s string) *url.URL {
		v, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tt := range []struct {
		name string
		cn   string
		uris []*url.URL
	}{
		{"no URI SAN", "m-1", nil},
		{"a URI of another scheme only", "m-1", []*url.URL{u("spiffe://gatehouse/machine/m-1")}},
		{"a CN that disagrees", "m-2", []*url.URL{machineURI("m-1")}},
		{"no CN", "", []*url.URL{machineURI("m-1")}},
		{"two machine URIs", "m-1", []*url.URL{machineURI("m-1"), machineURI("m-2")}},
		{"an empty id", "", []*url.URL{machineURI("")}},
		{"an id with a colon", "m:1", []*url.URL{machineURI("m:1")}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cert := signLeaf(t, a, tt.cn, tt.uris)
			if id, err := MachineID(cert); err == nil {
				t.Errorf("MachineID = %q, want an error", id)
			}
		})
	}
}

// signLeaf has a's CA sign a client certificate IssueClient would never
// make, so that MachineID's checks are tested on certificates that verify.
func signLeaf(t *testing.T, a *Authority, cn string, uris []*url.URL) *x509.Certificate {
	t.Helper()
	serial, err := randomSerial()
	if err != nil {
		t.Fatal(err)
	}
	key := mustClientKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn}, URIs: uris,
		NotBefore: testNow.Add(-time.Hour), NotAfter: testNow.Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, a.caCert, &key.PublicKey, a.caKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := verifyClient(a.ClientCAs(), der, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

func TestPinCAAcceptsOnlyTheCATheTokenNames(t *testing.T) {
	a, other := newAuthority(t), newAuthority(t)
	leaf := issue(t, a, newCSR(t, mustClientKey(t)), "m-1")
	for _, tt := range []struct {
		name string
		pem  []byte
		hash string
		want bool
	}{
		{"the CA and its hash", a.CAPEM(), a.CAHash(), true},
		{"the hash in upper case", a.CAPEM(), strings.ToUpper(a.CAHash()), true},
		{"another CA", other.CAPEM(), a.CAHash(), false},
		{"an empty hash", a.CAPEM(), "", false},
		{"not PEM", a.CACert().Raw, a.CAHash(), false},
		{"a leaf with its own hash", CertPEM(leaf), CAHashOf(mustParse(t, leaf)), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cert, err := PinCA(tt.pem, tt.hash)
			if got := err == nil; got != tt.want {
				t.Fatalf("PinCA: err = %v, want ok %v", err, tt.want)
			}
			if tt.want && !cert.Equal(a.CACert()) {
				t.Error("PinCA returned another certificate")
			}
		})
	}
}

func mustParse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
