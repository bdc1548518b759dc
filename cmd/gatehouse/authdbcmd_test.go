package main

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/authdb"
	"github.com/google/go-cmp/cmp"
	"howett.net/plist"
)

// The rights of internal/authdb's testdata, as `security authorizationdb
// read` prints them.
var testRights = []string{"system.install.software", "system.preferences", "system.services.systemconfiguration.network"}

// fakeSecurity is the authorization database in memory. Like authd it
// refuses a class rule right whose delegates do not exist yet, and
// removing a right it does not have is no error.
type fakeSecurity struct {
	db   map[string][]byte
	ops  []string         // "write NAME", "remove NAME", in order
	fail map[string]error // by op: the op fails, nothing done
	// failAfter: the op is done, then fails (security died after authd
	// committed).
	failAfter map[string]error
}

func newFakeSecurity(t *testing.T) *fakeSecurity {
	t.Helper()
	f := &fakeSecurity{db: map[string][]byte{}, fail: map[string]error{}, failAfter: map[string]error{}}
	// The rules the originals delegate to.
	rule := []byte("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<plist version=\"1.0\"><dict><key>class</key><string>allow</string></dict></plist>\n")
	for _, r := range []string{"is-root", "entitled", "_mbsetupuser-nonshared", "authenticate-admin-nonshared"} {
		f.db[r] = rule
	}
	for _, r := range testRights {
		b, err := os.ReadFile(filepath.Join("../../internal/authdb/testdata", r+".plist"))
		if err != nil {
			t.Fatal(err)
		}
		f.db[r] = b
	}
	return f
}

func (f *fakeSecurity) read(right string) ([]byte, error) {
	b, ok := f.db[right]
	if !ok {
		return nil, fmt.Errorf("%s: %w", right, errNoRight)
	}
	return bytes.Clone(b), nil
}

func (f *fakeSecurity) write(right string, def []byte) error {
	op := "write " + right
	if err := f.fail[op]; err != nil {
		return err
	}
	var d map[string]any
	if _, err := plist.Unmarshal(def, &d); err != nil {
		return fmt.Errorf("%s: not a dict: %w", op, err)
	}
	if d["class"] == "rule" {
		names, _ := d["rule"].([]any)
		for _, n := range names {
			if _, ok := f.db[n.(string)]; !ok {
				return fmt.Errorf("%s: it delegates to %v, which does not exist", op, n)
			}
		}
	}
	f.ops = append(f.ops, op)
	f.db[right] = bytes.Clone(def)
	return f.failAfter[op]
}

func (f *fakeSecurity) remove(name string) error {
	op := "remove " + name
	if err := f.fail[op]; err != nil {
		return err
	}
	f.ops = append(f.ops, op)
	delete(f.db, name)
	return f.failAfter[op]
}

// useFakeHost makes the authdb commands use f, a directory of the test's
// and root as given.
func useFakeHost(t *testing.T, f *fakeSecurity, root bool) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "Gatehouse", "authdb")
	prev := newAuthdbHost
	newAuthdbHost = func() authdbHost {
		return authdbHost{security: f, dir: dir, root: func() bool { return root }}
	}
	t.Cleanup(func() { newAuthdbHost = prev })
	return dir
}

func snapshot(db map[string][]byte) map[string]string {
	m := map[string]string{}
	for k, v := range db {
		m[k] = string(v)
	}
	return m
}

func gatehouseNames(db map[string][]byte) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(db)) {
		if strings.HasPrefix(k, "com.gatehouse.") {
			out = append(out, k)
		}
	}
	return out
}

