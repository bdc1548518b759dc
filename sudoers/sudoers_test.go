package sudoers

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/scratch"
)

var sum = strings.Repeat("ab", 32)

func TestLineRefusesWhatSudoersCannotHold(t *testing.T) {
	end := time.Now().Add(time.Minute)
	for _, tt := range []struct {
		r    Rule
		want string
	}{
		{Rule{UID: 1, Path: "/usr/bin/apt", SHA256: sum, Args: []string{""}, NotAfter: end}, "is empty"},
		{Rule{UID: 1, Path: "/usr/bin/apt", SHA256: sum, Args: []string{"a b"}, NotAfter: end}, "white space"},
		{Rule{UID: 1, Path: "/usr/bin/apt", SHA256: sum, Args: []string{"a\nALL"}, NotAfter: end}, "white space"},
		{Rule{UID: 1, Path: "/usr/bin/apt", SHA256: sum, Args: []string{"\x00"}, NotAfter: end}, "control"},
		{Rule{UID: 1, Path: "/usr/bin/apt", SHA256: sum, Args: []string{"\xff"}, NotAfter: end}, "control"},
		{Rule{UID: 1, Path: "/usr/bin/apt", SHA256: sum, Args: []string{`""`}, NotAfter: end}, "no arguments"},
		{Rule{UID: 1, Path: "/usr/bin/apt", SHA256: "ABCD", NotAfter: end}, "not a SHA-256"},
		{Rule{UID: 1, Path: "apt", SHA256: sum, NotAfter: end}, "absolute"},
		{Rule{UID: 1, Path: "/usr/bin/../bin/sh", SHA256: sum, NotAfter: end}, "clean"},
		{Rule{UID: 1, Path: "/usr/bin/my tool", SHA256: sum, NotAfter: end}, "does not take"},
		{Rule{UID: 1, Path: "/usr/bin/a!b", SHA256: sum, NotAfter: end}, "does not take"},
		{Rule{UID: 1, Path: "/", SHA256: sum, NotAfter: end}, "to a file"},
		{Rule{UID: 1, Path: "/usr/bin/apt", SHA256: sum}, "needs an end"},
	} {
		if l, err := tt.r.Line(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: %q, %v; want an error saying %q", tt.r, l, err, tt.want)
		}
	}
	l, err := Rule{UID: 1001, Path: "/usr/bin/apt", SHA256: sum, Args: []string{"^x$", "a,b", `c\d`}, NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1e9, 0)}.Line()
	if want := `#1001 ALL=(root) NOTBEFORE=19700101000000Z NOTAFTER=20010909014640Z NOPASSWD: sha256:` + sum + ` /usr/bin/apt \^x$ a\,b c\\\\d`; err != nil || l != want {
		t.Errorf("line\n %q, %v\nwant %q", l, err, want)
	}
	if l, _ := (Rule{UID: 7, AnyCommand: true, Password: true, NotAfter: time.Unix(1e9, 0)}).Line(); l != "#7 ALL=(ALL:ALL) NOTAFTER=20010909014640Z ALL" {
		t.Errorf("an admin session's line %q", l)
	}
}

func TestDirWritesAtomicallyAndListsItsOwn(t *testing.T) {
	d := Dir(t.TempDir())
	os.WriteFile(filepath.Join(string(d), "someone-else"), []byte("x"), 0o440)
	r := Rule{UID: 1, Path: "/usr/bin/apt", SHA256: sum, NotAfter: time.Now().Add(time.Minute)}
	if err := d.Write("sudo-7", r); err != nil {
		t.Fatal(err)
	}
	if err := d.Write("Bad.Name", r); err == nil {
		t.Error("a name sudo would skip (a dot) was taken")
	}
	if err := d.Write("sudo-8", Rule{UID: 1, Path: "apt", NotAfter: time.Now()}); err == nil {
		t.Error("a bad rule was written")
	}
	fi, err := os.Stat(filepath.Join(string(d), "gatehouse-sudo-7"))
	if err != nil || fi.Mode().Perm() != 0o440 {
		t.Fatalf("drop-in: %v %v, want mode 0440", fi, err)
	}
	names, err := d.List()
	if err != nil || len(names) != 1 || names[0] != "sudo-7" {
		t.Errorf("list %q %v, want only sudo-7 (no temporary file, not someone else's)", names, err)
	}
	if err := d.Remove("sudo-7"); err != nil {
		t.Fatal(err)
	}
	if err := d.Remove("sudo-7"); err != nil {
		t.Errorf("removing one already gone: %v", err)
	}
}

// needSudo: the real sudo and visudo (the set-up installs the sudo
// package; CI has them).
func needSudo(t *testing.T) {
	t.Helper()
	scratch.NeedRoot(t, "writes /etc/sudoers.d and makes a throwaway user")
	_, e1 := exec.LookPath("sudo")
	_, e2 := exec.LookPath("visudo")
	scratch.Need(t, e1 == nil && e2 == nil, "sudo and visudo (the sudo package; scripts/setup installs it)")
}

