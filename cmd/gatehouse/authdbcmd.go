package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/internal/authdb"
)

// gatehouse authdb puts macOS authorization rights under Gatehouse's
// mechanism and gives them back (docs/macos.md, "Authorization requests
// (the padlock)"). internal/authdb works out the definitions; this file
// runs them through /usr/bin/security and keeps each right's original, the
// only thing an uninstall needs, in a file of its own. It lives in the CLI
// because gatehoused starts no programs: the .pkg's postinstall script, or
// IT, runs it as root.

// originalsDir is where the originals are kept, one file per right
// (RIGHT.plist, the definition as `security authorizationdb read` printed
// it before the install). It is root's alone: uninstall writes these files
// into the authorization database as root.
const originalsDir = "/Library/Application Support/Gatehouse/authdb"

const authdbUsage = `usage:
  gatehouse authdb install RIGHT...      (root, macOS) put each right under Gatehouse's mechanism
  gatehouse authdb uninstall [RIGHT...]  (root, macOS) give each back (default: every right Gatehouse manages)
  gatehouse authdb status                the managed rights, and whether each is still Gatehouse's wrapper
`

// securityRunner is the authorization database as /usr/bin/security shows
// it: the seam the tests fake.
type securityRunner interface {
	// read returns right's definition, an XML property list; errNoRight
	// when the database has none.
	read(right string) ([]byte, error)
	// write sets right's definition to plist.
	write(right string, plist []byte) error
	// remove deletes name; a name the database does not have is no error.
	remove(name string) error
}

var errNoRight = errors.New("no such right in the authorization database")

// authdbHost is what the authdb commands use outside the process.
type authdbHost struct {
	security securityRunner
	dir      string // where the originals are kept
	root     func() bool
}

// newAuthdbHost returns the real one (tests replace it).
var newAuthdbHost = func() authdbHost {
	return authdbHost{
		security: newSecurityRunner(),
		dir:      originalsDir,
		root:     func() bool { return os.Geteuid() == 0 },
	}
}

// cmdAuthdb dispatches "gatehouse authdb ...".
func cmdAuthdb(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, authdbUsage)
		return exitUsage
	}
	switch args[0] {
	case "install":
		return cmdAuthdbInstall(newAuthdbHost(), args[1:], stdout, stderr)
	case "uninstall":
		return cmdAuthdbUninstall(newAuthdbHost(), args[1:], stdout, stderr)
	case "status":
		return cmdAuthdbStatus(newAuthdbHost(), args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, authdbUsage)
		return exitOK
	}
	fmt.Fprintf(stderr, "gatehouse authdb: unknown command %q; use install, uninstall or status\n", args[0])
	return exitUsage
}

func cmdAuthdbInstall(h authdbHost, args []string, stdout, stderr io.Writer) int {
	const name = "gatehouse authdb install"
	flags := newFlagSet(name, name+" RIGHT...", stderr)
	rights, err := parseArgs(flags, args)
	if err != nil {
		return flagErr(err)
	}
	if len(rights) == 0 {
		fmt.Fprintf(stderr, "%s: name the rights to put under Gatehouse, e.g. %s system.preferences\n", name, name)
		return exitUsage
	}
	if !checkRights(name, rights, stderr) {
		return exitUsage
	}
	if !h.root() {
		return needRoot(name, h.dir, args, stderr)
	}
	if !eachRight(name, rights, func(r string) (string, error) { return installRight(h, r) }, stdout, stderr) {
		return exitFail
	}
	return exitOK
}

// eachRight does do for every right, printing what it says or its error,
// and reports whether every right succeeded (one failure does not stop the
// others).
func eachRight(name string, rights []string, do func(right string) (string, error), stdout, stderr io.Writer) bool {
	ok := true
	for _, r := range rights {
		msg, err := do(r)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			ok = false
			continue
		}
		fmt.Fprintln(stdout, msg)
	}
	return ok
}