func TestAuthdbInstallStatusUninstallGivesBackTheOriginalsByteForByte(t *testing.T) {
	f := newFakeSecurity(t)
	dir := useFakeHost(t, f, true)
	before := snapshot(f.db)

	code, out, errOut := runCLI(t, append([]string{"authdb", "install"}, testRights...)...)
	if code != exitOK {
		t.Fatalf("install: code %d\n%s%s", code, out, errOut)
	}
	var want []string
	for _, r := range testRights {
		// The helper rules before the right that delegates to them.
		want = append(want, "write "+authdb.DecideRight, "write "+authdb.OriginalName(r), "write "+r)
		if m, err := authdb.Managed(f.db[r]); err != nil || !m {
			t.Errorf("%s after install: managed %v, %v", r, m, err)
		}
		if !strings.Contains(out, r+": under Gatehouse now") {
			t.Errorf("install output does not report %s:\n%s", r, out)
		}
		kept, err := os.ReadFile(filepath.Join(dir, r+".plist"))
		if err != nil || string(kept) != before[r] {
			t.Errorf("kept original of %s differs from the definition read (%v)", r, err)
		}
		if fi, err := os.Stat(filepath.Join(dir, r+".plist")); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("kept original of %s: %v, %v; want mode 0600", r, fi.Mode(), err)
		}
	}
	if diff := cmp.Diff(want, f.ops); diff != "" {
		t.Errorf("install ops (-want +got):\n%s", diff)
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("originals directory: %v, %v; want mode 0700", fi.Mode(), err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != len(testRights) {
		t.Errorf("originals directory holds %d files, want %d (no temporary ones left)", len(entries), len(testRights))
	}

	code, out, errOut = runCLI(t, "authdb", "status")
	if code != exitOK {
		t.Errorf("status: code %d\n%s%s", code, out, errOut)
	}
	for _, r := range testRights {
		if !strings.Contains(out, r+": under Gatehouse\n") {
			t.Errorf("status does not show %s under Gatehouse:\n%s", r, out)
		}
	}

	f.ops = nil
	code, out, errOut = runCLI(t, "authdb", "uninstall")
	if code != exitOK {
		t.Fatalf("uninstall: code %d\n%s%s", code, out, errOut)
	}
	if diff := cmp.Diff(before, snapshot(f.db)); diff != "" {
		t.Errorf("database after uninstall differs from before install (-before +after):\n%s", diff)
	}
	want = nil
	for _, r := range testRights {
		// The right back first, then the copy it delegated to.
		want = append(want, "write "+r, "remove "+authdb.OriginalName(r))
	}
	want = append(want, "remove "+authdb.DecideRight)
	if diff := cmp.Diff(want, f.ops); diff != "" {
		t.Errorf("uninstall ops (-want +got):\n%s", diff)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("originals left after uninstall: %v", entries)
	}
	code, out, _ = runCLI(t, "authdb", "status")
	if code != exitOK || !strings.Contains(out, "no right is under Gatehouse") {
		t.Errorf("status after uninstall: code %d\n%s", code, out)
	}
}

func TestAuthdbInstallTwiceIsHarmless(t *testing.T) {
	f := newFakeSecurity(t)
	dir := useFakeHost(t, f, true)
	if code, out, errOut := runCLI(t, "authdb", "install", "system.preferences"); code != exitOK {
		t.Fatalf("install: code %d\n%s%s", code, out, errOut)
	}
	installed := snapshot(f.db)
	kept, _ := os.ReadFile(filepath.Join(dir, "system.preferences.plist"))
	f.ops = nil

	code, out, errOut := runCLI(t, "authdb", "install", "system.preferences")
	if code != exitOK || !strings.Contains(out, "system.preferences: under Gatehouse already") {
		t.Errorf("second install: code %d\n%s%s", code, out, errOut)
	}
	if len(f.ops) != 0 {
		t.Errorf("second install changed the database: %v", f.ops)
	}
	if diff := cmp.Diff(installed, snapshot(f.db)); diff != "" {
		t.Errorf("database (-first +second):\n%s", diff)
	}
	if again, _ := os.ReadFile(filepath.Join(dir, "system.preferences.plist")); !bytes.Equal(kept, again) {
		t.Error("second install replaced the kept original with the wrapper")
	}

	// A helper rule lost since is written again; the right is not touched.
	delete(f.db, authdb.DecideRight)
	code, out, _ = runCLI(t, "authdb", "status")
	if code != exitFail || !strings.Contains(out, authdb.DecideRight+": missing") {
		t.Errorf("status without %s: code %d\n%s", authdb.DecideRight, code, out)
	}
	code, out, errOut = runCLI(t, "authdb", "install", "system.preferences")
	if code != exitOK || !strings.Contains(out, "written again") {
		t.Errorf("install without %s: code %d\n%s%s", authdb.DecideRight, code, out, errOut)
	}
	if diff := cmp.Diff([]string{"write " + authdb.DecideRight}, f.ops); diff != "" {
		t.Errorf("repair ops (-want +got):\n%s", diff)
	}
}

func TestAuthdbUninstallRefusesARightWithNoKeptOriginal(t *testing.T) {
	f := newFakeSecurity(t)
	useFakeHost(t, f, true)
	before := snapshot(f.db)
	code, out, errOut := runCLI(t, "authdb", "uninstall", "system.preferences")
	if code != exitFail || !strings.Contains(errOut, "system.preferences: no original is kept in") || !strings.Contains(errOut, "nothing was changed") {
		t.Errorf("code %d\n%s%s", code, out, errOut)
	}
	if len(f.ops) != 0 {
		t.Errorf("ops %v", f.ops)
	}
	if diff := cmp.Diff(before, snapshot(f.db)); diff != "" {
		t.Errorf("database changed (-before +after):\n%s", diff)
	}
}

func TestAuthdbWriteFailureLeavesTheOriginalKeptAndUninstallGivesItBack(t *testing.T) {
	const right = "system.install.software"
	injected := errors.New("security authorizationdb write: NO (-60005)")
	for _, tc := range []struct {
		name      string
		fail      map[string]error
		failAfter map[string]error
	}{
		{"the copy is refused", map[string]error{"write " + authdb.OriginalName(right): injected}, nil},
		{"the right itself is refused", map[string]error{"write " + right: injected}, nil},
		{"the right is written, then security fails", nil, map[string]error{"write " + right: injected}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSecurity(t)
			dir := useFakeHost(t, f, true)
			before := snapshot(f.db)
			maps.Copy(f.fail, tc.fail)
			maps.Copy(f.failAfter, tc.failAfter)

			code, out, errOut := runCLI(t, "authdb", "install", right)
			if code != exitFail || !strings.Contains(errOut, "gatehouse authdb uninstall "+right) {
				t.Errorf("install: code %d\n%s%s", code, out, errOut)
			}
			kept, err := os.ReadFile(filepath.Join(dir, right+".plist"))
			if err != nil || string(kept) != before[right] {
				t.Fatalf("the original is not kept after the failed install (%v)", err)
			}
			code, out, _ = runCLI(t, "authdb", "status")
			if code != exitFail && tc.failAfter == nil {
				t.Errorf("status after a failed install: code %d\n%s", code, out)
			}

			clear(f.fail)
			clear(f.failAfter)
			code, out, errOut = runCLI(t, "authdb", "uninstall", right)
			if code != exitOK {
				t.Fatalf("uninstall: code %d\n%s%s", code, out, errOut)
			}
			if diff := cmp.Diff(before, snapshot(f.db)); diff != "" {
				t.Errorf("database after uninstall (-before +after):\n%s", diff)
			}
			if _, err := os.Stat(filepath.Join(dir, right+".plist")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("kept original after uninstall: %v", err)
			}
		})
	}
}

