package enforcer_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/enforcertest"
	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/request"
)

// Authorization requests as polkit's helper asks them: the policy decides
// the program that asks with the right as its auth_uri — allowed, denied,
// a justification that refuses now, makes a request, and whose grant lets
// the retry of that right by that program through (and nothing else) —
// and a right no rule names is left to polkit. Only polkitd's user (and
// root) may ask, and the subject must run as the user polkit says.
func TestAuthorizationRequests(t *testing.T) {
	h := newHarness(t, func(c *enforcer.Config) { c.PolkitUser = "nobody" })
	p := strings.ReplaceAll(`id: auth
revision: 2
default: allow
groups:
  - name: shell-may-pkexec
    definitions: [{type: binary, path: {exact: DIR/bin/shell}, auth_uri: {exact: org.freedesktop.policykit.exec}}]
  - name: units
    definitions: [{type: binary, auth_uri: {exact: org.freedesktop.systemd1.manage-units}}]
  - name: printers
    definitions: [{type: binary, auth_uri: {starts_with: org.opensuse.cupspkhelper.}}]
rules:
  - {group: shell-may-pkexec, action: allow}
  - {group: units, action: deny}
  - {group: printers, action: justification, min_justification: 4, message: {title: "{name} needs a reason"}}
`, "DIR", h.dir)
	if err := os.WriteFile(filepath.Join(h.dir, "policy.yaml"), []byte(p), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "policy revision 2", func() bool { return h.e.PolicyRevision() == 2 })
	// Programs, as /proc/PID/exe names them: binaries.
	shell, other := copyBinary(t, "/bin/true", filepath.Join(h.dir, "bin", "shell")), copyBinary(t, "/bin/false", filepath.Join(h.dir, "bin", "other"))
	h.tasks.Set(500, enforcertest.Task{Task: enforcer.Task{UID: 1000, GIDs: []uint32{1000}}, Exe: shell})
	h.tasks.Set(501, enforcertest.Task{Task: enforcer.Task{UID: 1000, GIDs: []uint32{1000}}, Exe: other})
	polkit := h.e.Identify(enforcer.Peer{UID: 65534, RealUID: 65534, PID: 9})
	if polkit.Kind != enforcer.ActorPolkit {
		t.Fatalf("polkitd's user is %s", polkit.Kind)
	}
	ctx := context.Background()
	ask := func(right string, pid int32) enforcer.AuthVerdict {
		t.Helper()
		res, err := h.e.Authorize(ctx, polkit, enforcer.AuthQuery{Right: right, PID: pid, UID: 1000})
		if err != nil {
			t.Fatalf("%s for pid %d: %v", right, pid, err)
		}
		return res.Verdict
	}
	for _, c := range []struct {
		right string
		pid   int32
		want  enforcer.AuthVerdict
	}{
		{"org.freedesktop.policykit.exec", 500, enforcer.AuthYes},
		{"org.freedesktop.policykit.exec", 501, enforcer.AuthNotHandled}, // another program: no rule names it
		{"org.freedesktop.systemd1.manage-units", 500, enforcer.AuthNo},
		{"org.freedesktop.login1.reboot", 500, enforcer.AuthNotHandled},
	} {
		if got := ask(c.right, c.pid); got != c.want {
			t.Errorf("%s for pid %d: %s, want %s", c.right, c.pid, got, c.want)
		}
	}

	// A justification: refused now, a request for the user to answer.
	const add = "org.opensuse.cupspkhelper.mechanism.printer-add"
	if got := ask(add, 501); got != enforcer.AuthNo {
		t.Fatalf("justification before the answer: %s", got)
	}
	if got := ask(add, 501); got != enforcer.AuthNo {
		t.Fatalf("asked again: %s", got)
	}
	r := h.waitRequest(1000, other)
	if r.Kind != request.Justification || r.AppType != "auth" || len(r.Args) != 1 || r.Args[0] != add || r.Title != "other needs a reason" {
		t.Fatalf("request: %+v", r)
	}
	time.Sleep(50 * time.Millisecond)
	var rs []store.Request
	rs, _ = h.e.Requests(ctx, h.e.Identify(enforcer.Peer{UID: 0}), nil)
	if len(rs) != 1 {
		t.Errorf("%d requests for two refusals of the same right, want 1 (coalesced)", len(rs))
	}
	owner := h.e.Identify(enforcer.Peer{UID: 1000, RealUID: 1000, GIDs: []uint32{1000}})
	ans, err := h.e.Answer(ctx, owner, r.ID, enforcer.Answer{Reason: "new printer"})
	if err != nil || ans.Grant == nil || ans.Grant.Kind != store.GrantAuth {
		t.Fatalf("answer: %+v %v", ans, err)
	}
	if got := ask(add, 501); got != enforcer.AuthYes {
		t.Errorf("the retry after the answer: %s", got)
	}
	if got := ask("org.opensuse.cupspkhelper.mechanism.printer-delete", 501); got != enforcer.AuthNo {
		t.Errorf("another right after the answer: %s, want no (its own request)", got)
	}
	if got := ask(add, 500); got != enforcer.AuthNo {
		t.Errorf("the right for another program after the answer: %s, want no", got)
	}
	var granted bool
	for _, ev := range h.events(store.Filter{Kind: "auth"}) {
		if ev.GrantID == ans.Grant.ID && ev.Allowed && ev.Path == other && len(ev.Args) == 1 && ev.Args[0] == add && ev.Reason == "new printer" {
			granted = true
		}
	}
	if !granted {
		t.Error("no audit event of the right granted by the grant, with the reason")
	}

	// Who may ask, and what is checked.
	for _, c := range []struct {
		name string
		a    enforcer.Actor
		q    enforcer.AuthQuery
		want error
	}{
		{"a user", owner, enforcer.AuthQuery{Right: add, PID: 501, UID: 1000}, enforcer.ErrForbidden},
		{"a subject of another uid", polkit, enforcer.AuthQuery{Right: add, PID: 501, UID: 1001}, enforcer.ErrInvalid},
		{"no such process", polkit, enforcer.AuthQuery{Right: add, PID: 99999, UID: 1000}, enforcer.ErrInvalid},
		{"a right with a space", polkit, enforcer.AuthQuery{Right: "org.x y", PID: 501, UID: 1000}, enforcer.ErrInvalid},
		{"a long right", polkit, enforcer.AuthQuery{Right: strings.Repeat("a", 300), PID: 501, UID: 1000}, enforcer.ErrInvalid},
	} {
		if _, err := h.e.Authorize(ctx, c.a, c.q); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
}

func copyBinary(t *testing.T, from, to string) string {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Dir(to), 0o755)
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return to
}
