// Package offline implements offline approval codes: how a machine whose
// approval path is unreachable lets the help desk approve a blocked program
// over the phone.
//
// The machine shows the user its name and a 6-digit request code
// ([NewRequestCode]). The help desk, holding the machine's [Secret], computes
// a 12-character response code with [Respond] (the command `gatehouse
// offline respond`). The user types it and the daemon checks it with
// [Redeem], which applies the per-request limits (single use, lifetime,
// wrong attempts) and tells the daemon what to store.
//
// The response code is an HMAC-SHA256, keyed with the machine's secret, of a
// versioned, length-prefixed encoding of the [Challenge]: machine name,
// policy revision, request code and the UTC day the help desk computed it.
// It is truncated to 60 bits and written in Crockford's base32, so it has
// no I, L, O or U, and those letters typed by mistake are read as 1 and 0.
//
// Everything here is pure except [NewRequestCode] (crypto/rand) and the
// secret file functions: the daemon passes the clock in and keeps the
// [State] of each request in its own store. docs/offline.md describes the
// scheme and the help-desk procedure.
package offline

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// CodeLen is the number of characters of a response code, dashes left out.
const CodeLen = 12

// RequestCodeLen is the number of digits of a request code.
const RequestCodeLen = 6

// alphabet is Crockford's base32: digits and letters without I, L, O, U.
const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// domain separates these MACs from any other use of the key; the version
// in it changes whenever the encoding of the challenge does.
const domain = "gatehouse offline v1"

// Challenge is what a response code is bound to. The daemon fills it from
// the request it stores; the help desk from what the user reads out.
type Challenge struct {
	// Machine is the computer name shown to the user (by default the
	// daemon's short host name, see [MachineName]). It is compared without
	// regard to case or surrounding spaces, so "LAPTOP-7" read over the
	// phone binds the same as "laptop-7". Bound because machines cloned
	// from one image may share a secret: the name still tells them apart.
	Machine string
	// Revision is the revision of the policy that allowed the offline
	// fallback. A new policy revision invalidates codes made for the old.
	Revision int64
	// RequestCode is the 6-digit request code, as made by [NewRequestCode]
	// or cleaned by [ParseRequestCode].
	RequestCode string
	// Day is the UTC day on which the help desk computes the response code.
	// It limits a response code's life without the user reading a date:
	// [Redeem] accepts the days around the request's life (see there), so
	// a code from the help desk works only for that request's days. [Verify]
	// checks exactly this day.
	Day Day
}

// Validate reports a challenge that no code can be made for: an empty or
// unprintable machine name, a negative revision, a request code that is
// not 6 digits, an unset day.
func (c Challenge) Validate() error {
	m := canonicalMachine(c.Machine)
	switch {
	case m == "":
		return errors.New("the machine name is empty; use the computer name shown to the user")
	case len(m) > 255:
		return fmt.Errorf("the machine name has %d bytes; a computer name has at most 255", len(m))
	case !utf8.ValidString(m) || strings.IndexFunc(m, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return fmt.Errorf("the machine name %q has characters that cannot be shown; use the computer name shown to the user", c.Machine)
	case c.Revision < 0:
		return fmt.Errorf("the policy revision %d is negative; use the revision shown to the user", c.Revision)
	case c.Day <= 0:
		return errors.New("the challenge has no day")
	}
	if rc, err := ParseRequestCode(c.RequestCode); err != nil {
		return err
	} else if rc != c.RequestCode {
		return fmt.Errorf("the request code %q is not in its clean form %q; pass it through ParseRequestCode", c.RequestCode, rc)
	}
	return nil
}

// canonicalMachine is the form of a machine name that is bound.
func canonicalMachine(m string) string {
	return strings.ToLower(strings.TrimSpace(m))
}

// message is the MAC input: the domain, then each field in a fixed order,
// strings with a 4-byte big-endian length before them and integers as 8
// bytes big-endian, so no two challenges encode alike.
func (c Challenge) message() []byte {
	b := make([]byte, 0, 64+len(c.Machine))
	b = appendString(b, domain)
	b = appendString(b, canonicalMachine(c.Machine))
	b = binary.BigEndian.AppendUint64(b, uint64(c.Revision))
	b = appendString(b, c.RequestCode)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Day))
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

