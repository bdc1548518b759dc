package policy

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLimitKeepsTheFirstErrorsAndCountsTheRest(t *testing.T) {
	var ds Diagnostics
	for i := range 5 {
		ds = append(ds, Diagnostic{Pos: Pos{File: "p", Line: 10 - i}, Severity: SeverityWarning, Message: fmt.Sprint("w", i)})
	}
	for i := range 2000 {
		ds = append(ds, Diagnostic{Pos: Pos{File: "p", Line: 100 + i}, Severity: SeverityError, Message: fmt.Sprint("e", i)})
	}
	got := ds.Limit(3)
	var lines []string
	for _, d := range got {
		lines = append(lines, d.String())
	}
	want := []string{
		"p:100: error: e0",
		"p:101: error: e1",
		"p:102: error: e2",
		"p: error: and 1,997 more errors and 5 more warnings not shown",
	}
	if diff := cmp.Diff(want, lines); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if s := got[3]; s.OmittedErrors != 1997 || s.OmittedWarnings != 5 || !s.Omitted() {
		t.Errorf("counts %+v", s)
	}
	// Limiting again, with one more finding, adds to the counts.
	again := append(got, Diagnostic{Pos: Pos{File: "p", Line: 1}, Severity: SeverityWarning, Message: "machine"})
	again.Sort()
	if last := again[len(again)-1]; !last.Omitted() {
		t.Errorf("Sort did not keep the summary last: %v", again)
	}
	again = again.Limit(3)
	if len(again) != 4 || again[3].OmittedErrors != 1997 || again[3].OmittedWarnings != 6 {
		t.Errorf("second limit: %v", again)
	}
	if n := len(ds.Limit(-1)); n != len(ds) {
		t.Errorf("Limit(-1) kept %d of %d", n, len(ds))
	}
	if n := len(ds[:3].Limit(3)); n != 3 {
		t.Errorf("Limit under the limit: %d", n)
	}
}
