// Package pki holds the Gatehouse console's keys and certificates: the CA
// that issues the console's TLS server certificate and the endpoints' client
// certificates, and the Ed25519 key that signs decisions and policies. It
// also has the few helpers an endpoint needs to enroll (NewClientKey, CSR,
// PinCA). It does no networking and reads no clock: callers pass now.
//
// What is pinned where:
//
//   - An enrollment token carries CAHash, the hex SHA-256 of the CA
//     certificate's DER. On first contact the endpoint checks the CA
//     certificate it is given against that hash (PinCA) and from then on
//     trusts only that certificate for its TLS connection to the console, never
//     the system roots.
//   - At enrollment the endpoint also stores SigningPublics. Decisions and
//     policies reach it through the sync service, which is not trusted: the
//     endpoint accepts them only with a valid signature (Verify) from a pinned
//     key. A new signing key (RotateSigning) reaches endpoints through the
//     sync too, but only as KeysStatement: the keys signed by the previous
//     key, the one they pinned.
//   - The console accepts client certificates from its own CA only
//     (ClientCAs). An endpoint's identity is the machine id the server chose
//     at issue time, carried as the URI SAN "gatehouse:machine:<id>" with the
//     same id as CN (MachineID). From a CSR the console takes the public key
//     and the proof that the endpoint holds its private key, nothing else: the
//     subject, SANs and extensions a CSR asks for are ignored.
//   - There is no revocation here (no CRL, no OCSP). Client certificates are
//     short-lived and the server must check the machine id against its own
//     records on every connection.
//
// Key types: the CA and the server certificate use ECDSA P-256, which every
// TLS stack speaks. Signing decisions and policies uses Ed25519: its
// signatures are deterministic (no per-signature nonce to get wrong), small
// and fast, and the choice is ours alone because no TLS peer sees them.
// Endpoint keys may be ECDSA P-256 or Ed25519; RSA and other curves are
// refused, so there is no key size to police.
//
// Lifetimes: the CA 10 years, the server certificate 1 year (cheap to
// reissue, so a server may issue one at every start), a client certificate
// as long as the caller says. No certificate outlives the CA. Every
// certificate starts 5 minutes before now so that a peer whose clock is a
// little behind accepts a fresh one.
//
// Files, in one directory (Save, Load): ca.pem (the CA certificate, 0644),
// ca-key.pem (its PKCS#8 key, 0600), signing-key.pem (the current Ed25519
// PKCS#8 key, 0600) and, during a rotation overlap, signing-key.old.pem (the
// previous one, 0600). Each file is replaced atomically. Files and
// FromFiles carry the same files where there is no directory (a console on
// PostgreSQL keeps them in its database for every node). A CA is never
// regenerated silently: LoadOrCreate creates one only in a directory that
// holds none of these files, and Save refuses to replace a different CA.
//
// Signed messages are domain separated and unambiguous:
//
//	"gatehouse-console-v1\x00" + kind + "\x00" + for each field: uint32 big-endian length + bytes
//
// so a signature for one kind ("decision", "policy") never verifies as
// another, and ("a", "bc") differs from ("ab", "c"). A kind is not empty and
// has no NUL byte.
//
// An Authority is safe for concurrent use.
package pki

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// File names inside an authority's directory.
const (
	caFile         = "ca.pem"
	caKeyFile      = "ca-key.pem"
	signingFile    = "signing-key.pem"
	oldSigningFile = "signing-key.old.pem"
)

// Authority is the console's CA (ECDSA P-256, self-signed, 10 years) plus
// the Ed25519 key that signs decisions and policies, and during a rotation
// overlap the previous signing key.
type Authority struct {
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey

	mu      sync.RWMutex
	signing ed25519.PrivateKey
	old     ed25519.PrivateKey // nil outside a rotation overlap
}

