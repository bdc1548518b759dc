//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/scratch"
	"github.com/gatehouse/gatehouse/localapi"
)

// TestDebInstallUpgradePurge builds the packages as `gatehouse-pkg deb`
// does, checks them with lintian, and installs them on this machine with
// dpkg: the installed gatehoused, started with a configuration seeded
// before the install (the shipped default marks every local filesystem;
// this one only a scratch tmpfs) and kept by dpkg as an edited conffile,
// denies a program; an upgrade to a rebuilt, higher version keeps the
// configuration and the audit events; purge removes everything.
func TestDebInstallUpgradePurge(t *testing.T) {
	scratch.NeedRoot(t, "installs the packages with dpkg")
	for _, tool := range []string{"dpkg", "lintian", "systemd-analyze"} {
		_, err := exec.LookPath(tool)
		scratch.Need(t, err == nil, tool+" (scripts/setup installs it)")
	}
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", "gatehouse").Output(); err == nil && strings.Contains(string(out), "installed") {
		scratch.Need(t, false, "a machine without the gatehouse package (this test installs and purges its own)")
	}
	if _, err := os.Stat("/etc/gatehouse"); err == nil {
		scratch.Need(t, false, "a machine without /etc/gatehouse (this test seeds its own)")
	}
	t.Chdir("../..")
	dist := t.TempDir()
	build := func(version string, agent bool) []string {
		t.Helper()
		args := []string{"deb", "--version", version, "--out", dist}
		if !agent {
			args = append(args, "--no-agent")
		}
		var out, errOut bytes.Buffer
		start := time.Now()
		if code := run(args, &out, &errOut); code != 0 {
			t.Fatalf("gatehouse-pkg %s: exit %d\n%s", strings.Join(args, " "), code, errOut.String())
		}
		t.Logf("built %s in %s", version, time.Since(start).Round(time.Second))
		return strings.Fields(out.String())
	}
	dpkg := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		c := exec.CommandContext(ctx, "dpkg", args...)
		c.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}

	pkgs := build("1.0.0", true)
	if len(pkgs) != 2 {
		t.Fatalf("packages %q, want gatehouse and gatehouse-agent", pkgs)
	}
	lint := exec.Command("lintian", append([]string{"--fail-on", "error,warning"}, pkgs...)...)
	if out, err := lint.CombinedOutput(); err != nil {
		t.Errorf("lintian: %v\n%s", err, out)
	}
	conffiles, err := exec.Command("dpkg-deb", "--ctrl-tarfile", pkgs[0]).Output()
	if err != nil || !bytes.Contains(conffiles, []byte("/etc/gatehouse/gatehoused.yaml")) {
		t.Errorf("the configuration is not a conffile (%v)", err)
	}

	// Seeded before the install: a scratch tmpfs only, a deny rule, the
	// socket in the test's directory, the package's database.
	mnt := scratch.Tmpfs(t)
	runDir := t.TempDir()
	// The sync's account (which the package makes) reaches the socket.
	for _, d := range []string{runDir, filepath.Dir(runDir)} {
		os.Chmod(d, 0o755)
	}
	seed := fmt.Sprintf("policy: /etc/gatehouse/policy.yaml\nsocket: %s/gatehoused.sock\nmounts: [%s]\nreload_interval: 100ms\nsync_user: gatehouse-sync\n", runDir, mnt)
	policy := fmt.Sprintf("id: deb-test\nrevision: 1\ndefault: allow\ngroups:\n  - name: blocked\n    definitions: [{path: {starts_with: %s/blocked/}}]\nrules:\n  - {group: blocked, action: deny}\n", mnt)
	os.MkdirAll("/etc/gatehouse", 0o755)
	os.WriteFile("/etc/gatehouse/gatehoused.yaml", []byte(seed), 0o644)
	os.WriteFile("/etc/gatehouse/policy.yaml", []byte(policy), 0o644)
	// Services do not start during the install (where systemd runs).
	const rcd = "/usr/sbin/policy-rc.d"
	if _, err := os.Stat(rcd); errors.Is(err, os.ErrNotExist) {
		os.WriteFile(rcd, []byte("#!/bin/sh\nexit 101\n"), 0o755)
		t.Cleanup(func() { os.Remove(rcd) })
	}
	t.Cleanup(func() {
		exec.Command("dpkg", "--purge", "gatehouse-agent", "gatehouse").Run()
		os.RemoveAll("/etc/gatehouse")
	})
	dpkg(append([]string{"-i", "--force-confold"}, pkgs...)...)
	for _, f := range []string{"/usr/sbin/gatehoused", "/usr/bin/gatehouse", "/usr/bin/gatehouse-agent", "/lib/systemd/system/gatehoused.service",
		"/lib/systemd/system/gatehouse-sync.service", "/lib/systemd/system/gatehouse-sync.path",
		"/etc/xdg/autostart/gatehouse-agent.desktop", "/etc/polkit-1/rules.d/10-gatehouse.rules", "/var/lib/gatehouse"} {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("installed: %v", err)
		}
	}
	// The units as systemd reads them (their programs and accounts exist).
	if out, err := exec.Command("systemd-analyze", "verify", "/lib/systemd/system/gatehoused.service",
		"/lib/systemd/system/gatehouse-sync.service", "/lib/systemd/system/gatehouse-sync.path").CombinedOutput(); err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	syncUser, err := user.Lookup("gatehouse-sync")
	if err != nil {
		t.Fatalf("the package did not make the sync's account: %v", err)
	}
	if out, _ := exec.Command("getent", "passwd", "gatehouse-sync").Output(); !bytes.HasSuffix(bytes.TrimSpace(out), []byte(":/usr/sbin/nologin")) ||
		!bytes.Contains(out, []byte(":/var/lib/gatehouse-sync:")) {
		t.Errorf("the sync's account is %q, want a system account with home /var/lib/gatehouse-sync and no shell", out)
	}
	if b, _ := os.ReadFile("/etc/gatehouse/gatehoused.yaml"); string(b) != seed {
		t.Fatalf("the seeded configuration was replaced at install:\n%s", b)
	}

	sock := filepath.Join(runDir, "gatehoused.sock")
	daemon := startInstalled(t, sock)
	blocked := filepath.Join(mnt, "blocked", "tool")
	os.Mkdir(filepath.Dir(blocked), 0o755)
	scratch.CopyFile(t, "/bin/true", blocked, 0o755)
	if err := exec.Command(blocked).Run(); !errors.Is(err, syscall.EPERM) {
		t.Errorf("the installed gatehoused let %s run: %v, want EPERM", blocked, err)
	}
	if st := status(t, sock); st.DaemonVersion != "1.0.0" {
		t.Errorf("the installed gatehoused says it is %q, want 1.0.0", st.DaemonVersion)
	}
	waitDeny(t, sock, blocked)
	// gatehoused takes the package's account for the sync, which reads
	// every user's events; another account reads only its own.
	if out := cliAs(t, syncUser, "events", "--json", "--socket", sock); !strings.Contains(out, blocked) {
		t.Errorf("as gatehouse-sync, gatehouse events does not show root's deny of %s:\n%s", blocked, out)
	}
	if nobody, err := user.Lookup("nobody"); err == nil {
		if out := cliAs(t, nobody, "events", "--json", "--socket", sock); strings.Contains(out, blocked) {
			t.Errorf("as nobody, gatehouse events shows root's deny:\n%s", out)
		}
	}
	daemon()

	// An upgrade to a rebuilt package: the configuration and the audit
	// events stay.
	next := build("1.0.1", false)
	dpkg("-i", "--force-confold", next[0])
	if out, _ := exec.Command("dpkg-query", "-W", "-f=${Version}", "gatehouse").Output(); string(out) != "1.0.1" {
		t.Errorf("installed version %q after the upgrade, want 1.0.1", out)
	}
	if b, _ := os.ReadFile("/etc/gatehouse/gatehoused.yaml"); string(b) != seed {
		t.Errorf("the edited configuration was replaced at upgrade:\n%s", b)
	}
	daemon = startInstalled(t, sock)
	if st := status(t, sock); st.DaemonVersion != "1.0.1" {
		t.Errorf("after the upgrade gatehoused says it is %q, want 1.0.1", st.DaemonVersion)
	}
	waitDeny(t, sock, blocked) // recorded by 1.0.0, read by 1.0.1
	daemon()

	// As "gatehoused enroll" leaves it, for purge to remove.
	os.MkdirAll("/var/lib/gatehouse-sync", 0o700)
	os.WriteFile("/var/lib/gatehouse-sync/identity.json", []byte("{}"), 0o600)
	dpkg("--purge", "gatehouse-agent", "gatehouse")
	for _, f := range []string{"/usr/sbin/gatehoused", "/usr/bin/gatehouse", "/usr/bin/gatehouse-agent", "/etc/gatehouse",
		"/var/lib/gatehouse", "/var/lib/gatehouse-sync", "/lib/systemd/system/gatehoused.service", "/lib/systemd/system/gatehouse-sync.service",
		"/lib/systemd/system/gatehouse-sync.path", "/etc/polkit-1/rules.d/10-gatehouse.rules"} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after purge %s is still there (%v)", f, err)
		}
	}
}