// code is the response code of c under s, 12 characters without dashes:
// the first 60 bits of the MAC, 5 bits a character, most significant first.
func code(s Secret, c Challenge) [CodeLen]byte {
	mac := hmac.New(sha256.New, s.b[:])
	mac.Write(c.message())
	v := binary.BigEndian.Uint64(mac.Sum(nil)[:8]) >> 4
	var out [CodeLen]byte
	for i := CodeLen - 1; i >= 0; i-- {
		out[i] = alphabet[v&31]
		v >>= 5
	}
	return out
}

// Respond returns the response code for c, as the help desk reads it out:
// XXXX-XXXX-XXXX. It fails for a zero secret or an invalid challenge.
func Respond(s Secret, c Challenge) (string, error) {
	if s.IsZero() {
		return "", ErrNoSecret
	}
	if err := c.Validate(); err != nil {
		return "", err
	}
	cd := code(s, c)
	return Format(string(cd[:])), nil
}

// Format writes a 12-character code as XXXX-XXXX-XXXX; any other string is
// returned as it is.
func Format(code string) string {
	if len(code) != CodeLen {
		return code
	}
	return code[:4] + "-" + code[4:8] + "-" + code[8:]
}

// ErrNoSecret is returned when a code is made or checked with the zero
// Secret, which would make codes anyone can compute.
var ErrNoSecret = errors.New("no offline secret is loaded")

// ErrWrongCode is returned for a well-formed response code that is not the
// one for the challenge. It counts as a wrong attempt. [Redeem] returns a
// [*WrongCodeError], which matches it with errors.Is.
var ErrWrongCode = errors.New("the response code is not right for this request; check it with the help desk")

// Verify checks typed against the response code of c (for exactly c.Day),
// in constant time. It returns a [*MalformedError] when typed is not a
// response code at all (a typing slip: do not count it as an attempt),
// [ErrWrongCode] when it is well formed but wrong (count it), and another
// error when the secret is zero or c is invalid (the caller's fault).
//
// The daemon should call [Redeem], which also applies the request's limits
// and accepts the days around the request's life.
func Verify(s Secret, c Challenge, typed string) error {
	if s.IsZero() {
		return ErrNoSecret
	}
	if err := c.Validate(); err != nil {
		return fmt.Errorf("offline challenge: %w", err)
	}
	n, err := Normalize(typed)
	if err != nil {
		return err
	}
	want := code(s, c)
	if !hmac.Equal([]byte(n), want[:]) {
		return ErrWrongCode
	}
	return nil
}

// MalformedError says why a typed string is not a response code. Its
// message is meant for the user. A malformed code cannot be the right one,
// so it is not counted as an attempt.
type MalformedError struct {
	Msg string
}

func (e *MalformedError) Error() string { return e.Msg }

// Normalize returns the 12-character form of a typed response code: spaces
// and dashes are dropped, letters made upper case, and, as Crockford's
// base32 does, O is read as 0 and I and L as 1. It returns a
// [*MalformedError] saying what is wrong otherwise.
func Normalize(typed string) (string, error) {
	var out [CodeLen]byte
	n := 0
	for _, r := range typed {
		if isSeparator(r) {
			continue
		}
		ch, err := codeChar(r)
		if err != nil {
			return "", err
		}
		if n < CodeLen {
			out[n] = ch
		}
		n++
	}
	switch {
	case n == 0:
		return "", &MalformedError{"type the 12-character response code the help desk gave you"}
	case n == RequestCodeLen && isDigits(strings.Map(dropSeparators, typed)):
		return "", &MalformedError{"the response code has 12 characters; you typed 6 digits, which looks like the request code: read that to the help desk and type the code they give you"}
	case n != CodeLen:
		return "", &MalformedError{fmt.Sprintf("the response code has 12 characters; you typed %d", n)}
	}
	return string(out[:]), nil
}

