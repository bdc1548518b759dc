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

// KeysStatement is, during a rotation overlap, the console's keys (the new
// current one first, then the previous) signed by the previous one — the
// key endpoints enrolled before the rotation pinned — so that they can take
// the new key from the console through the untrusted sync
// (signed.KindSigningKeys). ok is false outside an overlap.
func (a *Authority) KeysStatement() (keys [][]byte, sig []byte, ok bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.old == nil {
		return nil, nil, false
	}
	keys = [][]byte{a.signing.Public().(ed25519.PublicKey), a.old.Public().(ed25519.PublicKey)}
	msg, err := signed.Message(signed.KindSigningKeys, signed.SigningKeysFields(keys)...)
	if err != nil {
		panic("pki.KeysStatement: " + err.Error())
	}
	return keys, ed25519.Sign(a.old, msg), true
}

// ReloadSigning takes the signing keys in files (Files' form, from the
// store another console node saved them to after a rotation); the CA must
// be this one's.
func (a *Authority) ReloadSigning(files map[string][]byte, where string) error {
	b, err := FromFiles(files, where)
	if err != nil {
		return err
	}
	if b.CAHash() != a.CAHash() {
		return fmt.Errorf("%s holds another CA's keys; refusing them", where)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.signing, a.old = b.signing, b.old
	return nil
}
