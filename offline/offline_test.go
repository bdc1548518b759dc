package offline

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// testSecret is bytes 1..32; the known answers below were computed from it
// independently (Python's hmac module, following docs/offline.md).
func testSecret(t testing.TB) Secret {
	b := make([]byte, SecretSize)
	for i := range b {
		b[i] = byte(i + 1)
	}
	s, err := SecretFromBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var day20261123 = DayOf(time.Date(2026, 11, 23, 15, 4, 5, 0, time.UTC))

func testChallenge() Challenge {
	return Challenge{Machine: "laptop-7", Revision: 42, RequestCode: "004217", Day: day20261123}
}

func TestRespondKnownAnswer(t *testing.T) {
	got, err := Respond(testSecret(t), testChallenge())
	if err != nil {
		t.Fatal(err)
	}
	if want := "6GMX-RAJD-P51Z"; got != want {
		t.Errorf("Respond = %s, want %s (the encoding changed: bump the version in domain)", got, want)
	}
	if day20261123 != 20780 {
		t.Errorf("DayOf(2026-11-23) = %d, want 20780", day20261123)
	}
}

func TestRoundTrip(t *testing.T) {
	s := NewSecret()
	for range 200 {
		c := testChallenge()
		c.RequestCode = NewRequestCode()
		got, err := Respond(s, c)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 14 || got[4] != '-' || got[9] != '-' {
			t.Fatalf("Respond = %q, want XXXX-XXXX-XXXX", got)
		}
		for _, typed := range []string{got, strings.ToLower(got), strings.ReplaceAll(got, "-", " "), strings.ReplaceAll(got, "-", "")} {
			if err := Verify(s, c, typed); err != nil {
				t.Errorf("Verify(%q) = %v", typed, err)
			}
		}
	}
}

// TestEveryFieldBinds changes one bound field at a time: each must give a
// different code, and the code for the original must be wrong for it.
func TestEveryFieldBinds(t *testing.T) {
	s := testSecret(t)
	base := testChallenge()
	baseCode, _ := Respond(s, base)
	other := NewSecret()
	cases := []struct {
		name   string
		secret Secret
		change func(*Challenge)
	}{
		{"machine", s, func(c *Challenge) { c.Machine = "laptop-8" }},
		{"machine prefix", s, func(c *Challenge) { c.Machine = "laptop" }},
		{"revision", s, func(c *Challenge) { c.Revision = 43 }},
		{"revision zero", s, func(c *Challenge) { c.Revision = 0 }},
		{"request code", s, func(c *Challenge) { c.RequestCode = "004218" }},
		{"request code digits swapped", s, func(c *Challenge) { c.RequestCode = "002417" }},
		{"day", s, func(c *Challenge) { c.Day++ }},
		{"secret", other, func(*Challenge) {}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := base
			tc.change(&c)
			got, err := Respond(tc.secret, c)
			if err != nil {
				t.Fatal(err)
			}
			if got == baseCode {
				t.Errorf("code %s did not change", got)
			}
			if err := Verify(tc.secret, c, baseCode); !errors.Is(err, ErrWrongCode) {
				t.Errorf("Verify(original code) = %v, want ErrWrongCode", err)
			}
		})
	}
	// Case and surrounding spaces of the machine name do not bind.
	c := base
	c.Machine = "  LAPTOP-7 "
	if got, _ := Respond(s, c); got != baseCode {
		t.Errorf("machine %q: code %s, want %s", c.Machine, got, baseCode)
	}
}