// codeChar maps one typed character to the alphabet.
func codeChar(r rune) (byte, error) {
	switch {
	case r >= '0' && r <= '9':
		return byte(r), nil
	case r >= 'a' && r <= 'z':
		r -= 'a' - 'A'
	}
	switch {
	case r == 'O':
		return '0', nil
	case r == 'I' || r == 'L':
		return '1', nil
	case r == 'U':
		return 0, &MalformedError{"the response code contains 'U', which is not used in codes"}
	case r >= 'A' && r <= 'Z':
		return byte(r), nil
	case unicode.IsLetter(r) || unicode.IsDigit(r):
		return 0, &MalformedError{fmt.Sprintf("the response code contains %s, which is not used in codes", quoteRune(r))}
	}
	return 0, &MalformedError{fmt.Sprintf("the response code contains %s, which is not a letter or digit", quoteRune(r))}
}

// isSeparator is what may stand between groups of a typed code: spaces and
// dashes of any kind (a code pasted from a mail may have an en dash).
func isSeparator(r rune) bool {
	return unicode.IsSpace(r) || unicode.Is(unicode.Pd, r)
}

func dropSeparators(r rune) rune {
	if isSeparator(r) {
		return -1
	}
	return r
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func quoteRune(r rune) string {
	if r != utf8.RuneError && unicode.IsPrint(r) {
		return "'" + string(r) + "'"
	}
	return fmt.Sprintf("%U", r)
}

// NewRequestCode returns a fresh request code: 6 decimal digits from
// crypto/rand, leading zeros kept ("004217").
//
// Request codes are short so the user can read one out; they repeat after
// about a thousand requests (birthday bound). A response code made for one
// request also fits a later request with the same code, revision and day,
// so the daemon should draw again when the code equals that of another
// request of the same policy revision created in the last [Limits.Lifetime]
// plus two days.
func NewRequestCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		// crypto/rand's reader does not fail (Go 1.24 and later).
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// ParseRequestCode returns the clean form of a request code as typed by the
// help desk: spaces and dashes dropped ("123 456" is "123456"). It says
// what is wrong with anything that is not 6 digits.
func ParseRequestCode(typed string) (string, error) {
	s := strings.Map(dropSeparators, typed)
	for _, r := range s {
		if r < '0' || r > '9' {
			return "", fmt.Errorf("the request code contains %s; it has digits only", quoteRune(r))
		}
	}
	if len(s) != RequestCodeLen {
		return "", fmt.Errorf("the request code has 6 digits; this one has %d", len(s))
	}
	return s, nil
}

// Day is a calendar day in UTC, counted from 1970-01-01 (day 0).
type Day int64

// DayOf returns the UTC day of t.
func DayOf(t time.Time) Day {
	u := t.Unix()
	d := u / 86400
	if u%86400 < 0 {
		d--
	}
	return Day(d)
}

// ParseDay reads a day written YYYY-MM-DD.
func ParseDay(s string) (Day, error) {
	t, err := time.Parse(time.DateOnly, strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("the date %q is not written YYYY-MM-DD", s)
	}
	return DayOf(t), nil
}

// String writes d as YYYY-MM-DD.
func (d Day) String() string {
	return time.Unix(int64(d)*86400, 0).UTC().Format(time.DateOnly)
}

// MachineName returns the name the daemon should show and bind for this
// computer: host name's first label (what a user can read out; macOS adds
// ".local"), in lower case.
func MachineName(hostname string) string {
	h := canonicalMachine(hostname)
	if i := strings.IndexByte(h, '.'); i > 0 {
		h = h[:i]
	}
	return h
}
