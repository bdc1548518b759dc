package offline

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var created = time.Date(2026, 11, 23, 15, 0, 0, 0, time.UTC)

func TestCheck(t *testing.T) {
	lim := Limits{}
	cases := []struct {
		name string
		now  time.Time
		st   State
		want error
	}{
		{"fresh", created, State{Created: created}, nil},
		{"4 wrong", created.Add(time.Hour), State{Created: created, Attempts: 4}, nil},
		{"5 wrong", created.Add(time.Hour), State{Created: created, Attempts: 5}, ErrTooManyAttempts},
		{"just before expiry", created.Add(24*time.Hour - 1), State{Created: created}, nil},
		{"expired", created.Add(24 * time.Hour), State{Created: created}, ErrExpired},
		{"no creation time", created, State{}, ErrExpired},
		{"used", created, State{Created: created, Used: true}, ErrUsed},
		{"used wins over expired", created.Add(48 * time.Hour), State{Created: created, Used: true, Attempts: 9}, ErrUsed},
		{"expired wins over attempts", created.Add(48 * time.Hour), State{Created: created, Attempts: 9}, ErrExpired},
		{"clock set back", created.Add(-time.Hour), State{Created: created}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Check(tc.now, tc.st, lim); got != tc.want {
				t.Errorf("Check = %v, want %v", got, tc.want)
			}
		})
	}
	custom := Limits{MaxAttempts: 2, Lifetime: time.Hour}
	if err := Check(created.Add(time.Hour), State{Created: created}, custom); err != ErrExpired {
		t.Errorf("lifetime 1h: %v", err)
	}
	if err := Check(created, State{Created: created, Attempts: 2}, custom); err != ErrTooManyAttempts {
		t.Errorf("max attempts 2: %v", err)
	}
}