// installRight puts right under Gatehouse: its original kept on disk
// first, then authdb.Install's writes in its order (com.gatehouse.decide
// and the copy of the original before the right that delegates to them).
func installRight(h authdbHost, right string) (string, error) {
	path := originalPath(h.dir, right)
	current, err := h.security.read(right)
	if errors.Is(err, errNoRight) {
		return "", fmt.Errorf("%s is not in the authorization database: Gatehouse puts existing rights under its mechanism, not new ones (check the name with `security authorizationdb read %s`)", right, right)
	}
	if err != nil {
		return "", err
	}
	plan, err := authdb.Install(right, current)
	if errors.Is(err, authdb.ErrManaged) {
		return repairManaged(h, right)
	}
	if err != nil {
		return "", err
	}
	// Kept before the first write: a crash after any of them leaves what
	// uninstall needs. A file kept by an earlier install is replaced: the
	// right is not Gatehouse's now (that install stopped before its last
	// write, or macOS replaced the right since), so what it is now is what
	// an uninstall should give back.
	if err := keepOriginal(h.dir, right, plan.Original); err != nil {
		return "", fmt.Errorf("%s: keep its original definition: %w; nothing was changed", right, err)
	}
	if err := apply(h.security, plan); err != nil {
		return "", fmt.Errorf("%s: %w; its original is kept in %s: `gatehouse authdb uninstall %s` gives it back, or run the install again", right, err, path, right)
	}
	// authd keeps only what it accepts: check that the right is ours now.
	def, err := h.security.read(right)
	if err == nil {
		var managed bool
		if managed, err = authdb.Managed(def); err == nil && !managed {
			err = errors.New("it does not delegate to " + authdb.DecideRight)
		}
	}
	if err != nil {
		return "", fmt.Errorf("%s was written, but reading it back: %w; its original is kept in %s: `gatehouse authdb uninstall %s` gives it back", right, err, path, right)
	}
	return fmt.Sprintf("%s: under Gatehouse now (its original is kept in %s)", right, path), nil
}

// repairManaged answers an install of a right that is Gatehouse's wrapper
// already: nothing to do when its original is kept and the rules it
// delegates to are there; a missing helper rule is written again.
func repairManaged(h authdbHost, right string) (string, error) {
	path := originalPath(h.dir, right)
	original, err := loadOriginal(h.dir, right)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s is under Gatehouse already, but its original is not kept in %s, so an uninstall cannot give it back; the database still has the copy %s: save `security authorizationdb read %s` as that file (0600, root)", right, path, authdb.OriginalName(right), authdb.OriginalName(right))
	}
	if err != nil {
		return "", err
	}
	var repaired []string
	for _, w := range []authdb.Write{
		{Name: authdb.DecideRight, Definition: authdb.Decide()},
		{Name: authdb.OriginalName(right), Definition: original},
	} {
		_, err := h.security.read(w.Name)
		if err == nil {
			continue
		}
		if !errors.Is(err, errNoRight) {
			return "", err
		}
		if err := h.security.write(w.Name, w.Definition); err != nil {
			return "", fmt.Errorf("%s is under Gatehouse, but the rule it delegates to is missing and writing it again: %w", right, err)
		}
		repaired = append(repaired, w.Name)
	}
	msg := fmt.Sprintf("%s: under Gatehouse already (its original is kept in %s)", right, path)
	if len(repaired) > 0 {
		msg += "; written again, as they were missing: " + strings.Join(repaired, ", ")
	}
	return msg, nil
}

