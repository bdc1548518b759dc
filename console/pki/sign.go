package pki

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
)

// signContext starts every signed message; bump the version if the encoding
// ever changes.
const signContext = "gatehouse-console-v1\x00"

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
	msg, err := message(kind, fields)
	if err != nil {
		panic("pki.Sign: " + err.Error())
	}
	a.mu.RLock()
	defer a.mu.RUnlock()
	return ed25519.Sign(a.signing, msg)
}

// Verify reports whether sig is a signature of kind and fields by any of
// keys. Keys of the wrong length are skipped.
func Verify(keys []ed25519.PublicKey, sig []byte, kind string, fields ...[]byte) bool {
	msg, err := message(kind, fields)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return false
	}
	for _, k := range keys {
		if len(k) == ed25519.PublicKeySize && ed25519.Verify(k, msg, sig) {
			return true
		}
	}
	return false
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

// message is the byte string that is signed for kind and fields.
func message(kind string, fields [][]byte) ([]byte, error) {
	if kind == "" || strings.IndexByte(kind, 0) >= 0 {
		return nil, fmt.Errorf("kind %q: want a non-empty kind without NUL bytes", kind)
	}
	n := len(signContext) + len(kind) + 1
	for _, f := range fields {
		if uint64(len(f)) > math.MaxUint32 {
			return nil, fmt.Errorf("field of %d bytes is longer than 4 GiB", len(f))
		}
		n += 4 + len(f)
	}
	msg := make([]byte, 0, n)
	msg = append(msg, signContext...)
	msg = append(msg, kind...)
	msg = append(msg, 0)
	for _, f := range fields {
		msg = binary.BigEndian.AppendUint32(msg, uint32(len(f)))
		msg = append(msg, f...)
	}
	return msg, nil
}
