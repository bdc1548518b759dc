package enforcer_test

import (
	"bytes"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/enforcertest"
	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/facts/codesign"
	"github.com/gatehouse/gatehouse/facts/codesign/codesigntest"
	"github.com/gatehouse/gatehouse/localapi"
)

// kernelStat is the stat a source like Endpoint Security reports with the
// exec, taken here from the real file.
func kernelStat(t *testing.T, path string) *enforcer.FileStat {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	s := fi.Sys().(*syscall.Stat_t)
	return &enforcer.FileStat{Dev: uint64(s.Dev), Ino: s.Ino, Size: s.Size, MtimeNs: s.Mtim.Nano(), CtimeNs: s.Ctim.Nano()}
}

// execKnown sends an exec whose source reports facts instead of a
// descriptor (no Tasks entry exists for its pid: everything the engine
// needs must come from the event) and returns the answer.
func (h *harness) execKnown(xf enforcer.ExecFacts) bool {
	h.t.Helper()
	x := enforcertest.NewExec(nil, h.nextID.Add(1))
	x.Known = &xf
	return h.src.Send(h.t, x)
}

// TestSourceWithoutDescriptor: a source that reports path, stat, process
// and arguments in the event (as Endpoint Security does) is decided on
// those facts, the file opened by path only to hash it; a file replaced
// after the exec is not hashed under the original's identity.
func TestSourceWithoutDescriptor(t *testing.T) {
	h := newHarness(t, nil)
	tool := h.file("args/tool", "#!/bin/sh\necho tool\n")
	task := &enforcer.Task{UID: 1000, GIDs: []uint32{1000}}
	known := func(args ...string) enforcer.ExecFacts {
		return enforcer.ExecFacts{Path: tool, Stat: kernelStat(t, tool), Task: task, Args: append([]string{"tool"}, args...), HaveArgs: true}
	}
	// The arguments of the event decide (Tasks knows nothing of this pid:
	// had the engine asked it, the exec would be an internal error).
	if h.execKnown(known("--evil")) {
		t.Error("tool --evil from the event's arguments was allowed")
	}
	if !h.execKnown(known("--fine")) {
		t.Error("tool --fine from the event's arguments was denied")
	}
	if n := h.e.Counter("internal_errors"); n != 0 {
		t.Errorf("internal_errors = %d: the engine asked Tasks for what the event carried", n)
	}
	denied := h.file("deny/x", "x")
	if h.execKnown(enforcer.ExecFacts{Path: denied, Stat: kernelStat(t, denied), Task: task, HaveArgs: true}) {
		t.Error("a denied program reported without a descriptor was allowed")
	}
	var sawDeny bool
	for _, ev := range h.events(store.Filter{Kind: "exec"}) {
		sawDeny = sawDeny || ev.Path == denied && !ev.Allowed && ev.UID == 1000 && ev.SHA256 != ""
	}
	if !sawDeny {
		t.Error("no audit event with the hash of the program opened by path")
	}

	// A translocated program's record names where it really is.
	orig := "/Users/a/Downloads/Denied.app/Contents/MacOS/x"
	if h.execKnown(enforcer.ExecFacts{Path: denied, Stat: kernelStat(t, denied), Task: task, HaveArgs: true, OriginalPath: orig}) {
		t.Error("a denied translocated program was allowed")
	}
	var sawOrig bool
	for _, ev := range h.events(store.Filter{Kind: "exec"}) {
		sawOrig = sawOrig || ev.Path == denied && strings.Contains(ev.Detail, "run translocated, the original is "+orig)
	}
	if !sawOrig {
		t.Error("no record names the translocated program's original path")
	}

	// Replaced between the exec and the check: refused, not hashed.
	swapped := h.file("deny/swapped", "original")
	st := kernelStat(t, swapped)
	os.Remove(swapped)
	h.file("deny/swapped", "a different program")
	before := h.e.Counter("internal_errors")
	h.execKnown(enforcer.ExecFacts{Path: swapped, Stat: st, Task: task, HaveArgs: true})
	waitFor(t, "an internal error for the replaced file", func() bool { return h.e.Counter("internal_errors") == before+1 })

	// Neither a descriptor nor a stat: an internal error, answered at once.
	h.execKnown(enforcer.ExecFacts{Path: tool, Task: task})
	waitFor(t, "an internal error for an event without a stat", func() bool { return h.e.Counter("internal_errors") == before+2 })
}