func cmdAuthdbUninstall(h authdbHost, args []string, stdout, stderr io.Writer) int {
	const name = "gatehouse authdb uninstall"
	flags := newFlagSet(name, name+" [RIGHT...]", stderr)
	rights, err := parseArgs(flags, args)
	if err != nil {
		return flagErr(err)
	}
	if !checkRights(name, rights, stderr) {
		return exitUsage
	}
	if !h.root() {
		return needRoot(name, h.dir, args, stderr)
	}
	if len(rights) == 0 {
		if rights, err = keptRights(h.dir); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			return exitFail
		}
		if len(rights) == 0 {
			fmt.Fprintf(stdout, "no right is under Gatehouse (no original is kept in %s)\n", h.dir)
		}
	}
	if !eachRight(name, rights, func(r string) (string, error) { return uninstallRight(h, r) }, stdout, stderr) {
		return exitFail
	}
	// Every managed right delegates to com.gatehouse.decide: it goes only
	// when no original is kept any more, that is after the last right is
	// given back.
	left, err := keptRights(h.dir)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitFail
	}
	if len(left) > 0 {
		fmt.Fprintf(stdout, "%s stays: %s still under Gatehouse (%s)\n", authdb.DecideRight, plural(len(left), "right"), strings.Join(left, ", "))
		return exitOK
	}
	if err := h.security.remove(authdb.DecideRight); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitFail
	}
	fmt.Fprintf(stdout, "%s: removed (no right is under Gatehouse now)\n", authdb.DecideRight)
	return exitOK
}

// uninstallRight gives right back, from its kept original: authdb.Uninstall
// writes the original over the right first, then removes Gatehouse's copy;
// the kept file goes last, once the database needs it no more.
func uninstallRight(h authdbHost, right string) (string, error) {
	path := originalPath(h.dir, right)
	original, err := loadOriginal(h.dir, right)
	if errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("%s: no original is kept in %s, so there is nothing to give back: Gatehouse did not install it (`gatehouse authdb status` lists the rights it manages); nothing was changed", right, path)
	}
	if err != nil {
		return "", err
	}
	current, err := h.security.read(right)
	switch {
	case errors.Is(err, errNoRight):
		current = nil
	case err != nil:
		return "", fmt.Errorf("%w; nothing was changed", err)
	}
	plan, err := authdb.Uninstall(right, current, original)
	if err != nil {
		return "", err
	}
	if err := apply(h.security, plan); err != nil {
		return "", fmt.Errorf("%s: %w; its original is still kept in %s: run the uninstall again", right, err, path)
	}
	if err := forgetOriginal(h.dir, right); err != nil {
		return "", fmt.Errorf("%s is given back, but its kept original stays: %w", right, err)
	}
	if plan.Replaced {
		return fmt.Sprintf("%s: not Gatehouse's wrapper (given back already, or replaced by a macOS update or an administrator since the install): left as it is; %s removed", right, authdb.OriginalName(right)), nil
	}
	return fmt.Sprintf("%s: given back (its original definition is written back; %s removed)", right, authdb.OriginalName(right)), nil
}

// apply runs a plan as authdb orders it, the writes and then the removals,
// and stops at the first failure.
func apply(s securityRunner, p authdb.Plan) error {
	for _, w := range p.Writes {
		if err := s.write(w.Name, w.Definition); err != nil {
			return err
		}
	}
	for _, n := range p.Removes {
		if err := s.remove(n); err != nil {
			return err
		}
	}
	return nil
}

func cmdAuthdbStatus(h authdbHost, args []string, stdout, stderr io.Writer) int {
	const name = "gatehouse authdb status"
	flags := newFlagSet(name, name, stderr)
	pos, err := parseArgs(flags, args)
	if err != nil {
		return flagErr(err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", name, pos[0])
		return exitUsage
	}
	rights, err := keptRights(h.dir)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		if errors.Is(err, fs.ErrPermission) {
			fmt.Fprintf(stderr, "the kept originals are root's: run \"sudo %s\"\n", name)
		}
		return exitFail
	}
	_, err = h.security.read(authdb.DecideRight)
	decide := err == nil
	if err != nil && !errors.Is(err, errNoRight) {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitFail
	}
	if len(rights) == 0 {
		fmt.Fprintf(stdout, "no right is under Gatehouse (no original is kept in %s)\n", h.dir)
		if decide {
			fmt.Fprintf(stdout, "%s is still in the database: `gatehouse authdb uninstall` removes it\n", authdb.DecideRight)
		}
		return exitOK
	}
	problems := false
	for _, r := range rights {
		state, ok := rightState(h.security, r)
		fmt.Fprintf(stdout, "%s: %s\n", r, state)
		problems = problems || !ok
	}
	if !decide {
		fmt.Fprintf(stdout, "%s: missing, and every managed right asks it first: `gatehouse authdb install RIGHT` writes it again\n", authdb.DecideRight)
		problems = true
	}
	if problems {
		return exitFail
	}
	return exitOK
}

