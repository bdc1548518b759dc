package main

import (
	"fmt"
	"slices"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/endpointsecurity"
)

// esFileEvents are the AUTH file events the second Endpoint Security client
// holds, only for targets below the applications folder and the daemon's
// own files (inverted target-path muting): the moves the policy's install
// and delete criteria decide, and changes to the daemon's files.
// AUTH_COPYFILE is left out: copyfile(3) clones or creates through the
// events above, and the reference has no layout for its own event.
var esFileEvents = []endpointsecurity.EventType{
	endpointsecurity.AuthRename, endpointsecurity.AuthCreate, endpointsecurity.AuthClone, endpointsecurity.AuthLink,
	endpointsecurity.AuthUnlink, endpointsecurity.AuthTruncate, endpointsecurity.AuthExchangedata,
}

var esFileKinds = map[endpointsecurity.EventType]enforcer.FileOpKind{
	endpointsecurity.AuthRename: enforcer.FileRename, endpointsecurity.AuthCreate: enforcer.FileCreate,
	endpointsecurity.AuthClone: enforcer.FileClone, endpointsecurity.AuthLink: enforcer.FileLink,
	endpointsecurity.AuthUnlink: enforcer.FileUnlink, endpointsecurity.AuthTruncate: enforcer.FileTruncate,
	endpointsecurity.AuthExchangedata: enforcer.FileExchange,
}

// esFileOpFacts translates a file event: what it acts on, the path it makes,
// and the process doing it (its groups as for an exec; its signature only
// when the kernel validated it).
func esFileOpFacts(m *endpointsecurity.Message, members func(uid uint32) []uint32) (enforcer.FileOpFacts, error) {
	kind, ok := esFileKinds[m.Event]
	if !ok || m.FileOp == nil {
		return enforcer.FileOpFacts{}, fmt.Errorf("event %d is not a file event", m.Event)
	}
	op := m.FileOp
	p := &m.Process
	f := enforcer.FileOpFacts{Kind: kind, To: op.Dest, ToExists: op.DestExists, Program: p.Executable.Path,
		Task: enforcer.Task{UID: p.Token.RUID, GIDs: []uint32{p.Token.RGID}, PPID: p.PPID}}
	if op.Source != nil {
		f.From = op.Source.Path
	}
	if p.Token.EGID != p.Token.RGID {
		f.Task.GIDs = append(f.Task.GIDs, p.Token.EGID)
	}
	if members != nil {
		for _, g := range members(p.Token.RUID) {
			if !slices.Contains(f.Task.GIDs, g) {
				f.Task.GIDs = append(f.Task.GIDs, g)
			}
		}
	}
	if p.TTY != nil {
		f.Task.TTY = p.TTY.Path
	}
	if p.CodesigningFlags&endpointsecurity.CSValid != 0 {
		f.TeamID, f.SigningID, f.PlatformBinary = p.TeamID, p.SigningID, p.PlatformBinary
	}
	return f, nil
}

// esTargets are the path prefixes the file client is told about: the
// applications folder (if any) and the daemon's own files.
func esTargets(cfg enforcer.Config) []string {
	var out []string
	if cfg.ApplicationsDir != "" {
		out = append(out, cfg.ApplicationsDir)
	}
	return append(out, cfg.ProtectFiles...)
}