func TestChallengeValidate(t *testing.T) {
	s := testSecret(t)
	cases := []struct {
		name   string
		change func(*Challenge)
		want   string
	}{
		{"empty machine", func(c *Challenge) { c.Machine = " " }, "the machine name is empty"},
		{"control char", func(c *Challenge) { c.Machine = "a\x00b" }, "cannot be shown"},
		{"long machine", func(c *Challenge) { c.Machine = strings.Repeat("a", 256) }, "at most 255"},
		{"negative revision", func(c *Challenge) { c.Revision = -1 }, "negative"},
		{"short request code", func(c *Challenge) { c.RequestCode = "12345" }, "the request code has 6 digits; this one has 5"},
		{"unclean request code", func(c *Challenge) { c.RequestCode = "123 456" }, "clean form"},
		{"no day", func(c *Challenge) { c.Day = 0 }, "no day"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := testChallenge()
			tc.change(&c)
			if _, err := Respond(s, c); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Respond: %v, want %q", err, tc.want)
			}
			err := Verify(s, c, "6GMX-RAJD-P51Z")
			var me *MalformedError
			if err == nil || errors.Is(err, ErrWrongCode) || errors.As(err, &me) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Verify: %v, want a challenge error %q", err, tc.want)
			}
		})
	}
	if _, err := Respond(Secret{}, testChallenge()); !errors.Is(err, ErrNoSecret) {
		t.Errorf("Respond with zero secret: %v", err)
	}
	if err := Verify(Secret{}, testChallenge(), "6GMX-RAJD-P51Z"); !errors.Is(err, ErrNoSecret) {
		t.Errorf("Verify with zero secret: %v", err)
	}
}

