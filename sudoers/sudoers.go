// Package sudoers writes Gatehouse's sudoers drop-ins: time-boxed rights,
// each for one user, to run one exact command as root (a sudo command the
// policy elevated) or any command (an admin session). sudo itself enforces
// them — the user, the command's SHA-256 digest, its exact arguments and
// the NOTBEFORE/NOTAFTER window — so a right ends at its time even when
// gatehoused is not running; gatehoused removes the file too.
//
// A syntax error in any file of /etc/sudoers.d can break sudo for every
// user, and gatehoused never starts a program (visudo), so the lines come
// from a small grammar with every word checked or escaped, and the tests
// run the real visudo and sudo on them (sudoers_test.go). The escaping was
// worked out against sudo 1.9.13: a backslash before , : = ! * ? [ ] #;
// four for a backslash (the lexer, then fnmatch); a leading ^ escaped (an
// argument list between ^ and $ is a regular expression); a command's
// path only of letters, digits and / . _ + @ % -. sudoers cannot
// express an empty argument, one holding white space or a control
// character, or one that is exactly "" (that means no arguments): such a
// command is refused with the reason.
package sudoers

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
	"unicode"
)

// Rule is one time-boxed right.
type Rule struct {
	UID uint32
	// Path, SHA256 and Args are the one command (Args exactly, none: no
	// arguments); unused for an admin session.
	Path   string
	SHA256 string
	Args   []string
	// AnyCommand makes it an admin session: any command as any user.
	AnyCommand bool
	// NotBefore (zero: now) and NotAfter bound it; sudo refuses outside.
	NotBefore, NotAfter time.Time
	// Password makes sudo ask for the user's password as usual; without it
	// the policy's requirement (a reason, an approval) was the check.
	Password bool
}

// Line is r as one sudoers line.
func (r Rule) Line() (string, error) {
	if r.NotAfter.IsZero() {
		return "", errors.New("a sudoers right needs an end (NotAfter)")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#%d ALL=", r.UID)
	if r.AnyCommand {
		b.WriteString("(ALL:ALL)")
	} else {
		b.WriteString("(root)")
	}
	if !r.NotBefore.IsZero() {
		b.WriteString(" NOTBEFORE=" + stamp(r.NotBefore))
	}
	b.WriteString(" NOTAFTER=" + stamp(r.NotAfter))
	if !r.Password {
		b.WriteString(" NOPASSWD:")
	}
	if r.AnyCommand {
		b.WriteString(" ALL")
		return b.String(), nil
	}
	if !sha256Hex.MatchString(r.SHA256) {
		return "", fmt.Errorf("%q is not a SHA-256 (64 lowercase hex digits)", r.SHA256)
	}
	if !filepath.IsAbs(r.Path) || filepath.Clean(r.Path) != r.Path || r.Path == "/" {
		return "", fmt.Errorf("the command %q is not an absolute, clean path to a file", r.Path)
	}
	if !safePath.MatchString(r.Path) {
		return "", fmt.Errorf("the command %q has characters sudoers does not take in a command's path (it takes letters, digits and / . _ + @ %% -): sudo cannot be told to allow it there", r.Path)
	}
	b.WriteString(" sha256:" + r.SHA256 + " " + r.Path)
	if len(r.Args) == 0 {
		b.WriteString(` ""`)
	}
	for i, a := range r.Args {
		w, err := word(a, fmt.Sprintf("argument %d", i+1))
		if err != nil {
			return "", err
		}
		if a == `""` {
			return "", fmt.Errorf("argument %d is exactly \"\", which sudoers reads as \"no arguments\": sudo cannot be told to allow it", i+1)
		}
		if i == 0 && strings.HasPrefix(w, "^") {
			w = `\` + w // not a regular expression
		}
		b.WriteString(" " + w)
	}
	return b.String(), nil
}

var (
	sha256Hex = regexp.MustCompile(`^[0-9a-f]{64}$`)
	safePath  = regexp.MustCompile(`^/[A-Za-z0-9._+@%/-]+$`)
)

// stamp is t in sudoers' generalized time, UTC.
func stamp(t time.Time) string { return t.UTC().Format("20060102150405Z") }

// word escapes s for a sudoers command or argument, or says why sudoers
// cannot hold it.
func word(s, what string) (string, error) {
	if s == "" {
		return "", fmt.Errorf("%s is empty, which sudoers cannot express: sudo cannot be told to allow it", what)
	}
	var b strings.Builder
	for _, c := range s {
		switch {
		case c == unicode.ReplacementChar, unicode.IsSpace(c), unicode.IsControl(c), c == 0x7f:
			return "", fmt.Errorf("%s %q holds white space or a control character, which sudoers cannot match exactly: sudo cannot be told to allow it", what, s)
		case c == '\\':
			b.WriteString(`\\\\`)
		case strings.ContainsRune(",:=!*?[]#", c):
			b.WriteRune('\\')
			b.WriteRune(c)
		default:
			b.WriteRune(c)
		}
	}
	return b.String(), nil
}

// Prefix starts the name of every drop-in this package writes; sudo
// skips names with a dot, which the temporary files have.
const Prefix = "gatehouse-"

var nameRE = regexp.MustCompile(`^[a-z0-9-]{1,64}$`)

// Dir is a sudoers.d directory (sudo reads it through the @includedir of
// /etc/sudoers).
type Dir string

// Default is where sudo looks on Debian and macOS (/etc is /private/etc
// there).
const Default Dir = "/etc/sudoers.d"

// Write puts rules in the drop-in Prefix+name, replacing it atomically:
// written to a temporary file sudo ignores, synced, made 0440, renamed.
func (d Dir) Write(name string, rules ...Rule) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("sudoers drop-in name %q: use lowercase letters, digits and dashes", name)
	}
	var b strings.Builder
	b.WriteString("# Written by gatehoused; removed when the right ends. Do not edit.\n")
	for _, r := range rules {
		l, err := r.Line()
		if err != nil {
			return err
		}
		b.WriteString(l + "\n")
	}
	tmp, err := os.CreateTemp(string(d), ".gatehouse-*.tmp")
	if err != nil {
		return fmt.Errorf("sudoers drop-in: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return fmt.Errorf("sudoers drop-in: %w", err)
	}
	if err := tmp.Chmod(0o440); err != nil {
		tmp.Close()
		return fmt.Errorf("sudoers drop-in: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sudoers drop-in: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("sudoers drop-in: %w", err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(string(d), Prefix+name)); err != nil {
		return fmt.Errorf("sudoers drop-in: %w", err)
	}
	return nil
}

// Remove deletes the drop-in Prefix+name; one already gone is not an error.
func (d Dir) Remove(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("sudoers drop-in name %q: use lowercase letters, digits and dashes", name)
	}
	if err := os.Remove(filepath.Join(string(d), Prefix+name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove sudoers drop-in: %w", err)
	}
	return nil
}

// List names the drop-ins this package wrote (without Prefix).
func (d Dir) List() ([]string, error) {
	ents, err := os.ReadDir(string(d))
	if err != nil {
		return nil, fmt.Errorf("list sudoers drop-ins: %w", err)
	}
	var out []string
	for _, e := range ents {
		if n, ok := strings.CutPrefix(e.Name(), Prefix); ok && nameRE.MatchString(n) {
			out = append(out, n)
		}
	}
	return out, nil
}
