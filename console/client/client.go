// Package client is the endpoint's side of the console's API: enrollment
// (trusting the console on first contact through the CA hash in the
// enrollment token, then pinning its CA), and a client that speaks as the
// machine through the certificate the console issued — uploading requests
// and waiting for decisions, whose signatures it checks against the keys
// pinned at enrollment before handing them on. It never runs on the exec
// path; the sync service (next step) drives it.
package client

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/console/pki"
	"github.com/gatehouse/gatehouse/console/server"
	"github.com/gatehouse/gatehouse/console/signed"
)

// Identity is what a machine keeps after enrolling: its id, certificate and
// key, the console's CA and signing keys. Keep KeyPEM readable only by the
// sync service's account.
type Identity struct {
	MachineID   string              `json:"machine_id"`
	URL         string              `json:"url"`
	CertPEM     []byte              `json:"cert_pem"`
	KeyPEM      []byte              `json:"key_pem"`
	CAPEM       []byte              `json:"ca_pem"`
	SigningKeys []ed25519.PublicKey `json:"signing_keys"`
}

// Machine is what a machine tells the console about itself at enrollment.
type Machine struct {
	// Hostname is the name the console shows.
	Hostname string
	// OfflineName is the machine's name in its offline challenges (what
	// the user reads out; offline.MachineName of the host name), which
	// the console's response codes are bound to; empty: Hostname.
	OfflineName string
	// OfflineSecret is escrowed, for the help desk's response codes.
	OfflineSecret []byte
}

// Enroll enrolls this machine with the console at base (https://host:port)
// using token. The console's certificate is accepted only if it chains to
// the CA whose hash the token carries.
func Enroll(ctx context.Context, base, token string, m Machine) (Identity, error) {
	_, caHash, err := server.ParseEnrollToken(token)
	if err != nil {
		return Identity{}, err
	}
	key, err := pki.NewClientKey()
	if err != nil {
		return Identity{}, err
	}
	csr, err := pki.CSR(key, m.Hostname)
	if err != nil {
		return Identity{}, err
	}
	hc := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: firstContact(caHash)}}
	defer hc.CloseIdleConnections() // enrollment is one call: keep nothing open
	body, _ := json.Marshal(server.EnrollRequest{Token: token, CSR: csr, Hostname: m.Hostname, OfflineName: m.OfflineName, OfflineSecret: m.OfflineSecret})
	var resp server.EnrollResponse
	if err := call(ctx, hc, http.MethodPost, base+"/v1/enroll", body, &resp); err != nil {
		return Identity{}, fmt.Errorf("enroll with %s: %w", base, err)
	}
	if _, err := pki.PinCA(resp.CA, caHash); err != nil {
		return Identity{}, fmt.Errorf("enroll with %s: the CA it sent: %w", base, err)
	}
	keyPEM, err := pki.KeyPEM(key)
	if err != nil {
		return Identity{}, err
	}
	id := Identity{MachineID: resp.MachineID, URL: base, CertPEM: pki.CertPEM(resp.Certificate), KeyPEM: keyPEM, CAPEM: resp.CA}
	for _, k := range resp.SigningKeys {
		if len(k) != ed25519.PublicKeySize {
			return Identity{}, errors.New("enroll: the console sent a signing key that is not Ed25519")
		}
		id.SigningKeys = append(id.SigningKeys, ed25519.PublicKey(k))
	}
	return id, nil
}

// firstContact trusts the server only if its chain holds the CA with hash
// caHash and the server's certificate verifies against it.
func firstContact(caHash string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // verified below, against the pinned hash
		VerifyConnection: func(cs tls.ConnectionState) error {
			for _, c := range cs.PeerCertificates {
				if pki.CAHashOf(c) != caHash {
					continue
				}
				pool := x509.NewCertPool()
				pool.AddCert(c)
				_, err := cs.PeerCertificates[0].Verify(x509.VerifyOptions{Roots: pool, DNSName: cs.ServerName})
				return err
			}
			return errors.New("the console's certificate does not chain to the CA the enrollment token names: not the console that made the token")
		},
	}
}

// Client speaks to the console as an enrolled machine.
type Client struct {
	cert atomic.Pointer[tls.Certificate] // the machine's, for new connections (Use)
	http *http.Client

	mu   sync.Mutex
	id   Identity            // as enrolled, with the certificate Use took; its keys are keys
	keys []ed25519.PublicKey // the console's (adopt)
}

// New returns a client for id: TLS with the machine's certificate,
// trusting only the console's pinned CA.
func New(id Identity) (*Client, error) {
	cert, err := tls.X509KeyPair(id.CertPEM, id.KeyPEM)
	if err != nil {
		return nil, fmt.Errorf("the machine's certificate: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(id.CAPEM) {
		return nil, errors.New("the console's CA is not PEM")
	}
	c := &Client{id: id, keys: id.SigningKeys}
	c.cert.Store(&cert)
	tr := &http.Transport{TLSClientConfig: &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return c.cert.Load(), nil }}}
	c.http = &http.Client{Transport: tr}
	return c, nil
}