// startInstalled runs the installed gatehoused (as systemd would, without
// systemd) until it answers on sock, and returns its stop.
func startInstalled(t *testing.T, sock string) (stop func()) {
	t.Helper()
	var logs bytes.Buffer
	c := exec.Command("/usr/sbin/gatehoused", "--config", "/etc/gatehouse/gatehoused.yaml")
	c.Stdout, c.Stderr = &logs, &logs
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		c.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			c.Process.Kill()
			<-done
			t.Errorf("gatehoused did not stop within 20s of SIGTERM\n%s", logs.String())
		}
	}
	t.Cleanup(stop)
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, err := localapi.NewClient(sock).Status(ctx)
		cancel()
		if err == nil {
			return stop
		}
		select {
		case err := <-done:
			stopped = true
			t.Fatalf("the installed gatehoused exited: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the installed gatehoused did not answer within 20s: %v\n%s", err, logs.String())
		}
	}
}

func status(t *testing.T, sock string) localapi.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := localapi.NewClient(sock).Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// waitDeny waits for the audit event of path's deny.
func waitDeny(t *testing.T, sock, path string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		evs, err := localapi.NewClient(sock).Events(ctx, localapi.EventFilter{})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			if ev.Kind == "exec" && ev.Path == path && !ev.Allowed {
				return
			}
		}
	}
	t.Fatalf("no audit event of the deny of %s", path)
}

// cliAs runs the installed gatehouse as u and returns what it printed.
func cliAs(t *testing.T, u *user.User, args ...string) string {
	t.Helper()
	uid, _ := strconv.ParseUint(u.Uid, 10, 32)
	gid, _ := strconv.ParseUint(u.Gid, 10, 32)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := exec.CommandContext(ctx, "/usr/bin/gatehouse", args...)
	c.Dir = "/"
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	out, err := c.CombinedOutput()
	if err != nil {
		t.Errorf("gatehouse %s as %s: %v\n%s", strings.Join(args, " "), u.Username, err, out)
	}
	return string(out)
}
