package pki

import (
	"bufio"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"
)

// TestTLSHandshake runs the console's mutual TLS over a loopback socket: the
// server asks for and verifies a client certificate from its CA, the client
// trusts only the pinned CA.
func TestTLSHandshake(t *testing.T) {
	now := time.Now()
	console, err := Create(now)
	if err != nil {
		t.Fatal(err)
	}
	other, err := Create(now)
	if err != nil {
		t.Fatal(err)
	}
	serverCert, err := console.ServerCert([]string{"console.test", "127.0.0.1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	serverConf := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{serverCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    console.ClientCAs(),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })

	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	enrolled := func(a *Authority, key crypto.Signer, id string) []tls.Certificate {
		der, err := a.IssueClient(newCSR(t, key), id, time.Hour, now)
		if err != nil {
			t.Fatal(err)
		}
		keyPEM, err := KeyPEM(key)
		if err != nil {
			t.Fatal(err)
		}
		// What an endpoint stores and loads back.
		c, err := tls.X509KeyPair(CertPEM(der), keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		return []tls.Certificate{c}
	}
	pinned := func(a *Authority) *x509.CertPool {
		ca, err := PinCA(a.CAPEM(), a.CAHash())
		if err != nil {
			t.Fatal(err)
		}
		p := x509.NewCertPool()
		p.AddCert(ca)
		return p
	}

	for _, tt := range []struct {
		name       string
		certs      []tls.Certificate
		roots      *x509.CertPool
		wantID     string // "" when the handshake must fail
		clientFail string // in the client's error, for a failure the client detects
	}{
		{name: "an enrolled ECDSA endpoint", certs: enrolled(console, mustClientKey(t), "m-ecdsa"), roots: pinned(console), wantID: "m-ecdsa"},
		{name: "an enrolled Ed25519 endpoint", certs: enrolled(console, edKey, "m-ed25519"), roots: pinned(console), wantID: "m-ed25519"},
		{name: "a client certificate from another authority", certs: enrolled(other, mustClientKey(t), "m-1"), roots: pinned(console)},
		{name: "no client certificate", roots: pinned(console)},
		{name: "a client pinning another CA", certs: enrolled(console, mustClientKey(t), "m-1"), roots: pinned(other), clientFail: "certificate signed by unknown authority"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			type result struct {
				id  string
				err error
			}
			served := make(chan result, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					served <- result{err: err}
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				tc := tls.Server(c, serverConf)
				if err := tc.Handshake(); err != nil {
					served <- result{err: err}
					return
				}
				id, err := MachineID(tc.ConnectionState().PeerCertificates[0])
				if err == nil {
					_, err = tc.Write([]byte(id + "\n"))
				}
				served <- result{id, err}
			}()

			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			tc := tls.Client(c, &tls.Config{
				MinVersion:   tls.VersionTLS13,
				ServerName:   "127.0.0.1",
				RootCAs:      tt.roots,
				Certificates: tt.certs,
			})
			// Under TLS 1.3 the client finishes its handshake before the
			// server has judged its certificate; a refusal shows on reading.
			clientErr := tc.Handshake()
			var line string
			if clientErr == nil {
				line, clientErr = bufio.NewReader(tc).ReadString('\n')
			}
			tc.Close()
			got := <-served

			if tt.wantID != "" {
				if got.err != nil || clientErr != nil {
					t.Fatalf("server: %v; client: %v; want a connection", got.err, clientErr)
				}
				if got.id != tt.wantID || line != tt.wantID+"\n" {
					t.Errorf("server saw machine %q, client read %q; want %q", got.id, line, tt.wantID)
				}
				return
			}
			if got.err == nil || clientErr == nil {
				t.Fatalf("server: %v (machine %q); client: %v; want both to fail", got.err, got.id, clientErr)
			}
			if tt.clientFail != "" && !strings.Contains(clientErr.Error(), tt.clientFail) {
				t.Errorf("client error %q does not say %q", clientErr, tt.clientFail)
			}
		})
	}
}
