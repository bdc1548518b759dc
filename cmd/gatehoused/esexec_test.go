package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/enforcer"
	es "github.com/gatehouse/gatehouse/enforcer/endpointsecurity"
)

func esMessage(flags uint32) *es.Message {
	return &es.Message{Version: 7, Event: es.AuthExec, Action: es.ActionAuth,
		Exec: &es.Exec{
			Target: es.Process{
				Token: es.AuditToken{AUID: 501, EUID: 0, EGID: 0, RUID: 501, RGID: 20, PID: 4242},
				PPID:  4000, CodesigningFlags: flags, SigningID: "com.example.tool", TeamID: "ABCDE12345",
				CDHash:     [20]byte{0xab, 0xcd, 19: 0xef},
				Executable: es.File{Path: "/Applications/Tool.app/Contents/MacOS/Tool", Stat: es.Stat{Dev: -2, Ino: 77, Size: 1234, MtimeNs: 5, CtimeNs: 6}},
				TTY:        &es.File{Path: "/dev/ttys001"},
			},
			Cwd: &es.File{Path: "/Users/a"},
		}}
}

func TestESExecFacts(t *testing.T) {
	got, err := esExecFacts(esMessage(0x22000301), []string{"Tool", "--flag"}, func(uid uint32) []uint32 {
		if uid != 501 {
			t.Errorf("groups asked for uid %d, want the real uid 501", uid)
		}
		return []uint32{20, 12, 80}
	})
	if err != nil {
		t.Fatal(err)
	}
	want := enforcer.ExecFacts{
		Path: "/Applications/Tool.app/Contents/MacOS/Tool",
		Stat: &enforcer.FileStat{Dev: 0xfffffffe, Ino: 77, Size: 1234, MtimeNs: 5, CtimeNs: 6},
		Task: &enforcer.Task{UID: 501, GIDs: []uint32{20, 0, 12, 80}, PPID: 4000, TTY: "/dev/ttys001"},
		Args: []string{"Tool", "--flag"}, HaveArgs: true, Cwd: "/Users/a",
		TeamID: "ABCDE12345", SigningID: "com.example.tool", CDHash: "abcd0000000000000000000000000000000000ef",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// Without CS_VALID the ids are not the kernel's word: the engine reads
	// the signature from the file instead.
	got, _ = esExecFacts(esMessage(0x20000000), nil, nil)
	if got.TeamID != "" || got.SigningID != "" || got.CDHash != "" || got.HaveArgs {
		t.Errorf("unvalidated signature: team %q, signing %q, have args %v", got.TeamID, got.SigningID, got.HaveArgs)
	}

	m := esMessage(1)
	m.Exec.Target.Executable.PathTruncated = true
	if _, err := esExecFacts(m, nil, nil); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("a truncated path: %v", err)
	}
	if _, err := esExecFacts(&es.Message{Event: es.NotifyFork}, nil, nil); err == nil {
		t.Error("a fork message translated as an exec")
	}
}

