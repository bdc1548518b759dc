package offline

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzNormalize: Normalize never panics; when it accepts, the result is 12
// characters of the alphabet and normalizing it again changes nothing;
// when it refuses, the error is a MalformedError with a message.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"6GMX-RAJD-P51Z", "6gmx rajd p51z", "oOiI-lL00-0000", "U", "", "004217", "6GMX–RAJD—P51Z", "\xff\xfe", "ÉÉÉÉÉÉÉÉÉÉÉÉ"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, typed string) {
		n, err := Normalize(typed)
		if err != nil {
			var me *MalformedError
			if !errors.As(err, &me) || me.Msg == "" || n != "" {
				t.Fatalf("Normalize(%q) = %q, %v", typed, n, err)
			}
			return
		}
		if len(n) != CodeLen {
			t.Fatalf("Normalize(%q) = %q: %d characters", typed, n, len(n))
		}
		for i := 0; i < len(n); i++ {
			if strings.IndexByte(alphabet, n[i]) < 0 {
				t.Fatalf("Normalize(%q) = %q: %q is not in the alphabet", typed, n, n[i])
			}
		}
		if again, err := Normalize(n); err != nil || again != n {
			t.Fatalf("Normalize(%q) = %q, %v; not idempotent", n, again, err)
		}
		if again, err := Normalize(Format(n)); err != nil || again != n {
			t.Fatalf("Normalize(Format(%q)) = %q, %v", n, again, err)
		}
	})
}

// FuzzVerify: Verify and Redeem never panic on any typed string or
// challenge; a typed code is accepted only if it normalizes to the code
// Respond gives; Redeem's state changes only as documented.
func FuzzVerify(f *testing.F) {
	f.Add("laptop-7", int64(42), "004217", int64(20780), "6GMX-RAJD-P51Z")
	f.Add("laptop-7", int64(42), "004217", int64(20780), "6GMX-RAJD-P51")
	f.Add("", int64(-1), "12", int64(0), "")
	f.Add("LAPTOP-7 ", int64(42), "004 217", int64(20781), "0000-0000-0000")
	s := testSecret(f)
	f.Fuzz(func(t *testing.T, machine string, revision int64, rc string, day int64, typed string) {
		c := Challenge{Machine: machine, Revision: revision, RequestCode: rc, Day: Day(day)}
		err := Verify(s, c, typed)
		want, rerr := Respond(s, c)
		if (rerr != nil) != (c.Validate() != nil) {
			t.Fatalf("Respond error %v, Validate %v", rerr, c.Validate())
		}
		n, nerr := Normalize(typed)
		switch {
		case rerr != nil:
			if err == nil {
				t.Fatalf("Verify accepted %q for an invalid challenge", typed)
			}
		case nerr != nil:
			var me *MalformedError
			if !errors.As(err, &me) {
				t.Fatalf("Verify(%q) = %v, want MalformedError", typed, err)
			}
		case n == strings.ReplaceAll(want, "-", ""):
			if err != nil {
				t.Fatalf("Verify(%q) = %v for the right code", typed, err)
			}
		default:
			if err != ErrWrongCode {
				t.Fatalf("Verify(%q) = %v, want ErrWrongCode", typed, err)
			}
		}

		created := time.Unix(day*86400, 0)
		st := State{Created: created, Attempts: int(revision & 7)}
		got, err := Redeem(s, c, st, Limits{}, created.Add(time.Hour), typed)
		switch {
		case err == nil:
			if !got.Used || got.Attempts != st.Attempts {
				t.Fatalf("accepted, state %+v", got)
			}
		case errors.Is(err, ErrWrongCode):
			if got.Used || got.Attempts != st.Attempts+1 {
				t.Fatalf("wrong, state %+v", got)
			}
		default:
			if got != st {
				t.Fatalf("%v, state changed to %+v", err, got)
			}
		}
	})
}

// FuzzParseSecret: ParseSecret never panics and accepts only text whose
// checksum holds; an accepted secret exports back to the same secret.
func FuzzParseSecret(f *testing.F) {
	f.Add(testSecret(f).Export())
	f.Add("GHK1-" + strings.Repeat("0", 56))
	f.Add("ghk1")
	f.Fuzz(func(t *testing.T, text string) {
		s, err := ParseSecret(text)
		if err != nil {
			return
		}
		if s.IsZero() {
			t.Fatal("zero secret accepted")
		}
		if again, err := ParseSecret(s.Export()); err != nil || again != s {
			t.Fatalf("round trip: %v", err)
		}
	})
}