// The lines sudo is given match exactly what they name, as the real
// visudo and sudo read them: every argument the escaping handles runs,
// one character more does not, nor another file under the same name, nor
// anything once the window has closed.
func TestRealSudoRunsExactlyTheCommand(t *testing.T) {
	needSudo(t)
	uid, gid := scratch.User(t, "ghsudo"+strconv.Itoa(os.Getpid()%100000))
	dir, err := os.MkdirTemp("", "gh-sudoers-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	prog := filepath.Join(dir, "say")
	if err := os.WriteFile(prog, []byte("#!/bin/sh\nprintf '%s|' \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(prog)
	h := sha256.Sum256(b)
	d := Default
	name := "test-" + strconv.Itoa(os.Getpid())
	defer d.Remove(name)
	sudo := func(args ...string) (string, error) {
		cmd := exec.Command("sudo", append([]string{"-n", prog}, args...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
		cmd.Dir = "/"
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	write := func(r Rule) {
		t.Helper()
		if err := d.Write(name, r); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("visudo", "-cf", filepath.Join(string(d), Prefix+name)).CombinedOutput(); err != nil {
			t.Fatalf("visudo refuses %+v: %v %s", r, err, out)
		}
	}
	corpus := [][]string{nil, {"install", "curl"}, {"a,b", "x:y", "k=v", "!neg", "star*", "q?", "[ab]", "#hash"},
		{`back\slash`, `trail\`, `\`}, {"^caret$"}, {"^x", "y$"}, {"p(q)", "~t", "$d", `"dq"`, "'sq'", "ünï", ";s", "&a", "|p", "<l>", "{b}", "`b`"},
		{"ALL"}, {"-", "--", "%h", "@x", "sha256:00"}, {`"`}}
	for _, args := range corpus {
		write(Rule{UID: uid, Path: prog, SHA256: hex.EncodeToString(h[:]), Args: args, NotAfter: time.Now().Add(time.Minute)})
		out, err := sudo(args...)
		if want := strings.Join(args, "|") + "|"; err != nil || out != want { // printf with no arguments prints one "|"
			t.Errorf("args %q: %q %v, want them run (%q)", args, out, err, want)
		}
		more := append(append([]string(nil), args...), "x")
		if out, err := sudo(more...); err == nil {
			t.Errorf("args %q allowed %q as well: %q", args, more, out)
		}
		if len(args) > 0 {
			changed := append([]string(nil), args...)
			changed[0] += "x"
			if out, err := sudo(changed...); err == nil {
				t.Errorf("args %q allowed %q as well: %q", args, changed, out)
			}
		}
	}
	// The window: not yet, and over.
	for _, r := range []Rule{
		{UID: uid, Path: prog, SHA256: hex.EncodeToString(h[:]), NotBefore: time.Now().Add(time.Hour), NotAfter: time.Now().Add(2 * time.Hour)},
		{UID: uid, Path: prog, SHA256: hex.EncodeToString(h[:]), NotAfter: time.Now().Add(-time.Second)},
	} {
		write(r)
		if out, err := sudo(); err == nil {
			t.Errorf("outside its window (%v–%v) the command ran: %q", r.NotBefore, r.NotAfter, out)
		}
	}
	// Another file under the same name: refused by its digest.
	write(Rule{UID: uid, Path: prog, SHA256: hex.EncodeToString(h[:]), NotAfter: time.Now().Add(time.Minute)})
	if err := os.WriteFile(prog, []byte("#!/bin/sh\nid\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	var ee *exec.ExitError
	if out, err := sudo(); !errors.As(err, &ee) {
		t.Errorf("a changed file ran: %q %v", out, err)
	}
}

// FuzzLine: any command and arguments give a line, or an error saying
// why; a line is one line, names the digest, and (with root and visudo)
// is one visudo accepts.
func FuzzLine(f *testing.F) {
	for _, s := range []string{"install", `a\,b`, "^x$", "\n", `""`, "ü", "#", "x y"} {
		f.Add("/usr/bin/apt", s, "b")
	}
	visudo, err := exec.LookPath("visudo")
	check := err == nil && os.Geteuid() == 0
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, path, a, b string) {
		// The path as fuzzed, and a plain one so the arguments get far.
		for _, p := range []string{path, "/usr/bin/apt"} {
			l, err := Rule{UID: 1, Path: p, SHA256: sum, Args: []string{a, b}, NotAfter: time.Unix(2e9, 0)}.Line()
			if err != nil {
				continue
			}
			if strings.ContainsAny(l, "\n\r\x00") || !strings.Contains(l, "sha256:"+sum) {
				t.Fatalf("line %q", l)
			}
			if check {
				f := filepath.Join(dir, "line")
				os.WriteFile(f, []byte(l+"\n"), 0o440)
				if out, err := exec.Command(visudo, "-cf", f).CombinedOutput(); err != nil {
					t.Fatalf("visudo refuses %q: %s", l, out)
				}
			}
		}
	})
}