// Use makes the client present renewed's certificate (Renew's) from now
// on, on new connections; the ones open keep the old certificate, which is
// still valid, until they close.
func (c *Client) Use(renewed Identity) error {
	if renewed.MachineID != c.id.MachineID {
		return fmt.Errorf("the identity is machine %s's, not %s's", renewed.MachineID, c.id.MachineID)
	}
	cert, err := tls.X509KeyPair(renewed.CertPEM, renewed.KeyPEM)
	if err != nil {
		return fmt.Errorf("the renewed certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return fmt.Errorf("the renewed certificate: %w", err)
	}
	if m, err := pki.MachineID(leaf); err != nil || m != c.id.MachineID {
		return fmt.Errorf("the renewed certificate is not machine %s's (%q, %v)", c.id.MachineID, m, err)
	}
	c.mu.Lock()
	c.id.CertPEM, c.id.KeyPEM = renewed.CertPEM, renewed.KeyPEM
	c.mu.Unlock()
	c.cert.Store(&cert)
	c.http.CloseIdleConnections()
	return nil
}

// Expires is when the machine's certificate expires.
func (id Identity) Expires() (time.Time, error) {
	cert, err := tls.X509KeyPair(id.CertPEM, id.KeyPEM)
	if err != nil {
		return time.Time{}, err
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		return time.Time{}, err
	}
	return leaf.NotAfter, nil
}

// Renew gets the machine a new certificate for a new key, with the current
// one, and returns the identity to keep from now on (and to make a new
// Client with).
func (c *Client) Renew(ctx context.Context) (Identity, error) {
	key, err := pki.NewClientKey()
	if err != nil {
		return Identity{}, err
	}
	csr, err := pki.CSR(key, c.id.MachineID)
	if err != nil {
		return Identity{}, err
	}
	body, _ := json.Marshal(server.RenewRequest{CSR: csr})
	var resp server.EnrollResponse
	if err := call(ctx, c.http, http.MethodPost, c.id.URL+"/v1/endpoint/renew", body, &resp); err != nil {
		return Identity{}, fmt.Errorf("renew the machine's certificate: %w", err)
	}
	if resp.MachineID != c.id.MachineID {
		return Identity{}, fmt.Errorf("renew: the console answered for machine %s, not %s", resp.MachineID, c.id.MachineID)
	}
	keyPEM, err := pki.KeyPEM(key)
	if err != nil {
		return Identity{}, err
	}
	id := c.Identity()
	id.CertPEM, id.KeyPEM = pki.CertPEM(resp.Certificate), keyPEM
	return id, nil
}

// UploadRequest sends an approval request; repeating it is harmless.
func (c *Client) UploadRequest(ctx context.Context, r server.RequestUpload) (int64, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return 0, err
	}
	var out struct {
		ID int64 `json:"id"`
	}
	if err := call(ctx, c.http, http.MethodPost, c.id.URL+"/v1/endpoint/requests", body, &out); err != nil {
		return 0, fmt.Errorf("upload request %d: %w", r.EndpointID, err)
	}
	return out.ID, nil
}

// UploadEvents sends a batch of audit events; repeating it is harmless.
func (c *Client) UploadEvents(ctx context.Context, evs []server.EventWire) (int, error) {
	body, err := json.Marshal(server.EventUpload{Events: evs})
	if err != nil {
		return 0, err
	}
	var out struct {
		Stored int `json:"stored"`
	}
	if err := call(ctx, c.http, http.MethodPost, c.id.URL+"/v1/endpoint/events", body, &out); err != nil {
		return 0, fmt.Errorf("upload %d events: %w", len(evs), err)
	}
	return out.Stored, nil
}

// ReportVersions tells the console what the machine runs.
func (c *Client) ReportVersions(ctx context.Context, v server.VersionsReport) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var out struct {
		OK bool `json:"ok"`
	}
	if err := call(ctx, c.http, http.MethodPost, c.id.URL+"/v1/endpoint/versions", body, &out); err != nil {
		return fmt.Errorf("report versions: %w", err)
	}
	return nil
}

