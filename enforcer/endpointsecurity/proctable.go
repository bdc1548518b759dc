package endpointsecurity

import "sync"

// ProcTable is the process table the NOTIFY_FORK, NOTIFY_EXEC and
// NOTIFY_EXIT messages keep, so a parent chain needs no system calls and
// is the kernel's own account: each entry is a process's parent and the
// executable it runs now. Seeded at start from the processes already
// running (Seed), then kept by Apply. Safe for concurrent use.
type ProcTable struct {
	mu    sync.RWMutex
	procs map[int32]procEntry
	max   int
}

type procEntry struct {
	ppid       int32
	pidversion uint32
	exe        string
	// teamID and signingID are the code signature the kernel validated
	// for what the process runs (CS_VALID); "" when it did not.
	teamID, signingID string
}

// CSValid is CS_VALID of codesigning_flags (xnu's cs_blobs.h): the kernel
// validated the code signature of the running image, so its signing and
// team ids are the kernel's word.
const CSValid = 0x00000001

// signature is what of p's code signature the table keeps.
func signature(e *procEntry, p *Process) {
	e.teamID, e.signingID = "", ""
	if p.CodesigningFlags&CSValid != 0 {
		e.teamID, e.signingID = p.TeamID, p.SigningID
	}
}

// Ancestor is one process of a parent chain.
type Ancestor struct {
	PID int32
	Exe string
}

// maxProcs bounds the table (macOS pids stay below 100,000).
const maxProcs = 1 << 17

// NewProcTable returns an empty table.
func NewProcTable() *ProcTable { return &ProcTable{procs: map[int32]procEntry{}, max: maxProcs} }

// Seed records a running process (from the kernel's process list at
// start). An entry a message has made is kept.
func (t *ProcTable) Seed(pid, ppid int32, pidversion uint32, exe string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.procs[pid]; !ok && len(t.procs) < t.max {
		t.procs[pid] = procEntry{ppid: ppid, pidversion: pidversion, exe: exe}
	}
}

// Apply keeps the table from a message: a fork adds the child (running
// its parent's executable), an exec changes what the process runs, an
// exit removes it. Other messages, and an AUTH_EXEC (which may yet be
// denied), change nothing.
func (t *ProcTable) Apply(m *Message) {
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case m.Event == NotifyFork && m.ForkChild != nil:
		c := m.ForkChild
		if _, ok := t.procs[c.Token.PID]; !ok && len(t.procs) >= t.max {
			return
		}
		e := procEntry{ppid: m.Process.Token.PID, pidversion: c.Token.PIDVersion, exe: c.Executable.Path}
		signature(&e, c)
		t.procs[c.Token.PID] = e
	case m.Event == NotifyExec && m.Exec != nil:
		x := &m.Exec.Target
		e, ok := t.procs[x.Token.PID]
		if !ok {
			if len(t.procs) >= t.max {
				return
			}
			e.ppid = x.PPID
		}
		e.pidversion, e.exe = x.Token.PIDVersion, x.Executable.Path
		signature(&e, x)
		t.procs[x.Token.PID] = e
	case m.Event == NotifyExit:
		p := m.Process.Token
		if e, ok := t.procs[p.PID]; ok && (e.pidversion == p.PIDVersion || e.pidversion == 0) {
			delete(t.procs, p.PID)
		}
	}
}

// Ancestors returns the parent chain above pid, its parent first, at
// most max entries, ending at a process the table does not know or at
// pid 1's parent. ok is false when pid's parent is not known at all.
func (t *ProcTable) Ancestors(pid int32, max int) (chain []Ancestor, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	e, known := t.procs[pid]
	if !known {
		return nil, false
	}
	seen := map[int32]bool{pid: true}
	for p := e.ppid; p > 0 && len(chain) < max && !seen[p]; {
		seen[p] = true
		pe, known := t.procs[p]
		if !known {
			break
		}
		chain = append(chain, Ancestor{PID: p, Exe: pe.exe})
		p = pe.ppid
	}
	return chain, true
}

// Signature returns the executable and the kernel-validated code
// signature of the process pid at pidversion (from its audit token, so a
// pid reused since cannot pass for it). ok is false when the table does
// not know that very process from a message: one seeded at start, or gone.
// Team and signing ids are "" when the kernel did not validate them.
func (t *ProcTable) Signature(pid int32, pidversion uint32) (exe, teamID, signingID string, ok bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	e, known := t.procs[pid]
	if !known || pidversion == 0 || e.pidversion != pidversion {
		return "", "", "", false
	}
	return e.exe, e.teamID, e.signingID, true
}

// Exe returns what the table says pid runs.
func (t *ProcTable) Exe(pid int32) (string, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	e, ok := t.procs[pid]
	return e.exe, ok
}

// Parent returns the parent of pid the table knows of.
func (t *ProcTable) Parent(pid int32) (int32, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	e, ok := t.procs[pid]
	return e.ppid, ok
}

// Len is how many processes the table holds.
func (t *ProcTable) Len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.procs)
}
