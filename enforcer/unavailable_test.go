package enforcer_test

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/enforcertest"
	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/localapi"
)

// Arguments or a parent chain that cannot be read never let an exec run
// that a rule on them would deny (issue 13): the rule's action decides,
// and the decision is counted, logged and recorded as made without them.

// errRunning is what /proc says of a task that never parked in execve.
var errRunning = errors.New("task 7 is running, not held in execve (still running after 250ms)")

// waitCounter waits for the status counter name to reach want (counters
// are bumped just after the answer) and fails if it is not exactly want.
func (h *harness) waitCounter(name string, want uint64) {
	h.t.Helper()
	for deadline := time.Now().Add(5 * time.Second); h.e.Counter(name) < want && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if n := h.e.Counter(name); n != want {
		h.t.Errorf("%s = %d, want %d", name, n, want)
	}
}

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
	h.waitCounter("args_unavailable", 2)
	h.waitCounter("decided_without_args", 2)
	h.waitCounter("decided_without_parents", 0)
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
	h.waitCounter("decided_without_parents", 1)
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
	h.waitCounter("decided_without_parents", 1)
	// child-of-shell looks at paths, but the policy at hashes too: the
	// chain by its paths cannot tell which, and the deny rule matches.
	if h.exec(child, execOpt{uid: 1000, ancestors: []enforcer.Ancestor{{PID: 11, Exe: other}}}) {
		t.Error("child/tool allowed from a parent known by its path only")
	}
	if !strings.Contains(h.lastExec(child).Detail, "only the paths of the parent chain") {
		t.Errorf("audit event %+v does not say the chain had its paths only", h.lastExec(child))
	}
}

// TestSlowArgvReadDoesNotHoldTheLoop: reading a held task's arguments
// waits for the task (to be parked in execve, or on memory that does not
// answer), so the source's reader loop never does it: an exec whose
// decision or record needs them is decided on a goroutine, and the execs
// after it are answered meanwhile.
func TestSlowArgvReadDoesNotHoldTheLoop(t *testing.T) {
	h := newHarness(t, nil)
	tool := h.file("args/tool", "#!/bin/sh\necho tool\n")
	denied := h.file("deny/x", "x")
	ok := h.file("bin/ok", "#!/bin/sh\n")
	for _, p := range []string{tool, denied, ok} {
		h.exec(p, execOpt{uid: 1000}) // cached: decided on the loop
	}
	for _, c := range []struct {
		path, why string
	}{{tool, "a rule on the arguments"}, {denied, "the record of a deny"}} {
		block := make(chan struct{})
		f, err := os.Open(c.path)
		if err != nil {
			t.Fatal(err)
		}
		pid := h.nextID.Add(1)
		h.tasks.Set(pid, enforcertest.Task{Task: enforcer.Task{UID: 1000, GIDs: []uint32{1000}}, Args: []string{"x", "--evil"}, ArgsBlock: block})
		slow := enforcertest.NewExec(f, pid)
		h.src.Execs <- slow
		if !h.exec(ok, execOpt{uid: 1000}) {
			t.Error("bin/ok denied")
		}
		var allowed bool
		select {
		case allowed = <-slow.Answer:
			t.Errorf("%s: the exec after it waited for its arguments (%s)", c.path, c.why)
			close(block)
		default:
			close(block)
			allowed = <-slow.Answer
		}
		if allowed {
			t.Errorf("%s allowed", c.path)
		}
	}
}

// TestAnswerUnderANewParentRule: a request is decided again when the
// policy changed before its answer, without the parent chain (a request
// does not keep it): a new deny rule on the chain matches, and the answer
// makes no grant.
func TestAnswerUnderANewParentRule(t *testing.T) {
	h := newHarness(t, nil)
	just := h.file("just/tool", "#!/bin/sh\necho just\n")
	if h.exec(just, execOpt{uid: 1000}) {
		t.Fatal("just/tool allowed under revision 1")
	}
	r := h.waitRequest(1000, just)
	p := strings.ReplaceAll(fmt.Sprintf(testPolicy, 2), "DIR", h.dir)
	p = strings.Replace(p, "groups:\n", fmt.Sprintf("groups:\n  - name: just-from-shell\n    definitions: [{type: [binary, script], path: {exact: %s}, parent: {group: shells, any_ancestor: true}}]\n", just), 1)
	p = strings.Replace(p, "rules:\n", "rules:\n  - {group: just-from-shell, action: deny}\n", 1)
	if err := os.WriteFile(filepath.Join(h.dir, "policy.yaml"), []byte(p), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "revision 2", func() bool { return h.e.PolicyRevision() == 2 })
	var res localapi.AnswerResult
	if c := h.call(1000, "POST", fmt.Sprintf("/requests/%d/answer", r.ID), localapi.Answer{Reason: "quarterly report"}, &res); c != http.StatusBadRequest {
		t.Errorf("answer after revision 2 denies just/tool run from a shell: status %d (grant %+v), want 400", c, res.Grant)
	}
}