// Policy waits up to wait for a policy newer than have (the revision the
// machine runs, which the console records) and returns it, nil when none
// came. Its signature is checked here as gatehoused checks it again. keys
// is the console's new signing keys when the reply announced them (a
// rotation; adopted here first): hand them to gatehoused before the policy.
func (c *Client) Policy(ctx context.Context, have int64, wait time.Duration) (p *server.PolicyWire, keys *server.KeysWire, err error) {
	q := url.Values{"have": {strconv.FormatInt(have, 10)}, "wait": {wait.String()}}
	var out struct {
		Policy *server.PolicyWire `json:"policy"`
		Keys   *server.KeysWire   `json:"signing_keys"`
	}
	ctx, cancel := context.WithTimeout(ctx, wait+10*time.Second)
	defer cancel()
	if err := call(ctx, c.http, http.MethodGet, c.id.URL+"/v1/endpoint/policy?"+q.Encode(), nil, &out); err != nil {
		return nil, nil, fmt.Errorf("wait for a policy: %w", err)
	}
	if keys, err = c.adopt(out.Keys); err != nil {
		return nil, nil, err
	}
	if p := out.Policy; p != nil {
		if !signed.Verify(c.SigningKeys(), p.Signature, signed.KindPolicy, signed.PolicyFields(c.id.MachineID, p.Revision, sha256.Sum256(p.Body))...) {
			return nil, keys, fmt.Errorf("policy %s revision %d: %w", p.Name, p.Revision, ErrBadSignature)
		}
	}
	return out.Policy, keys, nil
}

// Identity is the client's identity as it is now: its certificate (after
// Use) and the console's keys (after a rotation), to keep for the next
// start.
func (c *Client) Identity() Identity {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.id
	id.SigningKeys = c.keys
	return id
}

// SigningKeys are the console keys the client verifies with: those pinned
// at enrollment, or those a rotation announced since.
func (c *Client) SigningKeys() []ed25519.PublicKey {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.keys
}

// adopt takes the keys a reply announced (nil: none) when they are signed
// by a key the client has (or are the ones it has) and returns them, every
// time a reply carries them: gatehoused takes them again as a no-op, and a
// hand-over that failed is done at the next reply.
func (c *Client) adopt(k *server.KeysWire) (*server.KeysWire, error) {
	if k == nil {
		return nil, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(k.Keys) == len(c.keys) && slices.EqualFunc(k.Keys, c.keys, func(a []byte, b ed25519.PublicKey) bool { return b.Equal(ed25519.PublicKey(a)) }) {
		return k, nil // taken already
	}
	if len(k.Keys) == 0 || !signed.Verify(c.keys, k.Signature, signed.KindSigningKeys, signed.SigningKeysFields(k.Keys)...) {
		return nil, fmt.Errorf("the console announced signing keys no key of this machine's signed (did it miss a whole rotation? enroll it again): %w", ErrBadSignature)
	}
	keys := make([]ed25519.PublicKey, 0, len(k.Keys))
	for _, b := range k.Keys {
		if len(b) != ed25519.PublicKeySize {
			return nil, errors.New("the console's new signing keys: one is not an Ed25519 key")
		}
		keys = append(keys, ed25519.PublicKey(b))
	}
	c.keys = keys
	return k, nil
}

// ErrBadSignature: a decision whose signature does not verify with the
// pinned keys (refused, never acted on).
var ErrBadSignature = errors.New("the signature does not verify with the console's pinned keys")

// Decisions waits up to wait for decisions after seq and returns them once
// their signatures verify. One that does not verify fails the whole call.
// keys is as Policy's: hand them to gatehoused before the decisions.
func (c *Client) Decisions(ctx context.Context, after int64, wait time.Duration) (ds []server.DecisionWire, keys *server.KeysWire, err error) {
	q := url.Values{"after": {strconv.FormatInt(after, 10)}, "wait": {wait.String()}}
	var out struct {
		Decisions []server.DecisionWire `json:"decisions"`
		Keys      *server.KeysWire      `json:"signing_keys"`
	}
	ctx, cancel := context.WithTimeout(ctx, wait+10*time.Second)
	defer cancel()
	if err := call(ctx, c.http, http.MethodGet, c.id.URL+"/v1/endpoint/decisions?"+q.Encode(), nil, &out); err != nil {
		return nil, nil, fmt.Errorf("wait for decisions: %w", err)
	}
	if keys, err = c.adopt(out.Keys); err != nil {
		return nil, nil, err
	}
	pinned := c.SigningKeys()
	for _, d := range out.Decisions {
		f := signed.DecisionFields(c.id.MachineID, d.EndpointID, d.Approve, d.WindowStart, d.WindowEnd, d.PolicyRevision)
		if !signed.Verify(pinned, d.Signature, signed.KindDecision, f...) {
			return nil, keys, fmt.Errorf("decision %d (request %d): %w", d.Seq, d.EndpointID, ErrBadSignature)
		}
	}
	return out.Decisions, keys, nil
}

// APIError is an error the console answered with.
type APIError struct {
	Status  int
	Message string
}

func (e *APIError) Error() string { return fmt.Sprintf("%s (HTTP %d)", e.Message, e.Status) }

func call(ctx context.Context, hc *http.Client, method, u string, body []byte, out any) error {
	var rd io.Reader // a nil *bytes.Reader would not be a nil io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&e)
		return &APIError{Status: resp.StatusCode, Message: e.Error}
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