// Create makes a new authority: a CA named "Gatehouse Console CA <random
// suffix>" (so two consoles' CAs are told apart by name as well as by hash)
// and a fresh signing key.
func Create(now time.Time) (*Authority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	suffix := make([]byte, 4)
	rand.Read(suffix) // never fails (crypto/rand)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"Gatehouse"}, CommonName: "Gatehouse Console CA " + hex.EncodeToString(suffix)},
		NotBefore:             now.Add(-backdate),
		NotAfter:              now.AddDate(caYears, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true, // the CA signs leaves only
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	_, signing, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	return &Authority{caCert: cert, caKey: key, signing: signing}, nil
}

// Load reads an authority saved by Save. Every file but signing-key.old.pem
// must be present; an error for a missing file names it.
func Load(dir string) (*Authority, error) {
	files := map[string][]byte{}
	for _, name := range []string{caFile, caKeyFile, signingFile, oldSigningFile} {
		path := filepath.Join(dir, name)
		b, err := os.ReadFile(path)
		switch {
		case errors.Is(err, fs.ErrNotExist) && name == oldSigningFile:
			continue
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("console PKI in %s is incomplete: %s is missing; restore it from backup (a new CA would mean re-enrolling every endpoint, so none is made here): %w", dir, name, err)
		case err != nil:
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
		files[name] = b
	}
	return FromFiles(files, dir)
}

// Files is the authority as the files Save writes, by name: for a
// console that keeps it elsewhere than in a directory (its database, which
// several console nodes share).
func (a *Authority) Files() (map[string][]byte, error) {
	a.mu.RLock()
	signing, old := a.signing, a.old
	a.mu.RUnlock()
	files := map[string][]byte{caFile: a.CAPEM()}
	var err error
	if files[caKeyFile], err = KeyPEM(a.caKey); err != nil {
		return nil, err
	}
	if files[signingFile], err = KeyPEM(signing); err != nil {
		return nil, err
	}
	if old != nil {
		if files[oldSigningFile], err = KeyPEM(old); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// FromFiles is the authority in files, as Files gives them; where says in
// errors where they came from. Every file but signing-key.old.pem must be
// present.
func FromFiles(files map[string][]byte, where string) (*Authority, error) {
	in := fileSet{files: files, where: where}
	a := &Authority{}
	der, err := in.pem(caFile, "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	if a.caCert, err = x509.ParseCertificate(der); err != nil {
		return nil, fmt.Errorf("parse %s: %w", in.path(caFile), err)
	}
	if !a.caCert.IsCA {
		return nil, fmt.Errorf("%s is not a CA certificate", in.path(caFile))
	}
	key, err := in.key(caKeyFile)
	if err != nil {
		return nil, err
	}
	ecKey, ok := key.(*ecdsa.PrivateKey)
	if !ok || ecKey.Curve != elliptic.P256() {
		return nil, fmt.Errorf("%s holds a %T, want an ECDSA P-256 key", in.path(caKeyFile), key)
	}
	if !ecKey.PublicKey.Equal(a.caCert.PublicKey) {
		return nil, fmt.Errorf("%s is not the key of the CA in %s; restore the matching pair from backup", in.path(caKeyFile), caFile)
	}
	a.caKey = ecKey
	if a.signing, err = in.signingKey(signingFile); err != nil {
		return nil, err
	}
	if _, ok := files[oldSigningFile]; ok {
		if a.old, err = in.signingKey(oldSigningFile); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// LoadOrCreate loads the authority in dir, or creates and saves one when dir
// holds none of its files (created is then true). A directory with some but
// not all of the files is an error naming the missing one: regenerating the
// CA would strand every enrolled endpoint, so that is left to a person.
func LoadOrCreate(dir string, now time.Time) (a *Authority, created bool, err error) {
	found := false
	for _, name := range []string{caFile, caKeyFile, signingFile, oldSigningFile} {
		_, err := os.Stat(filepath.Join(dir, name))
		if err == nil {
			found = true
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, false, fmt.Errorf("console PKI: %w", err)
		}
	}
	if found {
		a, err := Load(dir)
		return a, false, err
	}
	if a, err = Create(now); err != nil {
		return nil, false, err
	}
	if err := a.Save(dir); err != nil {
		return nil, false, err
	}
	return a, true, nil
}

// ImportCA makes an authority from an administrator's own CA (its
// certificate and key, PEM; ECDSA P-256) with a new signing key, and saves
// it in dir, which must hold no authority yet: an authority in use is
// never replaced (its machines pin its CA and signing key). An import of
// the CA dir already holds loads it.
func ImportCA(dir string, caPEM, keyPEM []byte) (*Authority, error) {
	if have, err := Load(dir); err == nil {
		if b, _ := pem.Decode(caPEM); b != nil && bytes.Equal(b.Bytes, have.caCert.Raw) {
			return have, nil
		}
		return nil, fmt.Errorf("%s holds another CA already, which enrolled machines pin; the CA given is not imported", dir)
	}
	for _, name := range []string{caFile, caKeyFile, signingFile, oldSigningFile} {
		if _, err := os.Stat(filepath.Join(dir, name)); err == nil {
			return nil, fmt.Errorf("%s holds part of an authority (%s): restore it from backup rather than importing a CA over it", dir, name)
		}
	}
	a, err := FromCA(caPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return a, a.Save(dir)
}

// FromCA is an authority with an administrator's own CA (its certificate
// and key, PEM; ECDSA P-256) and a new signing key.
func FromCA(caPEM, keyPEM []byte) (*Authority, error) {
	_, signing, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate signing key: %w", err)
	}
	sk, err := KeyPEM(signing)
	if err != nil {
		return nil, err
	}
	return FromFiles(map[string][]byte{caFile: caPEM, caKeyFile: keyPEM, signingFile: sk}, "the CA given")
}

// Save writes the authority to dir, creating dir (0700) if needed. Keys are
// 0600, the certificate 0644; each file is replaced atomically. Without an
// old signing key a stale signing-key.old.pem is removed, so DropOldSigning
// persists. Save refuses a dir that holds a different CA.
//
// After RotateSigning, Save before handing the new public key out: the old
// key is written first, so a crash in between leaves the old key current.
func (a *Authority) Save(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create console PKI directory: %w", err)
	}
	caPath := filepath.Join(dir, caFile)
	if existing, err := os.ReadFile(caPath); err == nil {
		if b, _ := pem.Decode(existing); b == nil || !bytes.Equal(b.Bytes, a.caCert.Raw) {
			return fmt.Errorf("%s holds a different CA; refusing to replace it (move the directory away first if a new CA is really meant, and re-enroll every endpoint)", caPath)
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("read %s: %w", caPath, err)
	}

	files, err := a.Files()
	if err != nil {
		return err
	}
	if err := writeAtomic(dir, caKeyFile, files[caKeyFile], 0o600); err != nil {
		return err
	}
	if old, ok := files[oldSigningFile]; ok {
		if err := writeAtomic(dir, oldSigningFile, old, 0o600); err != nil {
			return err
		}
	}
	if err := writeAtomic(dir, signingFile, files[signingFile], 0o600); err != nil {
		return err
	}
	if _, ok := files[oldSigningFile]; !ok {
		if err := os.Remove(filepath.Join(dir, oldSigningFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove old signing key: %w", err)
		}
	}
	// The certificate last: a first Save cut short leaves no ca.pem, which
	// LoadOrCreate reports rather than mistaking for an empty directory.
	if err := writeAtomic(dir, caFile, files[caFile], 0o644); err != nil {
		return err
	}
	return syncDir(dir)
}

// CACert is the CA certificate. Callers must not modify it.
func (a *Authority) CACert() *x509.Certificate { return a.caCert }

// CAPEM is the CA certificate in PEM.
func (a *Authority) CAPEM() []byte { return CertPEM(a.caCert.Raw) }

// CAHash is the hex SHA-256 of the CA certificate's DER: what an enrollment
// token carries so that the endpoint can pin the CA on first contact.
func (a *Authority) CAHash() string { return CAHashOf(a.caCert) }

// CAHashOf is the hex SHA-256 of cert's DER, in lower case.
func CAHashOf(cert *x509.Certificate) string {
	sum := sha256.Sum256(cert.Raw)
	return hex.EncodeToString(sum[:])
}

// ClientCAs is the pool for tls.Config.ClientCAs: this CA only.
func (a *Authority) ClientCAs() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(a.caCert)
	return p
}

// fileSet is an authority's files, read from where.
type fileSet struct {
	files map[string][]byte
	where string
}

func (f fileSet) path(name string) string { return filepath.Join(f.where, name) }

func (f fileSet) pem(name, typ string) ([]byte, error) {
	b, ok := f.files[name]
	if !ok {
		return nil, fmt.Errorf("console PKI in %s is incomplete: %s is missing; restore it from backup (a new CA would mean re-enrolling every endpoint, so none is made here)", f.where, name)
	}
	block, _ := pem.Decode(b)
	if block == nil || block.Type != typ {
		return nil, fmt.Errorf("%s: no PEM %q block", f.path(name), typ)
	}
	return block.Bytes, nil
}

func (f fileSet) key(name string) (any, error) {
	der, err := f.pem(name, "PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	key, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", f.path(name), err)
	}
	return key, nil
}

func (f fileSet) signingKey(name string) (ed25519.PrivateKey, error) {
	key, err := f.key(name)
	if err != nil {
		return nil, err
	}
	k, ok := key.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s holds a %T, want an Ed25519 key", f.path(name), key)
	}
	return k, nil
}

// writeAtomic replaces dir/name with data: a temporary file in dir, synced,
// then renamed over the old one, so a reader sees the old file or the new.
func writeAtomic(dir, name string, data []byte, perm os.FileMode) (err error) {
	f, err := os.CreateTemp(dir, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(f.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
