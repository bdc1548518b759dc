//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/scratch"
	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/sudoers"
)

const sudoPolicy = `id: e2e-sudo
revision: 2
default: allow
groups:
  - name: sudo-id
    definitions: [{type: sudo, path: {exact: MNT/sudo/id}}]
  - name: sudo-just
    definitions: [{type: sudo, path: {exact: MNT/sudo/just}}]
  - name: sudo-appr
    definitions: [{type: sudo, path: {exact: MNT/sudo/appr}}]
  - name: sudo-bad
    definitions: [{type: sudo, path: {exact: MNT/sudo/bad}}]
rules:
  - {group: sudo-id, action: elevate}
  - {group: sudo-just, action: elevate, require: justification, min_justification: 10}
  - {group: sudo-appr, action: elevate, require: approval}
  - {group: sudo-bad, action: deny, message: {title: "{name} may not run as root", body: "Ask IT."}}
`

// sudoUser makes a throwaway user (sudo needs one in the passwd
// database), suffix telling several apart.
func sudoUser(t *testing.T, suffix string) (name string, uid uint32) {
	t.Helper()
	name = "ghe2e" + strconv.Itoa(os.Getpid()%100000) + suffix
	uid, _ = scratch.User(t, name)
	return name, uid
}

// TestE2ESudo: an unprivileged user runs commands as root through
// `gatehouse sudo` and the real sudo, under the policy: an elevated one
// runs; a denied one prints the rule's message; a justification is asked
// for on the terminal, a short one refused, a long enough one accepted and
// audited; an approval request is submitted, approved, and the re-run
// works, with other arguments not covered. The rights are sudoers
// drop-ins sudo enforces itself, gone after their window when gatehoused
// starts again.
func TestE2ESudo(t *testing.T) {
	_, err := exec.LookPath("sudo")
	scratch.Need(t, err == nil, "sudo (the sudo package; scripts/setup installs it)")
	e := newEnv(t)
	name, uid := sudoUser(t, "")
	before, _ := sudoers.Default.List()
	t.Cleanup(func() {
		after, _ := sudoers.Default.List()
		for _, n := range after {
			if !strings.Contains(strings.Join(before, " "), n) {
				sudoers.Default.Remove(n)
			}
		}
	})
	os.MkdirAll(filepath.Join(e.mnt, "sudo"), 0o755)
	for _, n := range []string{"id", "just", "appr", "bad"} {
		e.install("/usr/bin/id", "sudo/"+n)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "policy.yaml"), []byte(strings.ReplaceAll(sudoPolicy, "MNT", e.mnt)), 0o644); err != nil {
		t.Fatal(err)
	}
	e.config = "sudoers_dir: /etc/sudoers.d\nsudo_window: 10s\n"
	e.start()
	cmd := func(ctx context.Context, args ...string) *exec.Cmd {
		c := exec.CommandContext(ctx, bins.cli, append([]string{"sudo", "--socket", e.socket()}, args...)...)
		c.Dir = "/"
		c.Env = []string{"PATH=/usr/bin:/bin"}
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		return c
	}
	gsudo := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		out, err := cmd(ctx, args...).CombinedOutput()
		return string(out), err
	}
	mnt := e.mnt

	// Elevated: runs as root.
	out, err := gsudo(mnt+"/sudo/id", "-u")
	if err != nil || !strings.HasSuffix(out, "\n0\n") {
		t.Fatalf("gatehouse sudo id -u: %q %v, want it run as root (0)", out, err)
	}
	// Denied: the rule's message, nothing run.
	out, err = gsudo(mnt+"/sudo/bad", "-u")
	if err == nil || !strings.Contains(out, "bad may not run as root: Ask IT.") || strings.Contains(out, "\n0") {
		t.Errorf("gatehouse sudo bad: %q %v, want the rule's message and a failure", out, err)
	}

	// Justification on the terminal: too short, then enough.
	m, s := openPTY(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := cmd(ctx, mnt+"/sudo/just", "-u")
	c.Stdin, c.Stdout, c.Stderr = s, s, s
	c.SysProcAttr.Setsid, c.SysProcAttr.Setctty, c.SysProcAttr.Ctty = true, true, 0
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- c.Wait() }()
	// The terminal's output as one transcript, read on from where the
	// last expectation ended (one read may bring two prompts).
	var transcript strings.Builder
	seen := 0
	expect := func(want string) string {
		t.Helper()
		buf := make([]byte, 4096)
		for deadline := time.Now().Add(10 * time.Second); !strings.Contains(transcript.String()[seen:], want) && time.Now().Before(deadline); {
			m.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			n, _ := m.Read(buf)
			transcript.Write(buf[:n])
		}
		rest := transcript.String()[seen:]
		i := strings.Index(rest, want)
		if i < 0 {
			t.Fatalf("the terminal never showed %q; it showed %q", want, transcript.String())
		}
		seen += i + len(want)
		return rest[:i+len(want)]
	}
	expect("at least 10 characters): ")
	m.WriteString("short\n")
	if got := expect("at least 10 are needed"); !strings.Contains(got, "That is 5 characters") {
		t.Errorf("a short reason: %q", got)
	}
	expect("characters): ")
	m.WriteString("quarterly patching\n")
	got := expect("\n0")
	select {
	case err := <-waited:
		if err != nil {
			t.Errorf("gatehouse sudo just: %v; terminal %q", err, got)
		}
	case <-time.After(10 * time.Second):
		c.Process.Kill()
		t.Fatalf("gatehouse sudo just did not end; terminal %q", got)
	}
	if !strings.Contains(got, "\n0") {
		t.Errorf("the justified command's output %q, want 0 (root)", got)
	}
	e.waitEvent("the justified sudo command's audit", func(ev localapi.Event) bool {
		return ev.Kind == "sudo" && ev.Path == mnt+"/sudo/just" && ev.Reason == "quarterly patching" && ev.GrantID != 0 && ev.User == name
	})

	// Approval: submitted, approved by root, run; other arguments not covered.
	out, err = gsudo("--reason", "restart the print spooler", mnt+"/sudo/appr", "-u")
	if err == nil || !strings.Contains(out, "submitted for approval as request") {
		t.Fatalf("gatehouse sudo appr: %q %v, want an approval request", out, err)
	}
	var id int64
	fmt.Sscanf(out[strings.Index(out, "request ")+len("request "):], "%d", &id)
	if out, _ := e.cli(0, "requests"); !strings.Contains(out, mnt+"/sudo/appr") {
		t.Errorf("gatehouse requests does not list the sudo request %d: %s", id, out)
	}
	if out, err := gsudo(mnt+"/sudo/appr", "-u"); err == nil || !strings.Contains(out, fmt.Sprintf("waiting for approval: request %d", id)) {
		t.Errorf("before the approval: %q %v, want it waiting", out, err)
	}
	if _, err := e.client().Approve(context.Background(), id, "ok"); err != nil {
		t.Fatal(err)
	}
	if out, err := gsudo(mnt+"/sudo/appr", "-u"); err != nil || !strings.HasSuffix(out, "\n0\n") {
		t.Errorf("after the approval: %q %v, want it run as root", out, err)
	}
	if out, err := gsudo("--reason", "and the group too", mnt+"/sudo/appr", "-g"); err == nil || !strings.Contains(out, "submitted for approval") {
		t.Errorf("other arguments: %q %v, want a new request (the grant is for -u only)", out, err)
	}
	raw := exec.Command("sudo", "-n", mnt+"/sudo/appr", "-g")
	raw.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	if out, err := raw.CombinedOutput(); err == nil {
		t.Errorf("sudo appr -g ran without gatehouse: %q", out)
	}

	// The elevated rights' window (10 s) ends in sudo itself; a start of
	// gatehoused removes the drop-ins of ended rights.
	time.Sleep(11 * time.Second)
	raw = exec.Command("sudo", "-n", mnt+"/sudo/id", "-u")
	raw.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	if out, err := raw.CombinedOutput(); err == nil {
		t.Errorf("sudo id -u ran after its window: %q", out)
	}
	e.stop()
	e.start()
	left, _ := sudoers.Default.List()
	for _, n := range left {
		if strings.HasPrefix(n, "sudo-") && !strings.Contains(strings.Join(before, " "), n) {
			// Only the approved right (approval_ttl) may remain.
			if b, _ := os.ReadFile(filepath.Join(string(sudoers.Default), sudoers.Prefix+n)); !strings.Contains(string(b), "/sudo/appr -u") {
				t.Errorf("drop-in %s left after its window and a restart: %s", n, b)
			}
		}
	}
}
