//go:build linux

package main

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/scratch"
	"github.com/gatehouse/gatehouse/localapi"
)

// The ways around the enforcer of issue 13 item 1, end to end: a user runs
// a denied program from their own user and mount namespace.

// counter returns one of the daemon's counters.
func (e *env) counter(name string) uint64 {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	st, err := e.client().Status(ctx)
	if err != nil {
		e.t.Fatal(err)
	}
	return st.Counters[name]
}

// asUserInNamespaces runs argv as uid from a new user and mount namespace
// (setpriv … unshare -Urm), as that user could, and returns its output and
// error.
func asUserInNamespaces(t *testing.T, uid string, argv ...string) (string, error) {
	t.Helper()
	for _, tool := range []string{"setpriv", "unshare"} {
		_, err := exec.LookPath(tool)
		scratch.Need(t, err == nil, tool+" (util-linux)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	args := append([]string{"--reuid", uid, "--regid", uid, "--clear-groups", "unshare", "-Urm"}, argv...)
	cmd := exec.CommandContext(ctx, "setpriv", args...)
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%v did not finish within 20s", argv)
	}
	return string(out), err
}

// TestE2EDeniedInAUsersOwnNamespace: unshare -Urm as a normal user gives
// the user copies of every mount; the denied program run through them is
// denied and counted like any other exec of it.
func TestE2EDeniedInAUsersOwnNamespace(t *testing.T) {
	e := newEnv(t)
	e.start()
	bad := e.install("/bin/true", "blocked/bad")
	out, err := asUserInNamespaces(t, "1000", "true")
	scratch.Need(t, err == nil, "unprivileged user namespaces ("+strings.TrimSpace(out)+")")
	execs := e.counter("execs")
	out, err = asUserInNamespaces(t, "1000", bad)
	if err == nil || !strings.Contains(out, "Operation not permitted") {
		t.Fatalf("unshare -Urm %s as uid 1000: %v %q, want it refused with EPERM (operation not permitted)", bad, err, out)
	}
	e.waitEvent("the deny in the user's namespace", func(ev localapi.Event) bool {
		return ev.Path == bad && ev.Action == "deny" && ev.UID == 1000
	})
	if n := e.counter("execs"); n <= execs {
		t.Errorf("execs counter %d after the exec, %d before: not counted", n, execs)
	}
}