// On macOS a grant binds to the cdhash the kernel validated: the same file
// (identity, path, SHA-256) run as other code is not let through by it.
func TestGrantsBindToTheKernelsCDHash(t *testing.T) {
	h := newHarness(t, nil)
	tool := h.file("just/signed", "\xcf\xfa\xed\xfe signed tool")
	task := &enforcer.Task{UID: 1000, GIDs: []uint32{1000}}
	run := func(cdhash string) bool {
		return h.execKnown(enforcer.ExecFacts{Path: tool, Stat: kernelStat(t, tool), Task: task, HaveArgs: true, CDHash: cdhash})
	}
	const cd = "0123456789abcdef0123456789abcdef01234567"
	if run(cd) {
		t.Fatal("allowed before any answer")
	}
	r := h.waitRequest(1000, tool)
	var res localapi.AnswerResult
	if code := h.call(1000, "POST", fmt.Sprintf("/requests/%d/answer", r.ID), localapi.Answer{Reason: "signed build"}, &res); code != 200 || res.Grant == nil {
		t.Fatalf("answer: status %d, %+v", code, res)
	}
	g, err := h.st.Grants(t.Context(), nil)
	if err != nil || len(g) != 1 || g[0].CDHash != cd {
		t.Fatalf("stored grants %+v (%v), want one bound to %s", g, err, cd)
	}
	if run("ffffffffffffffffffffffffffffffffffffffff") {
		t.Error("the grant let other code run")
	}
	if run("") {
		t.Error("the grant let the file run as unsigned code")
	}
	if !run(cd) {
		t.Error("the granted code was denied")
	}
}

// A Mach-O signed by a CA in code_signing_roots is decided by its team id
// (read and verified from the file, here on Linux); given the kernel's
// cdhash (Endpoint Security), a signature on disk that is not that one is
// nobody's.
func TestTeamIDRulesDecideSignedMachOs(t *testing.T) {
	ca := codesigntest.NewCA(t, "ABCDE12345", "Developer ID Application: Test Corp (ABCDE12345)")
	rootPEM := filepath.Join(t.TempDir(), "root.pem")
	if err := os.WriteFile(rootPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Root.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *enforcer.Config) { c.CodeSigningRoots = []string{rootPEM} })
	pol := fmt.Sprintf("id: signed\nrevision: 2\ndefault: allow\ngroups:\n  - name: test-corp\n    definitions: [{type: binary, team_id: ABCDE12345}]\nrules:\n  - {group: test-corp, action: deny}\n")
	if err := os.WriteFile(filepath.Join(h.dir, "policy.yaml"), []byte(pol), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "revision 2", func() bool { return h.e.PolicyRevision() == 2 })
	signed := codesigntest.Sign(t, codesigntest.Darwin(t, "arm64", "A"), ca.Cert, "com.example.hello", "ABCDE12345")
	sig, err := codesign.NewVerifier(ca.Pool).File(bytes.NewReader(signed), int64(len(signed)), nil)
	if err != nil || sig.Status != codesign.Signed {
		t.Fatalf("the test binary: %+v, %v", sig, err)
	}
	task := &enforcer.Task{UID: 1000, GIDs: []uint32{1000}}
	run := func(name, cdhash string) bool {
		p := h.file("signed/"+name, string(signed))
		return h.execKnown(enforcer.ExecFacts{Path: p, Stat: kernelStat(t, p), Task: task, HaveArgs: true, CDHash: cdhash})
	}
	if run("pages-read", "") {
		t.Error("Test Corp's program was allowed: its team id was not read")
	}
	if run("kernel-cdhash", hex.EncodeToString(sig.CDHash[:])) {
		t.Error("Test Corp's program, its cdhash vouched for by the kernel, was allowed")
	}
	if !run("other-cdhash", strings.Repeat("ab", 20)) {
		t.Error("a signature that is not the one the kernel validated still named the team")
	}
}
