package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// The run file holds, for the audit writer's current run, how many events
// Enqueue accepted and how many it refused, where the next start can read
// them after a kill -9. The writer maps it into memory and Enqueue stores
// the counts into the mapping with atomic stores: no system call on the
// hot path. The mapped pages are the file's page cache, so they outlive
// the process (SIGKILL, a panic, the OOM killer) but not the machine.
//
// It belongs on a tmpfs (gatehoused puts it in /run/gatehouse): a store
// into a mapping of a disk file can fault and wait for the file system
// (a frozen one, a page under writeback), and the exec path must never
// wait. On a tmpfs the page is never written back; the writer also locks
// it in memory so it is never swapped out. A reboot empties /run, which is
// what the database's audit_run row is for: it tells a clean stop (its
// clean flag) from a lost run file.
//
// Layout, 64 bytes in the machine's byte order (the file never leaves it):
//
//	0  magic "GHAUDRN1"
//	8  run id (random per start; the audit_run row names the same)
//	16 start time, unix nanoseconds
//	24 events accepted
//	32 events refused (dropped: the queue was full)
//	40 state: 1 running, 2 stopped with every loss recorded, 3 stopped
//	   with losses not recorded (the database failed)
//	48 reserved
const runFileSize = 64

const (
	offRunID    = 8
	offStarted  = 16
	offAccepted = 24
	offDropped  = 32
	offState    = 40
)

var runMagic = [8]byte{'G', 'H', 'A', 'U', 'D', 'R', 'N', '1'}

// runState is a run's state in its run file. Stored values never change.
type runState uint64

const (
	runRunning runState = 1 // still running, or killed
	runClean   runState = 2 // stopped; every event written or its loss recorded
	runLossy   runState = 3 // stopped; some losses have no record in the database
)

// runRecord is what a run file holds.
type runRecord struct {
	RunID    uint64
	Started  time.Time
	Accepted uint64
	Dropped  uint64
	State    runState
}

// errNoRunFile is a run file that does not exist or is empty (a new one).
var errNoRunFile = errors.New("missing")

// errRunFileBusy is a run file another audit writer holds.
var errRunFileBusy = errors.New("in use by another audit writer")

func (r runRecord) marshal() []byte {
	b := make([]byte, runFileSize)
	copy(b, runMagic[:])
	binary.NativeEndian.PutUint64(b[offRunID:], r.RunID)
	binary.NativeEndian.PutUint64(b[offStarted:], uint64(nanos(r.Started)))
	binary.NativeEndian.PutUint64(b[offAccepted:], r.Accepted)
	binary.NativeEndian.PutUint64(b[offDropped:], r.Dropped)
	binary.NativeEndian.PutUint64(b[offState:], uint64(r.State))
	return b
}

// parseRunFile reads a run file's content.
func parseRunFile(b []byte) (runRecord, error) {
	if len(b) == 0 {
		return runRecord{}, errNoRunFile
	}
	if len(b) < runFileSize {
		return runRecord{}, fmt.Errorf("damaged: %d bytes, want %d", len(b), runFileSize)
	}
	if [8]byte(b[:8]) != runMagic {
		return runRecord{}, fmt.Errorf("damaged: no run file header (%q)", b[:8])
	}
	r := runRecord{
		RunID:    binary.NativeEndian.Uint64(b[offRunID:]),
		Started:  fromNanos(int64(binary.NativeEndian.Uint64(b[offStarted:]))),
		Accepted: binary.NativeEndian.Uint64(b[offAccepted:]),
		Dropped:  binary.NativeEndian.Uint64(b[offDropped:]),
		State:    runState(binary.NativeEndian.Uint64(b[offState:])),
	}
	if r.State < runRunning || r.State > runLossy {
		return runRecord{}, fmt.Errorf("damaged: state %d", r.State)
	}
	return r, nil
}
