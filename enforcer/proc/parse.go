package proc

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// status is what Task uses of /proc/PID/status.
type status struct {
	tgid, ppid int32
	uid, euid  uint32
	gid, egid  uint32
	groups     []uint32
}

// parseStatus parses proc(5) /proc/PID/status: "Key:\tvalue" lines.
func parseStatus(b []byte) (status, error) {
	var st status
	const (
		haveTgid = 1 << iota
		havePPid
		haveUid
		haveGid
		haveGroups
		required = haveTgid | havePPid | haveUid | haveGid
	)
	have := 0
	for len(b) > 0 && have != required|haveGroups {
		var line []byte
		line, b, _ = bytes.Cut(b, []byte{'\n'})
		key, val, ok := bytes.Cut(line, []byte{':'})
		if !ok {
			continue
		}
		var err error
		switch string(key) {
		case "Tgid":
			st.tgid, err = parseInt32(val)
			have |= haveTgid
		case "PPid":
			st.ppid, err = parseInt32(val)
			have |= havePPid
		case "Uid":
			st.uid, st.euid, err = realEffective(val)
			have |= haveUid
		case "Gid":
			st.gid, st.egid, err = realEffective(val)
			have |= haveGid
		case "Groups":
			for _, f := range strings.Fields(string(val)) {
				g, gerr := strconv.ParseUint(f, 10, 32)
				if gerr != nil {
					err = gerr
					break
				}
				st.groups = append(st.groups, uint32(g))
			}
			have |= haveGroups
		}
		if err != nil {
			return status{}, fmt.Errorf("status %s: %w", key, err)
		}
	}
	if have&required != required {
		return status{}, errors.New("status: Tgid, PPid, Uid or Gid missing")
	}
	return st, nil
}

func parseInt32(b []byte) (int32, error) {
	v, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 32)
	return int32(v), err
}

// realEffective parses "real effective saved filesystem" ids.
func realEffective(b []byte) (real, effective uint32, err error) {
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return 0, 0, fmt.Errorf("want 4 ids, got %q", b)
	}
	r, err := strconv.ParseUint(f[0], 10, 32)
	if err != nil {
		return 0, 0, err
	}
	e, err := strconv.ParseUint(f[1], 10, 32)
	if err != nil {
		return 0, 0, err
	}
	return uint32(r), uint32(e), nil
}

// stat is what this package uses of /proc/PID/stat.
type stat struct {
	comm  string
	ppid  int32
	ttyNr uint32
}

// parseStat parses proc(5) /proc/PID/stat: "pid (comm) state ppid pgrp
// session tty_nr ...". comm is raw and may hold spaces and parentheses, so
// it ends at the last ')'. Only the fields used are split off: this runs
// for every ancestor of every exec.
func parseStat(b []byte) (stat, error) {
	open := bytes.IndexByte(b, '(')
	end := bytes.LastIndexByte(b, ')')
	if open < 0 || end < open {
		return stat{}, fmt.Errorf("stat: no (comm) in %q", truncate(b))
	}
	// state ppid pgrp session tty_nr
	var f [5][]byte
	rest := b[end+1:]
	for i := range f {
		rest = bytes.TrimLeft(rest, " \n")
		j := bytes.IndexAny(rest, " \n")
		if j < 0 {
			j = len(rest)
		}
		if j == 0 {
			return stat{}, fmt.Errorf("stat: %d fields after comm, want at least %d", i, len(f))
		}
		f[i], rest = rest[:j], rest[j:]
	}
	ppid, err := strconv.ParseInt(string(f[1]), 10, 32)
	if err != nil {
		return stat{}, fmt.Errorf("stat ppid: %w", err)
	}
	// tty_nr is printed with %d: a signed int holding the encoded device.
	tty, err := strconv.ParseInt(string(f[4]), 10, 32)
	if err != nil {
		return stat{}, fmt.Errorf("stat tty_nr: %w", err)
	}
	return stat{comm: string(b[open+1 : end]), ppid: int32(ppid), ttyNr: uint32(int32(tty))}, nil
}

func truncate(b []byte) []byte {
	if len(b) > 64 {
		return b[:64]
	}
	return b
}

// syscallState is a parsed /proc/TID/syscall.
type syscallState struct {
	running bool
	nr      int64 // -1: blocked, but not in a system call
	args    [6]uint64
}

// parseSyscall parses /proc/TID/syscall, which the kernel writes as one of
//
//	running
//	NR SP PC                      (NR < 0: not in a system call)
//	NR A0 A1 A2 A3 A4 A5 SP PC    (arguments, SP and PC in 0x hex)
func parseSyscall(s string) (syscallState, error) {
	s = strings.TrimSpace(s)
	if s == "running" {
		return syscallState{running: true}, nil
	}
	f := strings.Fields(s)
	if len(f) == 0 {
		return syscallState{}, errors.New("syscall: empty")
	}
	nr, err := strconv.ParseInt(f[0], 10, 64)
	if err != nil {
		return syscallState{}, fmt.Errorf("syscall number: %w", err)
	}
	st := syscallState{nr: nr}
	want := 9
	if nr < 0 {
		want = 3
	}
	if len(f) != want {
		return syscallState{}, fmt.Errorf("syscall %d: %d fields, want %d", nr, len(f), want)
	}
	for i, a := range f[1:] {
		if !strings.HasPrefix(a, "0x") {
			return syscallState{}, fmt.Errorf("syscall %d: field %q is not 0x hex", nr, a)
		}
		v, err := strconv.ParseUint(a[2:], 16, 64)
		if err != nil {
			return syscallState{}, fmt.Errorf("syscall %d: %w", nr, err)
		}
		if nr >= 0 && i < len(st.args) {
			st.args[i] = v
		}
	}
	return st, nil
}

// ttyDevice decodes a tty_nr (new_encode_dev: minor bits 0-7 and 20-31,
// major bits 8-19) and names the device: pseudo-terminal slaves (majors
// 136-143) as /dev/pts/N, virtual consoles (major 4, minor < 64) as
// /dev/ttyN and serial ports (major 4, minor >= 64) as /dev/ttySN; "" for
// anything else.
func ttyDevice(ttyNr uint32) (path string, major, minor uint32) {
	major = (ttyNr & 0xfff00) >> 8
	minor = (ttyNr & 0xff) | ((ttyNr >> 12) & 0xfff00)
	switch {
	case ttyNr == 0:
		return "", 0, 0
	case major >= 136 && major <= 143:
		// Today's kernels number every pty on major 136 (20-bit minors);
		// the other seven majors are the old 8-bit-minor layout.
		return "/dev/pts/" + strconv.FormatUint(uint64((major-136)<<8+minor), 10), major, minor
	case major == 4 && minor < 64:
		return "/dev/tty" + strconv.FormatUint(uint64(minor), 10), major, minor
	case major == 4:
		return "/dev/ttyS" + strconv.FormatUint(uint64(minor-64), 10), major, minor
	}
	return "", major, minor
}
