//go:build linux

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/internal/scratch"
	"github.com/gatehouse/gatehouse/internal/testbus"
	"github.com/gatehouse/gatehouse/localapi"
)

// polkitPolicy decides pkexec (org.freedesktop.policykit.exec) for the
// throwaway user's shell by ACTION.
const polkitPolicy = `id: e2e-polkit
revision: %d
default: allow
groups:
  - name: pkexec
    definitions: [{type: binary, auth_uri: {exact: org.freedesktop.policykit.exec}}]
rules:
  - {group: pkexec, action: ACTION, users: [USER], min_justification: 5, message: {title: "{name} may not use pkexec"}}
`

// TestE2EPolkit: pkexec, run by an unprivileged user, under the policy,
// with Debian's polkitd on a system bus of the test's own and Gatehouse's
// polkit rule (build/linux/polkit): allowed, it runs the command as root
// without a password; denied, polkit refuses; a justification refuses it,
// makes a request the user answers, and the retry runs; a right no rule
// names is left to polkit (which wants an administrator's password here,
// and has no agent to ask for it). Each decision is an audit event.
func TestE2EPolkit(t *testing.T) {
	_, err := exec.LookPath("pkexec")
	scratch.Need(t, err == nil, "pkexec (the pkexec package; scripts/setup installs it)")
	e := newEnv(t)
	name, uid := sudoUser(t, "p")
	rev := 1
	policy := func(action string) {
		t.Helper()
		rev++
		p := strings.NewReplacer("ACTION", action, "USER", name).Replace(fmt.Sprintf(polkitPolicy, rev))
		if err := os.WriteFile(filepath.Join(e.dir, "policy.yaml"), []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
		want := int64(rev)
		e.waitFor(fmt.Sprintf("policy revision %d", rev), func() bool {
			st, err := e.client().Status(context.Background())
			return err == nil && st.PolicyRevision == want
		})
	}
	e.start()
	policy("allow")

	// The rule as the .deb installs it, with this build's CLI and socket.
	b, err := os.ReadFile("../../build/linux/polkit/10-gatehouse.rules")
	if err != nil {
		t.Fatal(err)
	}
	rule := strings.Replace(string(b), `"/usr/bin/gatehouse", "polkit-check",`,
		fmt.Sprintf("%q, \"polkit-check\", \"--socket\", %q,", bins.cli, e.socket()), 1)
	if rule == string(b) {
		t.Fatal("the rule's helper command line is not where the test expects it")
	}
	rulePath := fmt.Sprintf("/etc/polkit-1/rules.d/00-gatehouse-e2e-%d.rules", os.Getpid())
	if err := os.WriteFile(rulePath, []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(rulePath) })
	testbus.StartPolkitd(t, testbus.StartSystemBus(t))

	pkexec := func() (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// Through a shell of the user's that stays pkexec's parent
		// (pkexec asks for its parent; a shell that exec'd it would leave
		// the test's own process, root, as the subject).
		c := exec.CommandContext(ctx, "/bin/sh", "-c", "pkexec /usr/bin/id -u; s=$?; exit $s")
		c.Dir = "/"
		c.Env = []string{"PATH=/usr/bin:/bin"}
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}, Setsid: true}
		out, err := c.CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	authEvent := func(what string, ok func(localapi.Event) bool) localapi.Event {
		t.Helper()
		return e.waitEvent(what, func(ev localapi.Event) bool {
			return ev.Kind == "auth" && ev.UID == uid && len(ev.Args) == 1 && ev.Args[0] == "org.freedesktop.policykit.exec" && ok(ev)
		})
	}

	if out, err := pkexec(); err != nil || out != "0" {
		t.Fatalf("allowed: pkexec id -u = %q, %v; want 0 (root, no password)", out, err)
	}
	authEvent("the allowed right", func(ev localapi.Event) bool { return ev.Allowed && ev.Action == "allow" })

	policy("deny")
	if out, err := pkexec(); err == nil || !strings.Contains(out, "Not authorized") {
		t.Errorf("denied: %q %v, want polkit's refusal", out, err)
	}
	authEvent("the refused right", func(ev localapi.Event) bool { return !ev.Allowed && ev.Action == "deny" })

	policy("justification")
	if out, err := pkexec(); err == nil || !strings.Contains(out, "Not authorized") {
		t.Errorf("justification, before the answer: %q %v, want a refusal", out, err)
	}
	var req localapi.Request
	e.waitFor("the justification's request", func() bool {
		rs, _ := e.client().Requests(context.Background())
		for _, r := range rs {
			if r.UID == uid && r.AppType == "auth" {
				req = r
				return true
			}
		}
		return false
	})
	if req.Title != "dash may not use pkexec" || len(req.Args) != 1 || req.Args[0] != "org.freedesktop.policykit.exec" {
		t.Errorf("the request: %+v", req)
	}
	ans := exec.Command(bins.cli, "request", fmt.Sprint(req.ID), "--reason", "restart cups", "--socket", e.socket())
	ans.Dir = "/"
	ans.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: uid}}
	if out, err := ans.CombinedOutput(); err != nil {
		t.Fatalf("the user's answer: %s %v", out, err)
	}
	if out, err := pkexec(); err != nil || out != "0" {
		t.Errorf("the retry after the answer: %q %v, want 0", out, err)
	}
	authEvent("the right granted by the answer", func(ev localapi.Event) bool {
		return ev.Allowed && ev.GrantID != 0 && ev.Reason == "restart cups"
	})

	// No rule names it for another user's shell... here: no rule at all.
	policy("audit") // a rule that allows and records: still named
	if out, err := pkexec(); err != nil || out != "0" {
		t.Errorf("audit: %q %v, want 0", out, err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "policy.yaml"), []byte(fmt.Sprintf("id: e2e-polkit\nrevision: %d\ndefault: allow\nrules: []\n", rev+1)), 0o644); err != nil {
		t.Fatal(err)
	}
	rev++
	e.waitFor("the policy without rules", func() bool {
		st, err := e.client().Status(context.Background())
		return err == nil && st.PolicyRevision == int64(rev)
	})
	if out, err := pkexec(); err == nil || strings.Contains(out, "Not authorized") || out == "0" {
		t.Errorf("no rule: %q %v, want polkit's own answer (an administrator's password, and no agent to ask for it)", out, err)
	}
}