// rightState says what a right whose original is kept is now, and whether
// that is as the install left it.
func rightState(s securityRunner, right string) (string, bool) {
	def, err := s.read(right)
	if errors.Is(err, errNoRight) {
		return "missing from the authorization database; `gatehouse authdb uninstall " + right + "` forgets its original", false
	}
	if err != nil {
		return err.Error(), false
	}
	managed, err := authdb.Managed(def)
	if err != nil {
		return fmt.Sprintf("its definition does not read: %v", err), false
	}
	if !managed {
		return "NOT Gatehouse's wrapper any more (a macOS update or an administrator replaced it since the install); `gatehouse authdb uninstall " + right + "` leaves it as it is and forgets its original", false
	}
	if _, err := s.read(authdb.OriginalName(right)); errors.Is(err, errNoRight) {
		return fmt.Sprintf("under Gatehouse, but its copy %s is missing: `gatehouse authdb install %s` writes it again", authdb.OriginalName(right), right), false
	} else if err != nil {
		return err.Error(), false
	}
	return "under Gatehouse", true
}

// checkRights reports the names authdb refuses to manage, all of them,
// before anything is read or written.
func checkRights(name string, rights []string, stderr io.Writer) bool {
	ok := true
	for _, r := range rights {
		if err := checkRight(r); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", name, err)
			ok = false
		}
	}
	if !ok {
		fmt.Fprintf(stderr, "%s: nothing was changed\n", name)
	}
	return ok
}

// checkRight refuses what authdb refuses, by asking it: authdb exports no
// check of its own, and Install of a definition that reads well (Decide's)
// fails for the right's name alone. The name is also a file name under
// the originals directory: authdb's names have no '/' and do not start
// with '.'.
func checkRight(right string) error {
	_, err := authdb.Install(right, authdb.Decide())
	return err
}

func needRoot(name, dir string, args []string, stderr io.Writer) int {
	fmt.Fprintf(stderr, "%s changes the authorization database and keeps the originals in %s, root's alone: run \"sudo %s\"\n", name, dir, strings.Join(append([]string{name}, args...), " "))
	return exitFail
}

// The kept originals. What uninstall reads from here it writes into the
// authorization database as root, so the directory and its files must be
// writable by their owner alone, and that owner is the one running: a
// file anyone else could have put there is refused.

func originalPath(dir, right string) string { return filepath.Join(dir, right+".plist") }

// keptRights lists the rights whose originals are kept, sorted.
func keptRights(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list the kept originals: %w", err)
	}
	var rights []string
	for _, e := range entries {
		r, ok := strings.CutSuffix(e.Name(), ".plist")
		// Temporary files start with '.'; checkRight refuses other strays.
		if !ok || !e.Type().IsRegular() || strings.HasPrefix(r, ".") || checkRight(r) != nil {
			continue
		}
		rights = append(rights, r)
	}
	return rights, nil
}

// keepOriginal stores def as right's original: a temporary file, synced,
// renamed over the old one, and the directory synced, so a crash leaves
// either the old file or the new one, whole.
func keepOriginal(dir, right string, def []byte) (err error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	if err := checkOwned(dir, true); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+right+".plist.*") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(def); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, originalPath(dir, right)); err != nil {
		return err
	}
	return syncDir(dir)
}