func TestESScriptIsDecidedToo(t *testing.T) {
	m := esMessage(1)
	if sc, err := esScriptFacts(m, enforcer.ExecFacts{}); sc != nil || err != nil {
		t.Fatalf("no script: %v, %v", sc, err)
	}
	m.Exec.Script = &es.File{Path: "/Users/a/run.sh", Stat: es.Stat{Dev: 3, Ino: 9, Size: 20}}
	interp, err := esExecFacts(m, []string{"run.sh"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := esScriptFacts(m, interp)
	if err != nil || sc == nil {
		t.Fatalf("script: %v, %v", sc, err)
	}
	if sc.Path != "/Users/a/run.sh" || sc.Stat.Ino != 9 || sc.TeamID != "" || sc.SigningID != "" || sc.Task.UID != 501 || len(sc.Args) != 1 {
		t.Errorf("script facts %+v", sc)
	}
	if interp.Path != "/Applications/Tool.app/Contents/MacOS/Tool" || interp.TeamID == "" {
		t.Errorf("the interpreter's facts changed: %+v", interp)
	}
	m.Exec.Script.PathTruncated = true
	if _, err := esScriptFacts(m, interp); err == nil {
		t.Error("a truncated script path was accepted")
	}
}

func TestESJointAnswersOnceForAllParts(t *testing.T) {
	type answer struct{ allow, cache bool }
	for _, tt := range []struct {
		name      string
		parts     int
		cacheable bool
		answers   []answer
		want      answer
	}{
		{"one part, cached allow", 1, true, []answer{{true, true}}, answer{true, true}},
		{"script and interpreter allowed: never cached", 2, false, []answer{{true, true}, {true, true}}, answer{true, false}},
		{"the script denied", 2, false, []answer{{true, true}, {false, false}}, answer{false, false}},
		{"the interpreter denied first", 2, false, []answer{{false, false}, {true, true}}, answer{false, false}},
		{"a deny is never cached", 1, true, []answer{{false, true}}, answer{false, false}},
	} {
		var got []answer
		j := newESJoint(tt.parts, tt.cacheable, func(a, c bool) error { got = append(got, answer{a, c}); return nil })
		for i, a := range tt.answers {
			j.part(a.allow, a.cache)
			if i < len(tt.answers)-1 && len(got) != 0 {
				t.Errorf("%s: answered the kernel before the last part", tt.name)
			}
		}
		if len(got) != 1 || got[0] != tt.want {
			t.Errorf("%s: kernel got %v, want one %v", tt.name, got, tt.want)
		}
		if err := j.part(true, true); err == nil {
			t.Errorf("%s: an extra answer was taken", tt.name)
		}
	}
}

func TestESSignalsToTheDaemon(t *testing.T) {
	const self = 77
	sig := func(from, to, n int32) *es.Message {
		return &es.Message{Version: 7, Action: es.ActionAuth, Event: es.AuthSignal,
			Process: es.Process{Token: es.AuditToken{PID: from, RUID: 501}, Executable: es.File{Path: "/bin/kill"}},
			Signal:  &es.Signal{Sig: n, Target: es.Process{Token: es.AuditToken{PID: to}}}}
	}
	for _, tt := range []struct {
		name          string
		m             *es.Message
		allow, toSelf bool
	}{
		{"root's kill -9", sig(600, self, 9), false, true},
		{"launchctl bootout (launchd's SIGTERM)", sig(1, self, 15), true, true},
		{"the daemon's own", sig(self, self, 30), true, true},
		{"a signal to another process", sig(600, 601, 9), true, false},
	} {
		allow, toSelf := esSignalVerdict(tt.m, self)
		if allow != tt.allow || toSelf != tt.toSelf {
			t.Errorf("%s: allow %v, to self %v; want %v, %v", tt.name, allow, toSelf, tt.allow, tt.toSelf)
		}
	}
	a := esTamper(sig(600, self, 9), true)
	if a.What != "signal 9 (SIGKILL)" || a.PID != 600 || a.UID != 501 || a.Program != "/bin/kill" || !a.Refused {
		t.Errorf("tamper record %+v", a)
	}
}

func TestMemberGroupsCached(t *testing.T) {
	calls := 0
	now := time.Unix(1000, 0)
	c := newMemberGroups(func(uint32) []uint32 { calls++; return []uint32{20, 80} })
	c.now = func() time.Time { return now }
	c.of(501)
	c.of(501)
	if calls != 1 {
		t.Errorf("%d lookups for two asks within a minute", calls)
	}
	now = now.Add(61 * time.Second)
	if g := c.of(501); calls != 2 || len(g) != 2 {
		t.Errorf("after a minute: %d lookups, groups %v", calls, g)
	}
	// The real lookup: root is in its primary group (0) on every system.
	if g := newMemberGroups(enforcer.UserGroupIDs).of(0); !slices.Contains(g, 0) {
		t.Errorf("root's groups %v, want group 0 among them", g)
	}
}

func TestESFileOpFacts(t *testing.T) {
	proc := es.Process{Token: es.AuditToken{RUID: 501, RGID: 20, EGID: 20, PID: 321}, PPID: 1, CodesigningFlags: 1,
		PlatformBinary: true, SigningID: "com.apple.finder",
		Executable: es.File{Path: "/System/Library/CoreServices/Finder.app/Contents/MacOS/Finder"}}
	m := &es.Message{Version: 7, Action: es.ActionAuth, Event: es.AuthRename, Process: proc,
		FileOp: &es.FileOp{Source: &es.File{Path: "/Applications/Tool.app"}, Dest: "/Users/a/.Trash/Tool.app"}}
	got, err := esFileOpFacts(m, func(uint32) []uint32 { return []uint32{20, 80} })
	if err != nil {
		t.Fatal(err)
	}
	want := enforcer.FileOpFacts{Kind: enforcer.FileRename, From: "/Applications/Tool.app", To: "/Users/a/.Trash/Tool.app",
		Task: enforcer.Task{UID: 501, GIDs: []uint32{20, 80}, PPID: 1}, Program: "/System/Library/CoreServices/Finder.app/Contents/MacOS/Finder",
		SigningID: "com.apple.finder", PlatformBinary: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// Every file event the client subscribes to translates to a kind.
	for _, ev := range esFileEvents {
		m.Event = ev
		if f, err := esFileOpFacts(m, nil); err != nil || f.Kind == enforcer.FileOpUnset {
			t.Errorf("event %d: %v", ev, err)
		}
	}
	// A signature the kernel did not validate is not taken.
	m.Process.CodesigningFlags = 0
	if f, _ := esFileOpFacts(m, nil); f.SigningID != "" || f.PlatformBinary {
		t.Errorf("unvalidated signature taken: %+v", f)
	}
	m.Event = es.AuthExec
	if _, err := esFileOpFacts(m, nil); err == nil {
		t.Error("an exec translated as a file event")
	}
}
