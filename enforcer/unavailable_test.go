package enforcer_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/store"
)

// Arguments or a parent chain that cannot be read never let an exec run
// that a rule on them would deny (issue 13): the rule's action decides,
// and the decision is counted, logged and recorded as made without them.

// errRunning is what /proc says of a task that never parked in execve.
var errRunning = errors.New("task 7 is running, not held in execve (still running after 250ms)")

// lastExec is the last audit event of path.
func (h *harness) lastExec(path string) store.Event {
	h.t.Helper()
	var last store.Event
	for _, ev := range h.events(store.Filter{Kind: "exec"}) {
		if ev.Path == path {
			last = ev
		}
	}
	if last.Path == "" {
		h.t.Fatalf("no audit event for %s", path)
	}
	return last
}

func TestArgsUnavailableFailClosed(t *testing.T) {
	h := newHarness(t, nil)
	tool := h.file("args/tool", "#!/bin/sh\necho tool\n")
	safe := h.file("safe/tool", "#!/bin/sh\necho safe\n")
	ok := h.file("bin/ok", "#!/bin/sh\n")

	if h.exec(tool, execOpt{uid: 1000, args: []string{"tool", "--fine"}, argsErr: errRunning}) {
		t.Error("tool with arguments that could not be read was allowed past the deny rule on its arguments")
	}
	ev := h.lastExec(tool)
	if ev.Allowed || ev.Rule != 5 || !strings.Contains(ev.Detail, "arguments not read ("+errRunning.Error()+")") {
		t.Errorf("audit event %+v, want a deny by rule 5 saying the arguments were not read, and why", ev)
	}
	// An allow on the arguments is skipped; the deny after it decides.
	if h.exec(safe, execOpt{uid: 1000, args: []string{"tool", "--safe"}, argsErr: errRunning}) {
		t.Error("safe/tool allowed by a rule on arguments that could not be read")
	}
	if !h.exec(safe, execOpt{uid: 1000, args: []string{"tool", "--safe"}}) {
		t.Error("safe/tool --safe denied with its arguments read")
	}
	if !h.exec(tool, execOpt{uid: 1000, args: []string{"tool", "--fine"}}) {
		t.Error("tool --fine denied with its arguments read")
	}
	// No rule that could match needs the arguments: nothing is read.
	if !h.exec(ok, execOpt{uid: 1000, argsErr: errRunning}) {
		t.Error("a program without argument rules was denied")
	}
	if n := h.e.Counter("args_unavailable"); n != 2 {
		t.Errorf("args_unavailable = %d, want 2", n)
	}
	if n := h.e.Counter("decided_without_args"); n != 2 {
		t.Errorf("decided_without_args = %d, want 2", n)
	}
	if n := h.e.Counter("decided_without_parents"); n != 0 {
		t.Errorf("decided_without_parents = %d, want 0", n)
	}
}

func TestParentsUnavailableFailClosed(t *testing.T) {
	h := newHarness(t, nil)
	child := h.file("child/tool", "#!/bin/sh\necho child\n")
	other := h.file("parent/other", "#!/bin/sh\necho other\n")
	gone := errors.New("read /proc/7/stat: no such process")
	if h.exec(child, execOpt{uid: 1000, ancestors: []enforcer.Ancestor{{PID: 7, Exe: other}}, ancestorsErr: gone}) {
		t.Error("child with a parent chain that could not be read was allowed past the deny rule on its parents")
	}
	ev := h.lastExec(child)
	if ev.Allowed || ev.Rule != 6 || !strings.Contains(ev.Detail, "parent chain not read (parent chain read 1 of its processes: "+gone.Error()+")") {
		t.Errorf("audit event %+v, want a deny by rule 6 saying the parent chain was not read, and why", ev)
	}
	if !h.exec(child, execOpt{uid: 1000, ancestors: []enforcer.Ancestor{{PID: 9, Exe: other}}}) {
		t.Error("child of another program denied with its parent chain read")
	}
	if n := h.e.Counter("decided_without_parents"); n != 1 {
		t.Errorf("decided_without_parents = %d, want 1", n)
	}
}

// TestParentPathsOnly: a parent chain known by its paths alone (its
// programs' facts not gathered in time) decides a policy whose parent
// groups look at paths only; one that looks at a parent's hash is decided
// without the chain.
func TestParentPathsOnly(t *testing.T) {
	h := newHarness(t, nil)
	block := make(chan struct{})
	defer close(block)
	sh := h.file("parent/sh", "#!/bin/sh\necho shell\n")
	other := h.file("parent/other", "#!/bin/sh\necho other\n")
	child := h.file("child/tool", "#!/bin/sh\necho child\n")
	signed := h.file("signed/tool", "#!/bin/sh\necho signed\n")

	// Revision 2: programs in signed/ may run only from the shell, known
	// by its hash.
	sum := sha256.Sum256([]byte("#!/bin/sh\necho shell\n"))
	p := strings.ReplaceAll(fmt.Sprintf(testPolicy, 2), "DIR", h.dir)
	p = strings.Replace(p, "groups:\n", fmt.Sprintf("groups:\n  - name: hashed-shell\n    definitions: [{sha256: %x}]\n"+
		"  - name: signed-not-from-shell\n    definitions: [{type: [binary, script], path: {starts_with: %s/signed/}, parent: {group: hashed-shell, not: true}}]\n", sum, h.dir), 1)
	p = strings.Replace(p, "rules:\n", "rules:\n  - {group: signed-not-from-shell, action: deny}\n", 1)
	if err := os.WriteFile(filepath.Join(h.dir, "policy.yaml"), []byte(p), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "revision 2", func() bool { return h.e.PolicyRevision() == 2 })

	if !h.exec(signed, execOpt{uid: 1000, ancestors: []enforcer.Ancestor{{PID: 8, Exe: sh}}}) {
		t.Fatal("signed/tool denied from the shell, its hash read")
	}
	if h.exec(signed, execOpt{uid: 1000, ancestors: []enforcer.Ancestor{{PID: 9, Exe: other}}}) {
		t.Fatal("signed/tool allowed from another program")
	}
	h.tasks.ExeBlock = block // the parents' programs cannot be opened now
	if h.exec(signed, execOpt{uid: 1000, ancestors: []enforcer.Ancestor{{PID: 10, Exe: other}}}) {
		t.Error("signed/tool allowed from a parent known by its path only: its hash was taken as not the shell's")
	}
	if n := h.e.Counter("decided_without_parents"); n != 1 {
		t.Errorf("decided_without_parents = %d, want 1", n)
	}
	// child-of-shell looks at paths, but the policy at hashes too: the
	// chain by its paths cannot tell which, and the deny rule matches.
	if h.exec(child, execOpt{uid: 1000, ancestors: []enforcer.Ancestor{{PID: 11, Exe: other}}}) {
		t.Error("child/tool allowed from a parent known by its path only")
	}
	if !strings.Contains(h.lastExec(child).Detail, "only the paths of the parent chain") {
		t.Errorf("audit event %+v does not say the chain had its paths only", h.lastExec(child))
	}
}