func TestAuthdbRefusedRightNamesChangeNothing(t *testing.T) {
	for _, tc := range []struct{ right, why string }{
		{"system.preferences.", "wildcard"},
		{"config.modify.system.preferences", "authorization database itself"},
		{"system.login.console", "login right"},
		{"authenticate", "is a rule"},
		{authdb.DecideRight, "Gatehouse's own"},
		{"../../etc/passwd", "dotted name"},
		{".hidden", "dotted name"},
	} {
		for _, verb := range []string{"install", "uninstall"} {
			t.Run(verb+" "+tc.right, func(t *testing.T) {
				f := newFakeSecurity(t)
				dir := useFakeHost(t, f, true)
				code, out, errOut := runCLI(t, "authdb", verb, "system.preferences", tc.right)
				if code != exitUsage || !strings.Contains(errOut, tc.why) || !strings.Contains(errOut, "nothing was changed") {
					t.Errorf("code %d\n%s%s", code, out, errOut)
				}
				if len(f.ops) != 0 {
					t.Errorf("ops %v", f.ops)
				}
				if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("originals directory made: %v", err)
				}
			})
		}
	}
}

func TestAuthdbChangesNeedRoot(t *testing.T) {
	for _, args := range [][]string{{"install", "system.preferences"}, {"uninstall"}} {
		f := newFakeSecurity(t)
		useFakeHost(t, f, false)
		code, _, errOut := runCLI(t, append([]string{"authdb"}, args...)...)
		if code != exitFail || !strings.Contains(errOut, `run "sudo gatehouse authdb `+strings.Join(args, " ")+`"`) || len(f.ops) != 0 {
			t.Errorf("%v as a user: code %d, ops %v\n%s", args, code, f.ops, errOut)
		}
	}
}

