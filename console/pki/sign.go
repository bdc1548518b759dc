package pki

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"

	"github.com/gatehouse/gatehouse/console/signed"
)

// SigningPublic is the current signing key's public half: what an endpoint
// pins at enrollment.
func (a *Authority) SigningPublic() ed25519.PublicKey {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.signing.Public().(ed25519.PublicKey)
}

// SigningPublics is the current public key and, during a rotation overlap,
// the previous one: what an endpoint should accept.
func (a *Authority) SigningPublics() []ed25519.PublicKey {
	a.mu.RLock()
	defer a.mu.RUnlock()
	keys := []ed25519.PublicKey{a.signing.Public().(ed25519.PublicKey)}
	if a.old != nil {
		keys = append(keys, a.old.Public().(ed25519.PublicKey))
	}
	return keys
}

// Sign signs kind and fields (see the package doc for the encoding) with the
// current key. Kinds are constants in the caller's code, so a kind that is
// empty or holds a NUL byte is a programming error and panics.
func (a *Authority) Sign(kind string, fields ...[]byte) []byte {
	msg, err := signed.Message(kind, fields...)
	if err != nil {
		panic("pki.Sign: " + err.Error())
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	return ed25519.Sign(a.signing, msg)
}

// Verify reports whether sig is a signature of kind and fields by any of
// keys (signed.Verify).
func Verify(keys []ed25519.PublicKey, sig []byte, kind string, fields ...[]byte) bool {
	return signed.Verify(keys, sig, kind, fields...)
}

// RotateSigning makes a new current signing key and keeps the previous one
// as old, so signatures by either verify with SigningPublics until
// DropOldSigning. One rotation at a time: dropping a key endpoints may still
// pin as their only one would cut them off, so rotating again during an
// overlap is an error.
func (a *Authority) RotateSigning() error {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("generate signing key: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.old != nil {
		return errors.New("a signing key rotation is still overlapping; call DropOldSigning once every endpoint has the new key, then rotate again")
	}
	a.old, a.signing = a.signing, k
	return nil
}

// DropOldSigning forgets the previous signing key, ending the overlap. Save
// to persist it.
func (a *Authority) DropOldSigning() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.old = nil
}
