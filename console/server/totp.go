package server

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// A second factor for local accounts: time-based one-time codes (RFC 6238:
// HMAC-SHA1, 30-second steps, 6 digits), what every authenticator app
// speaks. A code is taken one step either side of now, once.

const totpStep = 30 * time.Second

var totpEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret is a new secret (160 bits, base32) and the otpauth:// URI
// an authenticator app takes it from.
func NewTOTPSecret(user string) (secret, uri string) {
	b := make([]byte, 20)
	rand.Read(b)
	secret = totpEncoding.EncodeToString(b)
	q := url.Values{"secret": {secret}, "issuer": {"Gatehouse"}, "algorithm": {"SHA1"}, "digits": {"6"}, "period": {"30"}}
	return secret, (&url.URL{Scheme: "otpauth", Host: "totp", Path: "/Gatehouse:" + user, RawQuery: q.Encode()}).String()
}

// totpCode is the code of secret's key for time step n.
func totpCode(key []byte, n uint64) string {
	m := hmac.New(sha1.New, key)
	m.Write(binary.BigEndian.AppendUint64(nil, n))
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	v := binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1_000_000)
}

// checkTOTP returns the time step typed is the code of (one step either
// side of now), and whether it is one; spaces are ignored. A step not
// after used (the last one taken) is refused: a code works once.
func checkTOTP(secret, typed string, now time.Time, used int64) (int64, bool) {
	key, err := totpEncoding.DecodeString(strings.ToUpper(strings.TrimSpace(secret)))
	if err != nil || len(key) == 0 {
		return 0, false
	}
	typed = strings.ReplaceAll(typed, " ", "")
	if len(typed) != 6 {
		return 0, false
	}
	step := now.Unix() / int64(totpStep/time.Second)
	for _, n := range []int64{step - 1, step, step + 1} {
		if n > used && subtle.ConstantTimeCompare([]byte(totpCode(key, uint64(n))), []byte(typed)) == 1 {
			return n, true
		}
	}
	return 0, false
}

// TOTPCode is the code an authenticator app shows for secret at t (to
// check an app's setup; tests sign in with it).
func TOTPCode(secret string, t time.Time) (string, error) {
	key, err := totpEncoding.DecodeString(strings.ToUpper(strings.TrimSpace(secret)))
	if err != nil || len(key) == 0 {
		return "", fmt.Errorf("the one-time-code secret is not base32: %v", err)
	}
	return totpCode(key, uint64(t.Unix()/int64(totpStep/time.Second))), nil
}
