package enforcer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/store"
)

// writeSudoPolicy gives the harness sudo rules, and an exec rule that
// blocks the approval's program when it is run without sudo.
func (h *harness) writeSudoPolicy(rev int) {
	h.t.Helper()
	p := strings.ReplaceAll(fmt.Sprintf(`id: sudo
revision: %d
default: allow
groups:
  - name: run
    definitions: [{type: sudo, path: {exact: DIR/sudo/run}}]
  - name: appr
    definitions: [{type: sudo, path: {exact: DIR/sudo/appr}}]
  - name: bad
    definitions: [{type: sudo, path: {exact: DIR/sudo/bad}}]
  - name: appr-exec
    definitions: [{type: [binary, script], path: {exact: DIR/sudo/appr}}]
rules:
  - {group: run, action: elevate}
  - {group: appr, action: elevate, require: approval, min_justification: 4}
  - {group: bad, action: deny, message: {title: "no"}}
  - {group: appr-exec, action: deny}
`, rev), "DIR", h.dir)
	if err := os.WriteFile(filepath.Join(h.dir, "policy.yaml"), []byte(p), 0o644); err != nil {
		h.t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); h.e.PolicyRevision() != int64(rev); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			h.t.Fatalf("policy revision %d not loaded", rev)
		}
	}
}

func TestSudoCommands(t *testing.T) {
	var dir string
	h := newHarness(t, func(c *enforcer.Config) { dir = c.SudoersDir })
	h.writeSudoPolicy(2)
	user := h.e.Identify(enforcer.Peer{UID: 1000, RealUID: 1000, PID: int32(os.Getpid()), GIDs: []uint32{1000}})
	root := h.e.Identify(enforcer.Peer{UID: 0, RealUID: 0, PID: 1, GIDs: []uint32{0}})
	sudo := func(a enforcer.Actor, path, reason string, args ...string) (enforcer.SudoResult, error) {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		return h.e.Sudo(context.Background(), a, enforcer.SudoQuery{Files: []*os.File{f}, Args: args, Reason: reason})
	}
	run, appr, bad := h.file("sudo/run", "#!/bin/sh\n"), h.file("sudo/appr", "#!/bin/sh\necho a\n"), h.file("sudo/bad", "#!/bin/sh\necho b\n")
	other := h.file("elsewhere/tool", "#!/bin/sh\necho c\n")

	res, err := sudo(user, run, "", "install", "curl")
	if err != nil || res.Outcome != enforcer.SudoRun || res.GrantID == 0 || res.Path != run {
		t.Fatalf("elevated: %+v %v", res, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("gatehouse-sudo-%d", res.GrantID)))
	if err != nil || !strings.Contains(string(b), "#1000 ALL=(root)") || !strings.Contains(string(b), " "+run+" install curl\n") || !strings.Contains(string(b), "sha256:") {
		t.Errorf("the drop-in: %q %v", b, err)
	}
	if res, err := sudo(user, bad, ""); err != nil || res.Outcome != enforcer.SudoDenied || res.Message.Title != "no" {
		t.Errorf("denied: %+v %v", res, err)
	}
	if res, err := sudo(user, other, ""); err != nil || res.Outcome != enforcer.SudoNotElevated {
		t.Errorf("no rule: %+v %v, want not elevated (sudoers decides)", res, err)
	}
	if _, err := sudo(root, run, ""); err == nil {
		t.Error("root was decided as a sudo command")
	}
	if _, err := sudo(user, run, "", "a b"); err == nil || !strings.Contains(err.Error(), "white space") {
		t.Errorf("an argument sudoers cannot pin: %v", err)
	}

	// Approval: a reason first, then one request, waiting until approved.
	if res, err := sudo(user, appr, "", "-u"); err != nil || res.Outcome != enforcer.SudoNeedsReason || res.MinJustification != 4 {
		t.Fatalf("approval without a reason: %+v %v", res, err)
	}
	if _, err := sudo(user, appr, "no", "-u"); err == nil || !strings.Contains(err.Error(), "at least 4") {
		t.Errorf("a short reason: %v", err)
	}
	res, err = sudo(user, appr, "restart cups", "-u")
	if err != nil || res.Outcome != enforcer.SudoSubmitted || res.RequestID == 0 {
		t.Fatalf("approval: %+v %v", res, err)
	}
	if w, err := sudo(user, appr, "", "-u"); err != nil || w.Outcome != enforcer.SudoWaiting || w.RequestID != res.RequestID {
		t.Errorf("again before the approval: %+v %v", w, err)
	}
	ar, err := h.e.Decide(context.Background(), root, res.RequestID, true, "ok")
	if err != nil || ar.Grant == nil || ar.Grant.Kind != store.GrantSudo {
		t.Fatalf("approve: %+v %v, want a sudo grant", ar, err)
	}
	// The approval is for sudo only: run without it, the program is
	// still decided by its exec rule.
	if h.exec(appr, execOpt{uid: 1000}) {
		t.Error("the sudo command's approval let its program run without sudo")
	}
	if res, err := sudo(user, appr, "", "-u"); err != nil || res.Outcome != enforcer.SudoRun || res.GrantID != ar.Grant.ID {
		t.Errorf("after the approval: %+v %v", res, err)
	}
	if res, err := sudo(user, appr, "", "-g"); err != nil || res.Outcome != enforcer.SudoNeedsReason {
		t.Errorf("other arguments after the approval: %+v %v, want a new request asked", res, err)
	}
}