// A right replaced since the install (a macOS update with a higher
// version) is reported, and uninstall leaves it as it is.
func TestAuthdbARightReplacedSinceTheInstallIsLeftAlone(t *testing.T) {
	const right = "system.preferences"
	f := newFakeSecurity(t)
	dir := useFakeHost(t, f, true)
	if code, out, errOut := runCLI(t, "authdb", "install", right); code != exitOK {
		t.Fatalf("install: code %d\n%s%s", code, out, errOut)
	}
	apple := bytes.Replace(f.db[authdb.OriginalName(right)], []byte("<integer>0</integer>"), []byte("<integer>1</integer>"), 1)
	f.db[right] = apple

	code, out, _ := runCLI(t, "authdb", "status")
	if code != exitFail || !strings.Contains(out, right+": NOT Gatehouse's wrapper any more") {
		t.Errorf("status: code %d\n%s", code, out)
	}
	code, out, errOut := runCLI(t, "authdb", "uninstall")
	if code != exitOK || !strings.Contains(out, right+": not Gatehouse's wrapper") {
		t.Errorf("uninstall: code %d\n%s%s", code, out, errOut)
	}
	if !bytes.Equal(f.db[right], apple) {
		t.Error("uninstall wrote the old original over the newer right")
	}
	if got := gatehouseNames(f.db); len(got) != 0 {
		t.Errorf("left in the database: %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, right+".plist")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("kept original after uninstall: %v", err)
	}
}

// What uninstall writes as root must come from root: an originals
// directory or file that others can write is refused.
func TestAuthdbUninstallRefusesOriginalsOthersCanWrite(t *testing.T) {
	const right = "system.preferences"
	for _, tc := range []struct {
		name string
		make func(dir string)
	}{
		{"directory", func(dir string) { os.Chmod(dir, 0o777) }},
		{"file", func(dir string) { os.Chmod(filepath.Join(dir, right+".plist"), 0o666) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeSecurity(t)
			dir := useFakeHost(t, f, true)
			if code, out, errOut := runCLI(t, "authdb", "install", right); code != exitOK {
				t.Fatalf("install: code %d\n%s%s", code, out, errOut)
			}
			tc.make(dir)
			installed := snapshot(f.db)
			code, out, errOut := runCLI(t, "authdb", "uninstall", right)
			if code != exitFail || !strings.Contains(errOut, "writable by others") {
				t.Errorf("code %d\n%s%s", code, out, errOut)
			}
			if diff := cmp.Diff(installed, snapshot(f.db)); diff != "" {
				t.Errorf("database changed (-before +after):\n%s", diff)
			}
		})
	}
}

func TestAuthdbUsage(t *testing.T) {
	if code, _, errOut := runCLI(t, "authdb"); code != exitUsage || !strings.Contains(errOut, "gatehouse authdb install RIGHT...") {
		t.Errorf("no verb: code %d\n%s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "authdb", "frobnicate"); code != exitUsage || !strings.Contains(errOut, "use install, uninstall or status") {
		t.Errorf("unknown verb: code %d\n%s", code, errOut)
	}
	f := newFakeSecurity(t)
	useFakeHost(t, f, true)
	if code, _, errOut := runCLI(t, "authdb", "install"); code != exitUsage || !strings.Contains(errOut, "name the rights") {
		t.Errorf("install with no right: code %d\n%s", code, errOut)
	}
	if code, _, _ := runCLI(t, "authdb", "status", "extra"); code != exitUsage {
		t.Errorf("status with an argument: code %d", code)
	}
	if code, out, _ := runCLI(t, "--help"); code != exitOK || !strings.Contains(out, "authdb install RIGHT...") {
		t.Errorf("gatehouse --help does not list authdb:\n%s", out)
	}
}

// The exec runner against a stand-in for security(1) that behaves as
// authz.c does: the verbs after "authorizationdb", the definition on
// stdout and stdin, "YES (0)" or "NO (status)" on stderr.
func TestExecSecurityRunsAuthorizationdb(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "db")
	log := filepath.Join(dir, "log")
	if err := os.Mkdir(db, 0o700); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "security")
	if err := os.WriteFile(script, []byte(`#!/bin/sh
echo "$*" >> '`+log+`'
[ "$1" = authorizationdb ] || { echo "usage" >&2; exit 2; }
f='`+db+`'/"$3"
case "$2" in
read)   [ -f "$f" ] || { echo "NO (-60005)" >&2; exit 255; }; cat "$f" ;;
write)  cat > "$f" || { echo "NO (-60008)" >&2; exit 255; } ;;
remove) rm -f "$f" ;;
*)      echo "usage" >&2; exit 2 ;;
esac
echo "YES (0)" >&2
`), 0o755); err != nil {
		t.Fatal(err)
	}
	s := execSecurity{path: script, timeout: 10 * time.Second}
	def := authdb.Decide()
	if _, err := s.read(authdb.DecideRight); !errors.Is(err, errNoRight) {
		t.Errorf("read of a missing right: %v, want errNoRight", err)
	}
	if err := s.write(authdb.DecideRight, def); err != nil {
		t.Fatal(err)
	}
	got, err := s.read(authdb.DecideRight)
	if err != nil || !bytes.Equal(got, def) {
		t.Errorf("read after write: %q, %v", got, err)
	}
	if err := s.remove(authdb.DecideRight); err != nil {
		t.Fatal(err)
	}
	if _, err := s.read(authdb.DecideRight); !errors.Is(err, errNoRight) {
		t.Errorf("read after remove: %v", err)
	}
	calls, _ := os.ReadFile(log)
	want := strings.Join([]string{
		"authorizationdb read " + authdb.DecideRight,
		"authorizationdb write " + authdb.DecideRight,
		"authorizationdb read " + authdb.DecideRight,
		"authorizationdb remove " + authdb.DecideRight,
		"authorizationdb read " + authdb.DecideRight,
	}, "\n") + "\n"
	if diff := cmp.Diff(want, string(calls)); diff != "" {
		t.Errorf("command lines (-want +got):\n%s", diff)
	}
	// Any other failure is an error that carries what security said.
	bad := execSecurity{path: filepath.Join(dir, "no-such-security"), timeout: 10 * time.Second}
	if _, err := bad.read("x"); err == nil || errors.Is(err, errNoRight) {
		t.Errorf("read with no security: %v", err)
	}
	if err := s.write("a/b", def); err == nil || errors.Is(err, errNoRight) || !strings.Contains(err.Error(), "security authorizationdb write a/b: ") || !strings.Contains(err.Error(), "NO (-60008)") {
		t.Errorf("failed write: %v", err)
	}
}

func TestCheckRightIsAuthdbs(t *testing.T) {
	for _, r := range append([]string{"com.example.tool-settings", "system.privilege.admin"}, testRights...) {
		if err := checkRight(r); err != nil {
			t.Errorf("checkRight(%q) = %v", r, err)
		}
	}
	for _, r := range []string{"", "a/b", "system.", "config.add.x", "system.login.screensaver", "authenticate", "com.gatehouse.original.x"} {
		if err := checkRight(r); err == nil {
			t.Errorf("checkRight(%q) = nil", r)
		}
	}
}
