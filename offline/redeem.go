package offline

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"time"
)

// Limits bound what a request code may be used for. A zero field means its
// default, as in [DefaultLimits].
type Limits struct {
	// MaxAttempts is the number of wrong response codes a request takes;
	// the next entry after that is refused. Default 5.
	MaxAttempts int
	// Lifetime is how long after its creation a request code can be
	// answered. Default 24 hours; at most [MaxLifetime].
	Lifetime time.Duration
}

// DefaultLimits are the limits used for zero fields of [Limits].
var DefaultLimits = Limits{MaxAttempts: 5, Lifetime: 24 * time.Hour}

// MaxLifetime bounds [Limits.Lifetime]: every extra day the code may have
// been made on is one more code a guess can hit (see docs/offline.md).
const MaxLifetime = 7 * 24 * time.Hour

// Validate reports limits a configuration should not accept.
func (l Limits) Validate() error {
	switch {
	case l.MaxAttempts < 0:
		return fmt.Errorf("offline max attempts %d is negative; use 0 for the default (%d)", l.MaxAttempts, DefaultLimits.MaxAttempts)
	case l.Lifetime < 0:
		return fmt.Errorf("offline lifetime %s is negative; use 0 for the default (%s)", l.Lifetime, DefaultLimits.Lifetime)
	case l.Lifetime > MaxLifetime:
		return fmt.Errorf("offline lifetime %s is longer than the most allowed, %s", l.Lifetime, MaxLifetime)
	}
	return nil
}

func (l Limits) withDefaults() Limits {
	if l.MaxAttempts <= 0 {
		l.MaxAttempts = DefaultLimits.MaxAttempts
	}
	if l.Lifetime <= 0 {
		l.Lifetime = DefaultLimits.Lifetime
	}
	if l.Lifetime > MaxLifetime {
		l.Lifetime = MaxLifetime
	}
	return l
}

// State is what the daemon stores per offline request besides its
// [Challenge]. [Redeem] returns the next State; the daemon writes it back.
type State struct {
	// Created is when the request code was made (and shown to the user).
	// A zero Created counts as expired: a request of unknown age is refused.
	Created time.Time
	// Attempts is the number of wrong response codes entered so far.
	Attempts int
	// Used is set once a response code was accepted for the request.
	Used bool
}

// Errors of [Check] and [Redeem]; their messages are meant for the user.
var (
	ErrExpired         = errors.New("this request code has expired; run the program again for a new one")
	ErrTooManyAttempts = errors.New("too many wrong response codes for this request; run the program again for a new request code")
	ErrUsed            = errors.New("this response code was already used")
)

// Check reports whether a request in state st can still take a response
// code at now: [ErrUsed], [ErrExpired] or [ErrTooManyAttempts] if not, in
// that order of precedence.
func Check(now time.Time, st State, lim Limits) error {
	lim = lim.withDefaults()
	switch {
	case st.Used:
		return ErrUsed
	case st.Created.IsZero() || now.Sub(st.Created) >= lim.Lifetime:
		return ErrExpired
	case st.Attempts >= lim.MaxAttempts:
		return ErrTooManyAttempts
	}
	return nil
}

// WrongCodeError is [Redeem]'s [ErrWrongCode]: it says how many tries are
// left. errors.Is(err, ErrWrongCode) holds for it.
type WrongCodeError struct {
	Left int // wrong entries the request still takes
}

func (e *WrongCodeError) Error() string {
	switch e.Left {
	case 0:
		return "the response code is not right, and that was the last try; run the program again for a new request code"
	case 1:
		return "the response code is not right; check it with the help desk (1 try left)"
	}
	return fmt.Sprintf("the response code is not right; check it with the help desk (%d tries left)", e.Left)
}

func (e *WrongCodeError) Is(target error) bool { return target == ErrWrongCode }

// Redeem checks a response code the user typed for the request with
// challenge c and state st, at now. It returns the state to store and:
//
//   - nil: the code is right; the returned state has Used set. Approve the
//     request and store Used in the same step that checks the request is
//     still open, so a code is accepted once even when two entries race.
//   - [ErrUsed], [ErrExpired], [ErrTooManyAttempts]: the request takes no
//     more codes; the state is unchanged.
//   - a [*MalformedError]: not a response code (a typing slip); the state is
//     unchanged, the user may type again.
//   - a [*WrongCodeError]: a wrong code; the returned state has one more
//     attempt. Store it before showing the message, and only if the stored
//     count is still st.Attempts (compare and set), so parallel entries
//     cannot get more tries than the limit.
//   - another error: the secret is zero or c is invalid (c.Day aside); the
//     state is unchanged.
//
// c.Day is ignored: the code is accepted if it was made on any UTC day from
// the day before the request's creation to the day after now (clocks and
// dates that differ by a day between help desk and machine still work).
// Every candidate is compared, in constant time.
func Redeem(s Secret, c Challenge, st State, lim Limits, now time.Time, typed string) (State, error) {
	if s.IsZero() {
		return st, ErrNoSecret
	}
	first, last := window(st.Created, now)
	c.Day = first
	if err := c.Validate(); err != nil {
		return st, fmt.Errorf("offline challenge: %w", err)
	}
	lim = lim.withDefaults()
	if err := Check(now, st, lim); err != nil {
		return st, err
	}
	n, err := Normalize(typed)
	if err != nil {
		return st, err
	}
	ok := 0
	for d := first; d <= last; d++ {
		c.Day = d
		want := code(s, c)
		ok |= subtle.ConstantTimeCompare([]byte(n), want[:])
	}
	if ok == 1 {
		st.Used = true
		return st, nil
	}
	st.Attempts++
	return st, &WrongCodeError{Left: max(lim.MaxAttempts-st.Attempts, 0)}
}

// window is the days a response code for a request created at created may
// have been made on, as seen at now: one day of slack either side. Check
// has bounded now-created by the lifetime; a clock set back (now before
// created) is read as now = created.
func window(created, now time.Time) (first, last Day) {
	if now.Before(created) {
		now = created
	}
	first, last = DayOf(created)-1, DayOf(now)+1
	// Unreachable after Check, but never loop over more than the longest
	// lifetime allows.
	if most := first + Day(MaxLifetime/(24*time.Hour)) + 2; last > most {
		last = most
	}
	return first, last
}
