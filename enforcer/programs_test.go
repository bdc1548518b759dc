package enforcer_test

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/policy"
)

func withProgramFacts(c *enforcer.Config) { c.ProgramFacts = new(true) }

// waitPrograms waits for n "program" events (recorded off the hot path)
// and returns them, failing if there are more.
func (h *harness) waitPrograms(n int) []store.Event {
	h.t.Helper()
	var evs []store.Event
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if evs = h.events(store.Filter{Kind: "program"}); len(evs) >= n {
			break
		}
	}
	if len(evs) != n {
		h.t.Fatalf("%d program events, want %d: %+v", len(evs), n, evs)
	}
	return evs
}

func programRecord(t *testing.T, ev store.Event) policy.SubjectRecord {
	t.Helper()
	var r policy.SubjectRecord
	if err := json.Unmarshal([]byte(ev.Detail), &r); err != nil {
		t.Fatalf("program event detail %q: %v", ev.Detail, err)
	}
	return r
}

func sha1Of(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha1.Sum(b)
	return hex.EncodeToString(s[:])
}

// A program's first exec records all its facts, its parent chain's
// programs too, once each, across restarts; plain allows (audit: false,
// no exec event) included.
func TestFirstSightRecordsEveryFact(t *testing.T) {
	h := newHarness(t, withProgramFacts)
	h.writeQuiet(2)
	// Allowed by a rule on its arguments (read, so in the record).
	tool := h.file("safe/tool", "#!/bin/sh\necho tool\n")
	shell := h.file("bin/shell", "#!/bin/sh\necho shell\n")
	ancestors := []enforcer.Ancestor{{PID: 7001, Exe: shell}, {PID: 1, Exe: ""}}
	for range 3 {
		if !h.exec(tool, execOpt{ancestors: ancestors, args: []string{"tool", "--safe"}}) {
			t.Fatal("tool denied")
		}
	}
	evs := h.waitPrograms(2)
	if n := len(h.events(store.Filter{Kind: "exec"})); n != 0 {
		t.Errorf("%d exec events for plain allows, want none", n)
	}
	byPath := map[string]store.Event{}
	for _, ev := range evs {
		byPath[ev.Path] = ev
	}
	ev, ok := byPath[tool]
	if !ok {
		t.Fatalf("no program event for %s: %+v", tool, evs)
	}
	if ev.Action != "allow" || !ev.Allowed || ev.User != "root" || !slices.Contains(ev.Groups, "root") ||
		!slices.Equal(ev.Args, []string{"--safe"}) || ev.Parent != shell || !slices.Equal(ev.Parents, []string{shell, ""}) {
		t.Errorf("tool's first sight = action %q allowed %v user %q groups %q args %q parent %q parents %q; want allow by root (groups root), args --safe, under %s",
			ev.Action, ev.Allowed, ev.User, ev.Groups, ev.Args, ev.Parent, ev.Parents, shell)
	}
	r := programRecord(t, ev)
	if r.SHA256 != ev.SHA256 || len(r.SHA256) != 64 || r.SHA1 != sha1Of(t, tool) || r.Type != "script" || r.Path != tool {
		t.Errorf("tool's facts = %+v, want its sha256 %s, sha1 %s, type script", r, ev.SHA256, sha1Of(t, tool))
	}
	// Under t.TempDir, which users can write: said so, with the folder.
	if r.Protection != "unprotected" || r.ProtectionDetail == "" {
		t.Errorf("tool's protection = %q (%q), want unprotected with the reason", r.Protection, r.ProtectionDetail)
	}
	if r.Signature == "" {
		t.Errorf("tool's signature was not examined (empty), want what was found (a script carries none)")
	}
	sh, ok := byPath[shell]
	if !ok {
		t.Fatalf("no program event for the parent %s: %+v", shell, evs)
	}
	if sr := programRecord(t, sh); sr.SHA1 != sha1Of(t, shell) || sr.SHA256 != sh.SHA256 || sr.Protection == "" {
		t.Errorf("parent's facts = %+v, want its hashes and protection", sr)
	}

	// A restart remembers them.
	db := h.st.Path()
	h.stop()
	h2 := newHarness(t, func(c *enforcer.Config) { withProgramFacts(c); c.Database = db })
	h2.writeQuiet(2)
	if !h2.exec(tool, execOpt{ancestors: ancestors, args: []string{"tool", "--safe"}}) {
		t.Fatal("tool denied after the restart")
	}
	other := h2.file("bin/other", "#!/bin/sh\necho other\n")
	h2.exec(other, execOpt{ancestors: ancestors})
	evs = h2.waitPrograms(3) // only other is new
	if last := evs[2]; last.Path != other {
		t.Errorf("after the restart the program recorded is %s, want only %s", last.Path, other)
	}
}

// writeQuiet replaces the policy with one whose allows are not audited.
func (h *harness) writeQuiet(rev int) {
	h.t.Helper()
	p := fmt.Sprintf(`id: quiet
revision: %d
default: {action: allow, audit: false}
groups:
  - name: safe-tool
    definitions: [{type: [binary, script], path: {exact: %s/safe/tool}, args: {exact: --safe}}]
rules:
  - {group: safe-tool, action: allow, audit: false}
`, rev, h.dir)
	if err := os.WriteFile(filepath.Join(h.dir, "policy.yaml"), []byte(p), 0o644); err != nil {
		h.t.Fatal(err)
	}
	for deadline := time.Now().Add(5 * time.Second); h.e.PolicyRevision() != int64(rev); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			h.t.Fatalf("policy revision %d not loaded", rev)
		}
	}
}

// A deny is recorded as an exec and, the first time, as the program.
func TestFirstSightOfADeny(t *testing.T) {
	h := newHarness(t, withProgramFacts)
	bad := h.file("deny/bad", "\x7fELF-not-really")
	h.exec(bad, execOpt{uid: 0})
	h.exec(bad, execOpt{uid: 0})
	evs := h.waitPrograms(1)
	if evs[0].Action != "deny" || evs[0].Allowed || evs[0].Rule != 1 || evs[0].Path != bad {
		t.Errorf("program event = %+v, want the deny by rule 1 of %s", evs[0], bad)
	}
	if n := len(h.events(store.Filter{Kind: "exec"})); n != 2 {
		t.Errorf("%d exec events, want 2", n)
	}
	if got := h.e.Counter("programs_recorded"); got != 1 {
		t.Errorf("programs_recorded = %d, want 1", got)
	}
}

// A program changed between its exec and the gathering is not recorded
// under the exec's hash: its next exec is.
func TestFirstSightOfAChangedFileWaits(t *testing.T) {
	h := newHarness(t, withProgramFacts)
	tool := h.file("bin/tool", "#!/bin/sh\necho one\n")
	h.e.PausePrograms(true)
	h.exec(tool, execOpt{})
	if err := os.WriteFile(tool, []byte("#!/bin/sh\necho two, longer\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	h.e.PausePrograms(false)
	h.waitCounter("programs_changed", 1)
	if evs := h.events(store.Filter{Kind: "program"}); len(evs) != 0 {
		t.Fatalf("a program changed after its exec was recorded: %+v", evs)
	}
	h.exec(tool, execOpt{})
	evs := h.waitPrograms(1)
	if r := programRecord(t, evs[0]); r.SHA1 != sha1Of(t, tool) {
		t.Errorf("recorded facts %+v, want those of the file as it is now", r)
	}
}