func TestCheckMessages(t *testing.T) {
	got := []string{ErrExpired.Error(), ErrTooManyAttempts.Error(), ErrUsed.Error()}
	want := []string{
		"this request code has expired; run the program again for a new one",
		"too many wrong response codes for this request; run the program again for a new request code",
		"this response code was already used",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}

func TestLimitsValidate(t *testing.T) {
	for _, l := range []Limits{{}, DefaultLimits, {MaxAttempts: 3, Lifetime: MaxLifetime}} {
		if err := l.Validate(); err != nil {
			t.Errorf("%+v: %v", l, err)
		}
	}
	for _, l := range []Limits{{MaxAttempts: -1}, {Lifetime: -time.Second}, {Lifetime: MaxLifetime + time.Second}} {
		if err := l.Validate(); err == nil {
			t.Errorf("%+v: no error", l)
		}
	}
}

// TestRedeemFlow walks one request: typing slips cost nothing, wrong codes
// count down, the right code is accepted once.
func TestRedeemFlow(t *testing.T) {
	s, c := testSecret(t), testChallenge()
	right, _ := Respond(s, c) // made on 2026-11-23, the day of created
	st := State{Created: created}
	now := created.Add(10 * time.Minute)

	st2, err := Redeem(s, c, st, Limits{}, now, "6GMX-RAJD-P51")
	var me *MalformedError
	if !errors.As(err, &me) || st2 != st {
		t.Fatalf("short code: %v, state %+v", err, st2)
	}
	for i, left := range []int{4, 3} {
		st, err = Redeem(s, c, st, Limits{}, now, "0000-0000-0000")
		var we *WrongCodeError
		if !errors.As(err, &we) || !errors.Is(err, ErrWrongCode) || we.Left != left || st.Attempts != i+1 {
			t.Fatalf("wrong code %d: %v, state %+v", i+1, err, st)
		}
	}
	if !strings.Contains(err.Error(), "(3 tries left)") {
		t.Errorf("message %q", err)
	}
	st, err = Redeem(s, c, st, Limits{}, now, strings.ToLower(right))
	if err != nil || !st.Used || st.Attempts != 2 {
		t.Fatalf("right code: %v, state %+v", err, st)
	}
	if _, err := Redeem(s, c, st, Limits{}, now, right); err != ErrUsed {
		t.Errorf("second use: %v", err)
	}
}

func TestRedeemAttemptsRunOut(t *testing.T) {
	s, c := testSecret(t), testChallenge()
	right, _ := Respond(s, c)
	st := State{Created: created}
	var err error
	for range 5 {
		st, err = Redeem(s, c, st, Limits{}, created, "0000-0000-0000")
	}
	if err == nil || err.Error() != "the response code is not right, and that was the last try; run the program again for a new request code" {
		t.Errorf("fifth wrong code: %v", err)
	}
	if st2, err := Redeem(s, c, st, Limits{}, created, right); err != ErrTooManyAttempts || st2.Used {
		t.Errorf("right code after 5 wrong: %v, state %+v", err, st2)
	}
	st = State{Created: created, Attempts: 3}
	if _, err := Redeem(s, c, st, Limits{}, created, "0000-0000-0000"); err == nil || !strings.Contains(err.Error(), "(1 try left)") {
		t.Errorf("fourth wrong code: %v", err)
	}
}

func TestRedeemExpired(t *testing.T) {
	s, c := testSecret(t), testChallenge()
	right, _ := Respond(s, c)
	st := State{Created: created}
	if _, err := Redeem(s, c, st, Limits{}, created.Add(25*time.Hour), right); err != ErrExpired {
		t.Errorf("after 25h: %v", err)
	}
	if _, err := Redeem(s, c, st, Limits{Lifetime: time.Hour}, created.Add(2*time.Hour), right); err != ErrExpired {
		t.Errorf("lifetime 1h, after 2h: %v", err)
	}
}

// TestRedeemDays: Redeem accepts a code made from the day before the
// request to the day after now, whatever c.Day says, and no other.
func TestRedeemDays(t *testing.T) {
	s := testSecret(t)
	base := testChallenge()
	base.Day = 0 // Redeem ignores it
	cases := []struct {
		name    string
		created time.Time
		now     time.Time
		madeOn  Day
		ok      bool
	}{
		{"same day", created, created.Add(time.Hour), day20261123, true},
		{"day before (help desk clock behind)", created, created.Add(time.Hour), day20261123 - 1, true},
		{"two days before", created, created.Add(time.Hour), day20261123 - 2, false},
		{"day after (help desk clock ahead)", created, created.Add(time.Hour), day20261123 + 1, true},
		{"two days after", created, created.Add(time.Hour), day20261123 + 2, false},
		{"over midnight: made next day", created, created.Add(20 * time.Hour), day20261123 + 1, true},
		{"over midnight: two days after created", created, created.Add(20 * time.Hour), day20261123 + 2, true},
		{"over midnight: three days after", created, created.Add(20 * time.Hour), day20261123 + 3, false},
		{"clock set back", created, created.Add(-72 * time.Hour), day20261123, true},
		{"clock set back: old day", created, created.Add(-72 * time.Hour), day20261123 - 3, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			made := base
			made.Day = tc.madeOn
			code, err := Respond(s, made)
			if err != nil {
				t.Fatal(err)
			}
			st, err := Redeem(s, base, State{Created: tc.created}, Limits{}, tc.now, code)
			if tc.ok && (err != nil || !st.Used) {
				t.Errorf("Redeem: %v, state %+v; want accepted", err, st)
			}
			if !tc.ok && !errors.Is(err, ErrWrongCode) {
				t.Errorf("Redeem: %v; want ErrWrongCode", err)
			}
		})
	}
}

func TestRedeemBadInput(t *testing.T) {
	c := testChallenge()
	st := State{Created: created}
	if st2, err := Redeem(Secret{}, c, st, Limits{}, created, "0000-0000-0000"); err != ErrNoSecret || st2 != st {
		t.Errorf("zero secret: %v", err)
	}
	c.RequestCode = "12"
	if st2, err := Redeem(testSecret(t), c, st, Limits{}, created, "0000-0000-0000"); err == nil || errors.Is(err, ErrWrongCode) || st2 != st {
		t.Errorf("bad challenge: %v", err)
	}
}

func TestWindowBounded(t *testing.T) {
	first, last := window(created, created.Add(400*24*time.Hour))
	if n := last - first + 1; n != 10 {
		t.Errorf("window over 400 days has %d days, want 10", n)
	}
}
