package main

import (
	"errors"
	"fmt"
	"slices"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/endpointsecurity"
)

// The Endpoint Security adapter's translation: what an AUTH_EXEC message
// says, in the engine's terms (the seam's ExecFacts), so the engine reads
// nothing the kernel already reported. Platform-neutral, so it is tested
// on Linux; the client that delivers the messages is source_darwin.go.

// csValid is CS_VALID of codesigning_flags (xnu's cs_blobs.h): the
// kernel validated the code signature of the running image, so its
// signing and team ids are the kernel's word.
const csValid = 0x00000001

// esExecFacts translates the exec in m, with argv as es_exec_arg gave it.
func esExecFacts(m *endpointsecurity.Message, argv []string) (enforcer.ExecFacts, error) {
	x := m.Exec
	if x == nil {
		return enforcer.ExecFacts{}, fmt.Errorf("event %d is not an exec", m.Event)
	}
	t := &x.Target
	exe := t.Executable
	if exe.PathTruncated {
		return enforcer.ExecFacts{}, errors.New("the kernel truncated the executable's path (longer than it reports)")
	}
	if exe.Path == "" {
		return enforcer.ExecFacts{}, errors.New("the exec message has no executable path")
	}
	st := exe.Stat
	task := &enforcer.Task{UID: t.Token.RUID, GIDs: []uint32{t.Token.RGID}, PPID: t.PPID}
	if t.Token.EGID != t.Token.RGID {
		task.GIDs = append(task.GIDs, t.Token.EGID)
	}
	if t.TTY != nil {
		task.TTY = t.TTY.Path
	}
	f := enforcer.ExecFacts{
		Path: exe.Path,
		Stat: &enforcer.FileStat{Dev: uint64(uint32(st.Dev)), Ino: st.Ino, Size: st.Size, MtimeNs: st.MtimeNs, CtimeNs: st.CtimeNs},
		Task: task,
		Args: slices.Clone(argv), HaveArgs: argv != nil,
	}
	if x.Cwd != nil && !x.Cwd.PathTruncated {
		f.Cwd = x.Cwd.Path
	}
	if t.CodesigningFlags&csValid != 0 {
		f.TeamID, f.SigningID = t.TeamID, t.SigningID
	}
	return f, nil
}
