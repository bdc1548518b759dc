package main

import (
	"strings"
	"testing"

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
				Executable: es.File{Path: "/Applications/Tool.app/Contents/MacOS/Tool", Stat: es.Stat{Dev: -2, Ino: 77, Size: 1234, MtimeNs: 5, CtimeNs: 6}},
				TTY:        &es.File{Path: "/dev/ttys001"},
			},
			Cwd: &es.File{Path: "/Users/a"},
		}}
}

func TestESExecFacts(t *testing.T) {
	got, err := esExecFacts(esMessage(0x22000301), []string{"Tool", "--flag"})
	if err != nil {
		t.Fatal(err)
	}
	want := enforcer.ExecFacts{
		Path: "/Applications/Tool.app/Contents/MacOS/Tool",
		Stat: &enforcer.FileStat{Dev: 0xfffffffe, Ino: 77, Size: 1234, MtimeNs: 5, CtimeNs: 6},
		Task: &enforcer.Task{UID: 501, GIDs: []uint32{20, 0}, PPID: 4000, TTY: "/dev/ttys001"},
		Args: []string{"Tool", "--flag"}, HaveArgs: true, Cwd: "/Users/a",
		TeamID: "ABCDE12345", SigningID: "com.example.tool",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	// Without CS_VALID the ids are not the kernel's word: the engine reads
	// the signature from the file instead.
	got, _ = esExecFacts(esMessage(0x20000000), nil)
	if got.TeamID != "" || got.SigningID != "" || got.HaveArgs {
		t.Errorf("unvalidated signature: team %q, signing %q, have args %v", got.TeamID, got.SigningID, got.HaveArgs)
	}

	m := esMessage(1)
	m.Exec.Target.Executable.PathTruncated = true
	if _, err := esExecFacts(m, nil); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("a truncated path: %v", err)
	}
	if _, err := esExecFacts(&es.Message{Event: es.NotifyFork}, nil); err == nil {
		t.Error("a fork message translated as an exec")
	}
}
