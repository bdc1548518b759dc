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
	// OmittedErrors and OmittedWarnings are set only on the diagnostic
	// that ends a list cut short (Limit): how many findings were left
	// out. Its message says so; its severity is the worst of them.
	OmittedErrors   int `json:"omitted_errors,omitempty"`
	OmittedWarnings int `json:"omitted_warnings,omitempty"`
}

// Omitted reports whether d stands for findings left out of a list.
func (d Diagnostic) Omitted() bool { return d.OmittedErrors+d.OmittedWarnings > 0 }

// OmittedSummary is the diagnostic that ends a list cut short, for file,
// with its counts; more is said after the counts ("" for nothing).
func OmittedSummary(file string, errors, warnings int, more string) Diagnostic {
	var parts []string
	if errors > 0 {
		parts = append(parts, plural(errors, "more error"))
	}
	if warnings > 0 {
		parts = append(parts, plural(warnings, "more warning"))
	}
	sev := SeverityWarning
	if errors > 0 {
		sev = SeverityError
	}
	return Diagnostic{Pos: Pos{File: file}, Severity: sev, OmittedErrors: errors, OmittedWarnings: warnings,
		Message: "and " + strings.Join(parts, " and ") + " not shown" + more}
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return thousands(n) + " " + what + "s"
}

// thousands formats n with commas: 2,800,000.
func thousands(n int) string {
	if n < 0 {
		return "-" + thousands(-n)
	}
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Limit returns at most n diagnostics, errors before warnings, in file
// order, and then one that counts the rest (with the counts of any such
// diagnostic already in ds). A negative n keeps them all. ds is reordered.
func (ds Diagnostics) Limit(n int) Diagnostics {
	if n < 0 {
		return ds
	}
	var kept Diagnostics
	var prev *Diagnostic
	for i := range ds {
		if ds[i].Omitted() {
			prev = &ds[i]
			continue
		}
		kept = append(kept, ds[i])
	}
	if len(kept) <= n {
		return ds
	}
	sort.SliceStable(kept, func(i, j int) bool {
		return kept[i].Severity == SeverityError && kept[j].Severity != SeverityError
	})
	errs, warns := 0, 0
	if prev != nil {
		errs, warns = prev.OmittedErrors, prev.OmittedWarnings
	}
	for _, d := range kept[n:] {
		if d.Severity == SeverityError {
			errs++
		} else {
			warns++
		}
	}
	out := append(Diagnostics(nil), kept[:n]...)
	out.Sort()
	file := ""
	if len(ds) > 0 {
		file = ds[0].Pos.File
	}
	return append(out, OmittedSummary(file, errs, warns, ""))
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
// findings at the same place; one that stands for findings left out comes
// last.
func (ds Diagnostics) Sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		if oi, oj := ds[i].Omitted(), ds[j].Omitted(); oi != oj {
			return oj
		}
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
	if len(s) > 64 {
		return "" // no typo of a keyword is that long
	}
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