// loadOriginal reads right's kept original; fs.ErrNotExist when there is
// none.
func loadOriginal(dir, right string) ([]byte, error) {
	if err := checkOwned(dir, true); err != nil {
		return nil, err
	}
	path := originalPath(dir, right)
	if err := checkOwned(path, false); err != nil {
		return nil, err
	}
	return os.ReadFile(path)
}

func forgetOriginal(dir, right string) error {
	if err := os.Remove(originalPath(dir, right)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// checkOwned checks that path is a directory (or a regular file), not a
// symbolic link, owned by the user running and writable by no one else.
func checkOwned(path string, dir bool) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	want := "a regular file"
	if dir {
		want = "a directory"
	}
	if dir && !fi.IsDir() || !dir && !fi.Mode().IsRegular() {
		return fmt.Errorf("%s is not %s (%s); move it away", path, want, fi.Mode().Type())
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("%s: no owner to check", path)
	}
	if int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is owned by uid %d, not by the user running (uid %d): it is not trusted; check it, then chown it", path, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("%s is writable by others (mode %04o): it is not trusted; check it, then chmod go-w it", path, fi.Mode().Perm())
	}
	return nil
}

// newSecurityRunner returns the runner for this system: /usr/bin/security
// on macOS, one that only says so elsewhere. (A runtime.GOOS test, not
// per-OS files, only because this command is one file; the exec code
// builds everywhere and is tested with a stand-in for security.)
func newSecurityRunner() securityRunner {
	if runtime.GOOS != "darwin" {
		return notMacOS{}
	}
	return execSecurity{path: "/usr/bin/security", timeout: time.Minute}
}

// notMacOS is the runner, and the error, off macOS.
type notMacOS struct{}

func (notMacOS) Error() string {
	return "gatehouse authdb runs on macOS (it changes the authorization database with /usr/bin/security)"
}
func (notMacOS) Is(target error) bool          { return target == errors.ErrUnsupported }
func (e notMacOS) read(string) ([]byte, error) { return nil, e }
func (e notMacOS) write(string, []byte) error  { return e }
func (e notMacOS) remove(string) error         { return e }

var _ securityRunner = notMacOS{}

// execSecurity runs security(1)'s authorizationdb verbs, as Apple's
// SecurityTool/macOS/authz.c has them: `read RIGHT` prints the definition
// as an XML property list on stdout, `write RIGHT` (no third argument)
// reads one from stdin, `remove RIGHT` deletes it (no error for a right
// that is not there: authd's authorization_right_remove). Each ends by
// printing "YES (0)" or "NO (status)" on stderr and exits non-zero on
// failure. A read of a right the database does not have fails with
// errAuthorizationDenied, -60005 (authorization_right_get). As root, a
// write or remove asks for no password: config.modify. and config.remove.
// begin with is-root, and config.add. allows anyone (authd's
// authorization.plist).
type execSecurity struct {
	path    string
	timeout time.Duration // authd could wait on a dialog no one sees
}

func (s execSecurity) run(stdin []byte, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	args = append([]string{"authorizationdb"}, args...)
	cmd := exec.CommandContext(ctx, s.path, args...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(errb.String())
		if msg == "" {
			return nil, fmt.Errorf("security %s: %w", strings.Join(args, " "), err)
		}
		return nil, fmt.Errorf("security %s: %s (%w)", strings.Join(args, " "), msg, err)
	}
	return out.Bytes(), nil
}

func (s execSecurity) read(right string) ([]byte, error) {
	out, err := s.run(nil, "read", right)
	if err != nil && strings.Contains(err.Error(), "NO (-60005)") {
		return nil, fmt.Errorf("%s: %w", right, errNoRight)
	}
	return out, err
}

func (s execSecurity) write(right string, plist []byte) error {
	_, err := s.run(plist, "write", right)
	return err
}

func (s execSecurity) remove(name string) error {
	_, err := s.run(nil, "remove", name)
	return err
}
