//go:build unix

package store

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// runFile is a run file mapped into memory. Its methods may be called on
// a nil *runFile (no run file): they do nothing.
type runFile struct {
	f   *os.File // open, and locked, until finish
	mem []byte   // the mapping, runFileSize bytes
}

// openRunFile opens the run file at path (creating it and its directory),
// locks it against other writers, reads what the previous run left there
// (prev, or prevErr saying why there is nothing to read), and starts rec
// in it.
func openRunFile(path string, rec runRecord) (rf *runFile, prev runRecord, prevErr, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, prev, nil, fmt.Errorf("audit run file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, prev, nil, fmt.Errorf("audit run file: %w", err)
	}
	fail := func(err error) (*runFile, runRecord, error, error) {
		f.Close()
		return nil, runRecord{}, nil, fmt.Errorf("audit run file %s: %w", path, err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			err = errRunFileBusy
		}
		return fail(err)
	}
	old := make([]byte, runFileSize)
	n, err := f.ReadAt(old, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return fail(err)
	}
	prev, prevErr = parseRunFile(old[:n])
	if _, err := f.WriteAt(rec.marshal(), 0); err != nil {
		return fail(err)
	}
	if err := f.Truncate(runFileSize); err != nil {
		return fail(err)
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, runFileSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fail(err)
	}
	// Best effort: a page locked in memory is never swapped out, so a
	// store into it never waits for the swap device.
	_ = unix.Mlock(mem)
	return &runFile{f: f, mem: mem}, prev, prevErr, nil
}

// word is the 8-byte field at off; the mapping is page-aligned.
func (rf *runFile) word(off int) *uint64 { return (*uint64)(unsafe.Pointer(&rf.mem[off])) }

// setAccepted and setDropped store the run's counts: one atomic store
// into the mapping each, no system call.
func (rf *runFile) setAccepted(n uint64) {
	if rf != nil {
		atomic.StoreUint64(rf.word(offAccepted), n)
	}
}

func (rf *runFile) setDropped(n uint64) {
	if rf != nil {
		atomic.StoreUint64(rf.word(offDropped), n)
	}
}

// finish records the run's end and closes the file.
func (rf *runFile) finish(st runState) {
	if rf == nil {
		return
	}
	atomic.StoreUint64(rf.word(offState), uint64(st))
	unix.Munmap(rf.mem)
	rf.f.Close()
}
