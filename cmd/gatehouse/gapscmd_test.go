package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/localapi"
)

// TestStatusNamesOpenGaps: gatehouse status prints each open way around
// the enforcer with what closes it, and the closed ones on one line.
func TestStatusNamesOpenGaps(t *testing.T) {
	b, err := json.Marshal(localapi.Status{Version: "v1", Started: time.Now(), PolicyID: "corp", Source: "fanotify",
		Audit: &localapi.AuditHealth{OK: true}, You: localapi.Identity{User: "root", Root: true},
		Gaps: []localapi.Gap{
			{Name: "exec_backstop", Detail: "exec_backstop: deny kills every program start no mark held"},
			{Name: "memfd_exec", Open: true, Detail: "vm.memfd_noexec = 0: ...", Fix: "sysctl vm.memfd_noexec=2"},
			{Name: "user_namespaces", Detail: "unprivileged users cannot create user namespaces"},
		}})
	if err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCLI(t, "status", "--socket", standIn(t, string(b)))
	for _, s := range []string{"gap:     memfd_exec: vm.memfd_noexec = 0", "closes it: sysctl vm.memfd_noexec=2", "closed:  exec_backstop, user_namespaces"} {
		if !strings.Contains(out, s) {
			t.Errorf("status lacks %q:\n%s", s, out)
		}
	}
	if code != exitOK {
		t.Errorf("exit %d, want %d: a gap is not a failure", code, exitOK)
	}
}
