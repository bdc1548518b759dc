package policy

import (
	"fmt"
	"testing"
)

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func relName(c int) string {
	switch c {
	case -1:
		return "<"
	case 1:
		return ">"
	}
	return "=="
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		// macOS forms: a leading v, and a build number in parentheses,
		// compared only when both sides have one.
		{"v1.2", "1.2", 0},
		{"V1.2", "1.10", -1},
		{"v1.2", "v1.10", -1},
		{"1.0 (123)", "1.0", 0},
		{"1.0", "1.0 (123)", 0},
		{"1.0 (123)", "1.0 (99)", 1},
		{"1.0 (123)", "1.0.1", -1},
		{"1.2 (1)", "1.10 (0)", -1},
		{"1.0(123)", "1.0", 0},
		{"1.0 (123) ", "1.0", 0},
		{"1.0b2 (5)", "1.0", -1},
		{"v1.0 (123)", "1.0 (124)", -1},
		{"vim", "vim", 0},
		// Digit runs compare as numbers.
		{"10.2", "10.10", -1},
		{"10.10", "10.9", 1},
		{"2.0", "1.99", 1},
		{"1.2.3", "1.2.3", 0},
		// Missing trailing parts count as zero.
		{"1.0", "1.0.0", 0},
		{"1", "1.0.0.0", 0},
		{"1.0.1", "1.0", 1},
		{"1.0", "1.0.0.1", -1},
		// Pre-releases sort before their release.
		{"1.0b2", "1.0", -1},
		{"1.0rc1", "1.0", -1},
		{"1.0a", "1.0", -1},
		{"1.0b2", "1.0b10", -1},
		{"1.0rc1", "1.0.1", -1},
		{"1.0rc1", "1.0.0", -1},
		// Letter runs compare alphabetically, case-insensitively.
		{"1.0alpha", "1.0beta", -1},
		{"1.0beta", "1.0rc", -1},
		{"1.0alpha", "1.0rc", -1},
		{"1.0RC1", "1.0rc1", 0},
		{"1.0Beta", "1.0alpha", 1},
		{"1.0alpha", "1.0alphabet", -1},
		// A letter run sorts before a digit run at the same place.
		{"1.a", "1.0", -1},
		{"1.a", "1.1", -1},
		// Leading zeros do not count.
		{"1.01", "1.1", 0},
		{"007", "7", 0},
		{"1.010", "1.9", 1},
		{"1.00", "1", 0},
		{"0000", "", 0},
		// Numbers beyond uint64 still compare as numbers.
		{"1.18446744073709551616", "1.18446744073709551615", 1},
		{"1.99999999999999999999999999", "1.18446744073709551615", 1},
		{"123456789012345678901234567890", "0123456789012345678901234567890", 0},
		{"99999999999999999999999999999.1", "100000000000000000000000000000", -1},
		// Separators only separate, and runs of them count once.
		{"1-2", "1.2", 0},
		{"1_2", "1.2", 0},
		{"1+2", "1.2", 0},
		{"1..2", "1.2", 0},
		{"1.2-beta", "1.2beta", 0},
		{"1.2+build5", "1.2", -1},
		{"1.2-3", "1.2", 1},
		// Empty strings.
		{"", "", 0},
		{"", "0", 0},
		{"", "1", -1},
		{"", "0.0.1", -1},
		{"", "beta", 1},
		{"...", "", 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q_%s_%q", tt.a, relName(tt.want), tt.b), func(t *testing.T) {
			if got := CompareVersions(tt.a, tt.b); got != tt.want {
				t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
			}
			if got := CompareVersions(tt.b, tt.a); got != -tt.want {
				t.Errorf("CompareVersions(%q, %q) = %d, want %d", tt.b, tt.a, got, -tt.want)
			}
		})
	}
}

var versionCorpus = []string{
	"", "0", "00", "1", "1.0", "1.0.0", "1.0.1", "1.0a", "1.0b2", "1.0b10",
	"1.0rc1", "1.0RC1", "1.0alpha", "1.0beta", "1.1", "1.01", "1.9", "1.10",
	"10.2", "10.10", "2", "2.0-beta", "2.0+1", "a", "b", "beta", "1a", "1.a",
	"18446744073709551616", "18446744073709551615", "99999999999999999999999",
	"1..0", "-", "1_0_0", "é", "1.é", "~1", "1 2", "1,2",
}

// TestCompareVersionsOrder checks that CompareVersions is a total preorder
// on a corpus: reflexive, antisymmetric and transitive, with results in
// {-1, 0, 1}.
func TestCompareVersionsOrder(t *testing.T) {
	for _, a := range versionCorpus {
		if c := CompareVersions(a, a); c != 0 {
			t.Errorf("reflexivity: CompareVersions(%q, %q) = %d, want 0", a, a, c)
		}
		for _, b := range versionCorpus {
			ab, ba := CompareVersions(a, b), CompareVersions(b, a)
			if ab < -1 || ab > 1 {
				t.Errorf("CompareVersions(%q, %q) = %d, want -1, 0 or 1", a, b, ab)
			}
			if ab != -ba {
				t.Errorf("antisymmetry: CompareVersions(%q, %q) = %d but CompareVersions(%q, %q) = %d", a, b, ab, b, a, ba)
			}
			for _, c := range versionCorpus {
				bc, ac := CompareVersions(b, c), CompareVersions(a, c)
				if ab <= 0 && bc <= 0 && ac > 0 {
					t.Errorf("transitivity: %q <= %q <= %q but %q > %q", a, b, c, a, c)
				}
				if ab == 0 && bc == 0 && ac != 0 {
					t.Errorf("transitivity: %q == %q == %q but CompareVersions(%q, %q) = %d", a, b, c, a, c, ac)
				}
			}
		}
	}
}

func FuzzCompareVersions(f *testing.F) {
	for i, a := range versionCorpus {
		f.Add(a, versionCorpus[(i*7+3)%len(versionCorpus)])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := CompareVersions(a, b), CompareVersions(b, a)
		if ab < -1 || ab > 1 {
			t.Fatalf("CompareVersions(%q, %q) = %d, want -1, 0 or 1", a, b, ab)
		}
		if sign(ab) != -sign(ba) {
			t.Fatalf("antisymmetry: CompareVersions(%q, %q) = %d but CompareVersions(%q, %q) = %d", a, b, ab, b, a, ba)
		}
		if c := CompareVersions(a, a); c != 0 {
			t.Fatalf("reflexivity: CompareVersions(%q, %q) = %d", a, a, c)
		}
	})
}
