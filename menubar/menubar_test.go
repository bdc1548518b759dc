package menubar

import (
	"slices"
	"testing"
)

func TestSectionsShowAtMostFiveLines(t *testing.T) {
	for _, tt := range []struct {
		lines, want []string
	}{
		{nil, []string{"Nothing"}},
		{[]string{"a", "b"}, []string{"a", "b"}},
		{[]string{"1", "2", "3", "4", "5"}, []string{"1", "2", "3", "4", "5"}},
		{[]string{"1", "2", "3", "4", "5", "6", "7"}, []string{"1", "2", "3", "4", "… and 3 more"}},
	} {
		if got := (Section{Lines: tt.lines, Empty: "Nothing"}).shown(); !slices.Equal(got, tt.want) {
			t.Errorf("%q shows %q, want %q", tt.lines, got, tt.want)
		}
	}
}
