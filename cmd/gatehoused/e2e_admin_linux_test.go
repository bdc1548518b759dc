//go:build linux

package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/scratch"
	"github.com/gatehouse/gatehouse/internal/sqlitedb"
	"github.com/gatehouse/gatehouse/internal/testbus"
	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/sudoers"
)

const adminPolicy = `id: e2e-admin
revision: 2
default: {action: allow, audit: false}
rules: []
admin_sessions:
  - {name: quick, users: [USER], max_duration: 2m, default_duration: 1m}
  - {name: approved, users: [APPR], require: approval, max_duration: 1h}
  - {name: admins-too, users: [ADMIN]}
`

// TestE2EAdminSession: timed admin rights with the real sudo and
// throwaway users: a session is granted and sudo runs anything for the
// user; a second request while it runs returns it; it ends early on
// request and for real at its end, also across a kill -9 (the restart
// removes it); a logout (logind) ends it, every exec in it is tagged, and
// what still runs as root is named; a user no entry includes is refused; one that needs an
// approval gets the rights when it is given (a second request meanwhile
// finds the first waiting); an admin who had sudo rights
// before keeps them after the session.
func TestE2EAdminSession(t *testing.T) {
	_, err := exec.LookPath("sudo")
	scratch.Need(t, err == nil, "sudo (the sudo package; scripts/setup installs it)")
	e := newEnv(t)
	user, uid := sudoUser(t, "")
	appr, apprUID := sudoUser(t, "a")
	admin, adminUID := sudoUser(t, "b")
	_, otherUID := sudoUser(t, "c")
	// admin was an administrator before: sudoers says so in a file of its own.
	own := filepath.Join(string(sudoers.Default), "zz-test-"+strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(own, []byte(fmt.Sprintf("%s ALL=(ALL:ALL) NOPASSWD: ALL\n", admin)), 0o440); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(own) })
	before, _ := sudoers.Default.List()
	t.Cleanup(func() {
		after, _ := sudoers.Default.List()
		for _, n := range after {
			if !strings.Contains(strings.Join(before, " "), n) {
				sudoers.Default.Remove(n)
			}
		}
	})
	p := strings.NewReplacer("USER", user, "APPR", appr, "ADMIN", admin).Replace(adminPolicy)
	if err := os.WriteFile(filepath.Join(e.dir, "policy.yaml"), []byte(p), 0o644); err != nil {
		t.Fatal(err)
	}
	e.config = "sudoers_dir: /etc/sudoers.d\n"
	// logind on a bus of the test's own (systemd-logind needs systemd).
	bus := testbus.StartBus(t)
	logind := testbus.StartFakeLogind(t, bus.Address)
	logind.AddSession(t, "c7", uid, false)
	e.environ = []string{"DBUS_SYSTEM_BUS_ADDRESS=" + bus.Address}
	e.start()
	e.waitFor("gatehoused to follow logind", func() bool { return strings.Contains(e.log.String(), "logind: following sessions") })
	as := func(u uint32, args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c := exec.CommandContext(ctx, bins.cli, append([]string{"admin", "--socket", e.socket()}, args...)...)
		c.Dir = "/"
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u, Gid: u}}
		out, err := c.CombinedOutput()
		return string(out), err
	}
	rootSudo := func(u uint32) error { // sudo -n id -u as u: root?
		c := exec.Command("sudo", "-n", "/usr/bin/id", "-u")
		c.Dir = "/"
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: u, Gid: u}}
		out, err := c.CombinedOutput()
		if err == nil && strings.TrimSpace(string(out)) != "0" {
			err = fmt.Errorf("ran as %q", out)
		}
		return err
	}
	if rootSudo(uid) == nil {
		t.Fatal("the user had sudo rights before any session")
	}

	// Granted; sudo runs anything; a second request returns the session.
	if out, err := as(uid); err != nil || !strings.Contains(out, "You have admin rights until") {
		t.Fatalf("gatehouse admin: %q %v", out, err)
	}
	if err := rootSudo(uid); err != nil {
		t.Errorf("sudo during the session: %v", err)
	}
	if out, err := as(uid, "--for", "2m"); err != nil || !strings.Contains(out, "runs already") {
		t.Errorf("a second request: %q %v, want the running session", out, err)
	}
	if out, err := as(uid, "--for", "3h"); err == nil || !strings.Contains(out, "ask for 1m to 2m0s") {
		t.Errorf("longer than the entry allows: %q %v", out, err)
	}
	// Ended on request.
	if out, err := as(uid, "--end"); err != nil || !strings.Contains(out, "has ended") {
		t.Fatalf("gatehouse admin --end: %q %v", out, err)
	}
	if rootSudo(uid) == nil {
		t.Error("sudo after the session ended")
	}

	// Every exec of a session is recorded with it — the user's own and
	// what they run through sudo —, though the policy records none; a
	// logout ends it, and what still runs as root is named.
	userTool := filepath.Join(e.mnt, "bin", "session-tool")
	rootJob := filepath.Join(e.mnt, "bin", "root-job")
	os.WriteFile(userTool, []byte("#!/bin/sh\nexit 0\n"), 0o755)
	os.WriteFile(rootJob, []byte("#!/bin/sh\nexec sleep 120\n"), 0o755)
	if out, err := as(uid, "--for", "2m"); err != nil {
		t.Fatalf("a session to log out of: %q %v", out, err)
	}
	run := func(args ...string) *exec.Cmd {
		c := exec.Command(args[0], args[1:]...)
		c.Dir = "/"
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
		return c
	}
	if out, err := run(userTool).CombinedOutput(); err != nil {
		t.Fatalf("the user's tool: %q %v", out, err)
	}
	job := run("sudo", "-n", rootJob)
	if err := job.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { job.Process.Kill(); job.Wait() })
	var grant int64
	e.waitEvent("the user's exec, tagged", func(ev localapi.Event) bool {
		grant = ev.Session
		return ev.Kind == "exec" && ev.Path == userTool && ev.UID == uid && ev.Session != 0
	})
	e.waitEvent("the root job's exec, tagged", func(ev localapi.Event) bool {
		return ev.Kind == "exec" && ev.Path == rootJob && ev.UID == 0 && ev.Session == grant
	})
	logind.Remove(t, "c7")
	e.waitEvent("the session's end at logout, naming the root job", func(ev localapi.Event) bool {
		return ev.Kind == "admin_session" && ev.Action == "end" && ev.GrantID == grant &&
			strings.Contains(ev.Detail, "ended at logout") && strings.Contains(ev.Detail, "sleep (pid ")
	})
	if rootSudo(uid) == nil {
		t.Error("sudo after the logout")
	}
	job.Process.Kill()
	job.Wait()
	// Across a kill -9: the session's end passes while gatehoused is
	// down; sudo refuses by itself, and the restart removes the file.
	if out, err := as(uid, "--for", "1m"); err != nil {
		t.Fatalf("a new session: %q %v", out, err)
	}
	e.cmd.Process.Kill()
	<-e.waited
	e.cmd = nil
	ours, _ := sudoers.Default.List()
	var session string
	for _, n := range ours {
		if strings.HasPrefix(n, "admin-") && !strings.Contains(strings.Join(before, " "), n) {
			session = n
		}
	}
	if session == "" {
		t.Fatal("no admin drop-in while the session runs")
	}
	// Move the session's end into the past (as if a minute had gone by).
	path := filepath.Join(string(sudoers.Default), sudoers.Prefix+session)
	b, _ := os.ReadFile(path)
	past := time.Now().Add(-time.Second).UTC().Format("20060102150405Z")
	os.WriteFile(path, []byte(notAfter.ReplaceAllString(string(b), "NOTAFTER="+past)), 0o440)
	// And in gatehoused's database (it is down: nothing else writes it).
	db, err := sql.Open(sqlitedb.DriverName, sqlitedb.DSN(filepath.Join(e.dir, "db", "gatehouse.db"), false))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`UPDATE grants SET expires = ? WHERE kind = 'admin' AND revoked = 0`, time.Now().Add(-time.Second).UnixNano()); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if rootSudo(uid) == nil {
		t.Error("sudo after the session's end, gatehoused down")
	}
	e.start()
	e.waitFor("the ended session's drop-in removed at start", func() bool {
		_, err := os.Stat(path)
		return os.IsNotExist(err)
	})

	// Refused by the policy.
	if out, err := as(otherUID); err == nil || !strings.Contains(out, "does not let you") {
		t.Errorf("a user no entry includes: %q %v", out, err)
	}
	// Approval needed and given: the session starts at the approval.
	out, err := as(apprUID, "--for", "10m", "--reason", "install the printer driver")
	if err != nil || !strings.Contains(out, "Submitted for approval as request") {
		t.Fatalf("approval: %q %v", out, err)
	}
	var id int64
	fmt.Sscanf(out[strings.Index(out, "request ")+len("request "):], "%d", &id)
	if rootSudo(apprUID) == nil {
		t.Error("sudo before the approval")
	}
	// A second request while the first waits: the same request, not two.
	if out, err := as(apprUID, "--for", "5m", "--reason", "and the scanner too"); err != nil || !strings.Contains(out, fmt.Sprintf("Waiting for approval: request %d", id)) {
		t.Errorf("an overlapping request: %q %v, want the first one waiting", out, err)
	}
	if _, err := e.client().Approve(context.Background(), id, "ok"); err != nil {
		t.Fatal(err)
	}
	if err := rootSudo(apprUID); err != nil {
		t.Errorf("sudo after the approval: %v", err)
	}
	e.waitEvent("the approved session's audit", func(ev localapi.Event) bool {
		return ev.Kind == "admin_session" && ev.UID == apprUID && ev.RequestID == id && ev.GrantID != 0
	})
	// An administrator before keeps their rights after a session.
	if out, err := as(adminUID, "--for", "1m"); err != nil {
		t.Fatalf("admin's session: %q %v", out, err)
	}
	if out, err := as(adminUID, "--end"); err != nil {
		t.Fatalf("admin's end: %q %v", out, err)
	}
	if err := rootSudo(adminUID); err != nil {
		t.Errorf("an administrator lost their own sudo rights at a session's end: %v", err)
	}
}

var notAfter = regexp.MustCompile(`NOTAFTER=[0-9]+Z`)
