// Package signed is what the console signs and endpoints verify: the
// byte string of a signed message (domain-separated, each field
// length-prefixed), the fields of a decision, and verification with the
// Ed25519 keys an endpoint pinned at enrollment. It is a leaf (standard
// library only) so that gatehoused can verify what the untrusted sync
// service carries without linking the console's server or its TLS code.
package signed

import (
	"crypto/ed25519"
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"time"
)

// context starts every signed message; bump the version if the encoding
// ever changes.
const context = "gatehouse-console-v1\x00"

// Kinds of signed message.
const (
	KindDecision = "decision"
	KindPolicy   = "policy"
	// KindSigningKeys: the console's signing keys from now on, signed by
	// the key being replaced (a rotation), so that an endpoint that pinned
	// that key takes the new one from no one but the console.
	KindSigningKeys = "signing-keys"
)

// Message is the byte string signed for kind and fields:
// "gatehouse-console-v1\x00" + kind + "\x00" + each field as a big-endian
// uint32 length and its bytes, so ("a","bc") and ("ab","c") differ. A kind
// that is empty or holds a NUL byte is refused.
func Message(kind string, fields ...[]byte) ([]byte, error) {
	if kind == "" || strings.IndexByte(kind, 0) >= 0 {
		return nil, fmt.Errorf("kind %q: want a non-empty kind without NUL bytes", kind)
	}
	n := len(context) + len(kind) + 1
	for _, f := range fields {
		if uint64(len(f)) > math.MaxUint32 {
			return nil, fmt.Errorf("field of %d bytes is longer than 4 GiB", len(f))
		}
		n += 4 + len(f)
	}
	msg := make([]byte, 0, n)
	msg = append(msg, context...)
	msg = append(msg, kind...)
	msg = append(msg, 0)
	for _, f := range fields {
		msg = binary.BigEndian.AppendUint32(msg, uint32(len(f)))
		msg = append(msg, f...)
	}
	return msg, nil
}

// Verify reports whether sig is a signature of kind and fields by any of
// keys. Keys of the wrong length are skipped.
func Verify(keys []ed25519.PublicKey, sig []byte, kind string, fields ...[]byte) bool {
	msg, err := Message(kind, fields...)
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

// DecisionFields are what the console signs of a decision: bound to the
// machine, the request's id on it, the verdict, the window (Unix seconds;
// the zero time as 0) and the policy revision the request was made under.
func DecisionFields(machine string, requestID int64, approve bool, windowStart, windowEnd time.Time, revision int64) [][]byte {
	i64 := func(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }
	unix := func(t time.Time) []byte {
		if t.IsZero() {
			return i64(0)
		}
		return i64(t.Unix())
	}
	verdict := []byte{0}
	if approve {
		verdict[0] = 1
	}
	return [][]byte{[]byte(machine), i64(requestID), verdict, unix(windowStart), unix(windowEnd), i64(revision)}
}

// PolicyFields are what the console signs of a policy it sends a machine:
// bound to the machine, the revision and the policy's SHA-256, so that a
// policy meant for other machines cannot be handed to this one.
func PolicyFields(machine string, revision int64, sum [32]byte) [][]byte {
	return [][]byte{[]byte(machine), binary.BigEndian.AppendUint64(nil, uint64(revision)), sum[:]}
}

// SigningKeysFields are what the console signs of its keys during a
// rotation: each public key, current first. The fields are the keys
// themselves, so a statement lists exactly the keys it names.
func SigningKeysFields(keys [][]byte) [][]byte { return keys }