func TestNormalize(t *testing.T) {
	cases := []struct {
		typed, want, err string
	}{
		{typed: "6GMX-RAJD-P51Z", want: "6GMXRAJDP51Z"},
		{typed: "6gmx rajd p51z", want: "6GMXRAJDP51Z"},
		{typed: " 6GMXRAJDP51Z\n", want: "6GMXRAJDP51Z"},
		{typed: "6GMX–RAJD—P51Z", want: "6GMXRAJDP51Z"}, // en and em dash, from a mail
		{typed: "oOiI-lL00-0000", want: "001111000000"},
		{typed: "6GMX-RAJD-P51", err: "the response code has 12 characters; you typed 11"},
		{typed: "6GMX-RAJD-P51ZZ", err: "the response code has 12 characters; you typed 13"},
		{typed: "6GMX-RAJD-P5UZ", err: "the response code contains 'U', which is not used in codes"},
		{typed: "6gmx-rajd-p5uz", err: "the response code contains 'U', which is not used in codes"},
		{typed: "6GMX_RAJD_P51Z", err: "the response code contains '_', which is not a letter or digit"},
		{typed: "6GMX-RAJD-P5ÉZ", err: "the response code contains 'É', which is not used in codes"},
		{typed: "6GMX-RAJD-P5\x00Z", err: "the response code contains U+0000, which is not a letter or digit"},
		{typed: "6GMX-RAJD-P5\xffZ", err: "the response code contains U+FFFD, which is not a letter or digit"},
		{typed: "", err: "type the 12-character response code the help desk gave you"},
		{typed: " - ", err: "type the 12-character response code the help desk gave you"},
		{typed: "004 217", err: "which looks like the request code"},
	}
	for _, tc := range cases {
		t.Run(tc.typed, func(t *testing.T) {
			got, err := Normalize(tc.typed)
			if tc.err != "" {
				var me *MalformedError
				if !errors.As(err, &me) || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Normalize = %q, %v; want MalformedError %q", got, err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Normalize = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// TestVerifyNearMisses: every code one character, one transposition or one
// character short away from the right one is refused, as wrong or malformed.
func TestVerifyNearMisses(t *testing.T) {
	s, c := testSecret(t), testChallenge()
	right := "6GMXRAJDP51Z"
	if err := Verify(s, c, right); err != nil {
		t.Fatal(err)
	}
	wrong := 0
	for i := range CodeLen {
		for _, r := range alphabet {
			if byte(r) == right[i] {
				continue
			}
			typed := right[:i] + string(r) + right[i+1:]
			if err := Verify(s, c, typed); !errors.Is(err, ErrWrongCode) {
				t.Errorf("Verify(%s) = %v, want ErrWrongCode", typed, err)
			}
			wrong++
		}
		if i+1 < CodeLen && right[i] != right[i+1] {
			typed := right[:i] + right[i+1:i+2] + right[i:i+1] + right[i+2:]
			if err := Verify(s, c, typed); !errors.Is(err, ErrWrongCode) {
				t.Errorf("Verify(%s) = %v, want ErrWrongCode", typed, err)
			}
		}
		typed := right[:i] + right[i+1:]
		var me *MalformedError
		if err := Verify(s, c, typed); !errors.As(err, &me) {
			t.Errorf("Verify(%s) = %v, want MalformedError", typed, err)
		}
	}
	if wrong != CodeLen*31 {
		t.Errorf("tried %d substitutions", wrong)
	}
}

func TestNewRequestCode(t *testing.T) {
	seen := map[string]bool{}
	leadingZero := false
	for range 2000 {
		rc := NewRequestCode()
		if got, err := ParseRequestCode(rc); err != nil || got != rc {
			t.Fatalf("NewRequestCode = %q: %v", rc, err)
		}
		seen[rc] = true
		leadingZero = leadingZero || rc[0] == '0'
	}
	// 2000 draws from a million: expect about 2 repeats; 1900 distinct
	// would be wildly unlikely. A leading zero comes one time in ten.
	if len(seen) < 1900 || !leadingZero {
		t.Errorf("%d distinct codes of 2000, leading zero seen: %v", len(seen), leadingZero)
	}
}

func TestParseRequestCode(t *testing.T) {
	cases := []struct{ typed, want, err string }{
		{typed: "004217", want: "004217"},
		{typed: " 004 217 ", want: "004217"},
		{typed: "004-217", want: "004217"},
		{typed: "04217", err: "the request code has 6 digits; this one has 5"},
		{typed: "0042170", err: "the request code has 6 digits; this one has 7"},
		{typed: "", err: "the request code has 6 digits; this one has 0"},
		{typed: "00421O", err: "the request code contains 'O'; it has digits only"},
		{typed: "００４２１７", err: "contains '０'"},
	}
	for _, tc := range cases {
		got, err := ParseRequestCode(tc.typed)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseRequestCode(%q) = %q, %v; want %q", tc.typed, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseRequestCode(%q) = %q, %v; want %q", tc.typed, got, err, tc.want)
		}
	}
}

func TestDay(t *testing.T) {
	cases := []struct {
		t    time.Time
		want Day
		str  string
	}{
		{time.Unix(0, 0), 0, "1970-01-01"},
		{time.Unix(86399, 0), 0, "1970-01-01"},
		{time.Unix(86400, 0), 1, "1970-01-02"},
		{time.Unix(-1, 0), -1, "1969-12-31"},
		{time.Date(2026, 11, 23, 23, 59, 59, 0, time.UTC), 20780, "2026-11-23"},
		// 00:30 on the 24th in Berlin is still the 23rd in UTC.
		{time.Date(2026, 11, 24, 0, 30, 0, 0, time.FixedZone("CET", 3600)), 20780, "2026-11-23"},
	}
	for _, tc := range cases {
		d := DayOf(tc.t)
		if d != tc.want || d.String() != tc.str {
			t.Errorf("DayOf(%s) = %d %s, want %d %s", tc.t, d, d, tc.want, tc.str)
		}
		if p, err := ParseDay(tc.str); err != nil || p != tc.want {
			t.Errorf("ParseDay(%s) = %d, %v", tc.str, p, err)
		}
	}
	if _, err := ParseDay("23.11.2026"); err == nil || !strings.Contains(err.Error(), "YYYY-MM-DD") {
		t.Errorf("ParseDay(23.11.2026): %v", err)
	}
}

func TestMachineName(t *testing.T) {
	for in, want := range map[string]string{
		"Janes-MacBook-Pro.local": "janes-macbook-pro",
		"build01.corp.example":    "build01",
		"LAPTOP-7":                "laptop-7",
		" host ":                  "host",
		".odd":                    ".odd",
	} {
		if got := MachineName(in); got != want {
			t.Errorf("MachineName(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFormat(t *testing.T) {
	if diff := cmp.Diff([]string{"ABCD-EFGH-JKMN", "short"}, []string{Format("ABCDEFGHJKMN"), Format("short")}); diff != "" {
		t.Error(diff)
	}
}

func BenchmarkRespond(b *testing.B) {
	s, c := testSecret(b), testChallenge()
	b.ReportAllocs()
	for b.Loop() {
		Respond(s, c)
	}
}
