package policy

import (
	"fmt"
	"sort"
	"strings"
)

// Severity of a Diagnostic.
type Severity uint8

const (
	SeverityUnset Severity = iota
	// SeverityError: the policy cannot be used.
	SeverityError
	// SeverityWarning: the policy works but probably not as meant.
	SeverityWarning
)

func (s Severity) String() string {
	switch s {
	case SeverityError:
		return "error"
	case SeverityWarning:
		return "warning"
	}
	return "unknown"
}

// MarshalText makes severities readable in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Diagnostic is one finding about a policy: where, how bad, what is wrong
// and what would be right.
type Diagnostic struct {
	Pos      Pos      `json:"pos"`
	Severity Severity `json:"severity"`
	// Where names the element, for example `group "dev" definition 2: path`.
	Where   string `json:"where,omitempty"`
	Message string `json:"message"`
}

func (p Pos) String() string {
	file := p.File
	if file == "" {
		file = "policy"
	}
	switch {
	case p.Line == 0:
		return file
	case p.Col == 0:
		return fmt.Sprintf("%s:%d", file, p.Line)
	}
	return fmt.Sprintf("%s:%d:%d", file, p.Line, p.Col)
}

func (d Diagnostic) String() string {
	if d.Where == "" {
		return fmt.Sprintf("%s: %s: %s", d.Pos, d.Severity, d.Message)
	}
	return fmt.Sprintf("%s: %s: %s: %s", d.Pos, d.Severity, d.Where, d.Message)
}

// Diagnostics is every finding of one load or compile.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}

// Err returns the diagnostics as an error when there is at least one error.
func (ds Diagnostics) Err() error {
	if !ds.HasErrors() {
		return nil
	}
	return ds
}

// Error lists every diagnostic, one per line.
func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// Sort orders diagnostics by file, line and column, keeping the order of
// findings at the same place.
func (ds Diagnostics) Sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i].Pos, ds[j].Pos
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// Suggest returns the option closest to s when it is close enough to be a
// likely typo, else "".
func Suggest(s string, options []string) string {
	best, bestDist := "", len(s)/3+2
	for _, o := range options {
		if d := editDistance(s, o); d < bestDist {
			best, bestDist = o, d
		}
	}
	return best
}

// didYouMean formats Suggest's answer for a message.
func didYouMean(s string, options []string) string {
	if o := Suggest(s, options); o != "" {
		return fmt.Sprintf("; did you mean %q?", o)
	}
	return ""
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		if a == b {
			return 0
		}
		return 1 << 20
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
