package codesign

import (
	"bytes"
	"debug/macho"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

const (
	loadCmdCodeSignature = 0x1d

	// maxSignature caps the signature read into memory. A 1 GiB binary with
	// SHA-1 and SHA-256 code directories needs about 13 MiB.
	maxSignature = 32 << 20
)

// sliceResult is one architecture's verdict.
type sliceResult struct {
	sig         Signature
	cpu         macho.Cpu
	kernelMatch bool // the kernel's cdhash is this slice's
}

// thin verifies one Mach-O image of size bytes. With a kernel cdhash that
// matches, the pages are not hashed; with one that does not, they are (the
// slice may be one the kernel did not run) and kernelMatch is false, unless
// alone (a thin file), where the mismatch is the verdict.
func (v *Verifier) thin(r io.ReaderAt, size int64, kernel *[20]byte, alone bool) sliceResult {
	h, err := parseHeader(r, size)
	if err != nil {
		return sliceResult{sig: invalid([20]byte{}, "malformed Mach-O file: %v", err)}
	}
	res := sliceResult{cpu: h.cpu}
	if h.sigCount > 1 {
		res.sig = invalid([20]byte{}, "more than one LC_CODE_SIGNATURE load command")
		return res
	}
	found := h.sigCount == 1
	off, length := h.sigOff, h.sigLen
	if !found {
		res.sig = Signature{Status: Unsigned, Reason: "no code signature"}
		return res
	}
	switch {
	case length < 12:
		res.sig = invalid([20]byte{}, "the code signature is %d bytes, too short", length)
		return res
	case length > maxSignature:
		res.sig = invalid([20]byte{}, "the code signature is %d bytes, more than the %d this reader accepts", length, maxSignature)
		return res
	case off+length > size:
		res.sig = invalid([20]byte{}, "the code signature extends past the end of the file (truncated?)")
		return res
	}
	raw := make([]byte, length)
	if _, err := r.ReadAt(raw, off); err != nil {
		// Within bounds, so this is an I/O error or a file shrinking
		// under us; errReader reports the former.
		res.sig = invalid([20]byte{}, "cannot read the code signature: %v", err)
		return res
	}
	sb, err := parseSuperBlob(raw)
	if err != nil {
		res.sig = invalid([20]byte{}, "malformed code signature: %v", err)
		return res
	}
	best := sb.best
	res.sig.CDHash = best.cdhash
	if best.codeLimit != off {
		res.sig = invalid(best.cdhash, "the code directory covers %d bytes but the signature starts at %d: the signature does not cover the file", best.codeLimit, off)
		return res
	}
	// The code limit stops at the signature, so every byte the kernel maps
	// must lie before it: a segment reaching past it would be loaded but
	// not covered by any page hash.
	for _, seg := range h.segments {
		if seg.filesz == 0 {
			continue
		}
		end := seg.offset + seg.filesz
		if end < seg.offset || seg.name != "__LINKEDIT" && end > uint64(off) || end > uint64(off+length) {
			res.sig = invalid(best.cdhash, "segment %s is not covered by the signature", seg.name)
			return res
		}
	}
	res.kernelMatch = kernel != nil && *kernel == best.cdhash
	if !res.kernelMatch {
		if kernel != nil && alone {
			// The caller reports the mismatch; hashing the pages
			// would not change the verdict.
			return res
		}
		if page, err := best.verifyPages(r); err != nil {
			res.sig = invalid(best.cdhash, "cannot read page %d: %v", page, err)
			return res
		} else if page >= 0 {
			res.sig = invalid(best.cdhash, "page %d does not match its hash: the signature belongs to another file, or the file was changed after signing", page)
			return res
		}
	}
	if sb.cms == nil {
		res.sig = Signature{
			Status:    AdHoc,
			Reason:    "ad-hoc signature: no certificate vouches for the identifier",
			SigningID: best.ident,
			CDHash:    best.cdhash,
		}
		return res
	}
	c := v.verifyCMS(sb)
	if c.status != Signed {
		res.sig = invalid(best.cdhash, "%s", c.reason)
		return res
	}
	res.sig = Signature{
		Status:    Signed,
		SigningID: best.ident,
		TeamID:    c.teamID,
		Authority: slices.Clone(c.authority),
		CDHash:    best.cdhash,
	}
	return res
}

// fat verifies every slice of a universal binary and reports one.
func (v *Verifier) fat(r io.ReaderAt, size int64, kernel *[20]byte) Signature {
	archs, err := parseFatHeader(r, size)
	if err != nil {
		return invalid([20]byte{}, "malformed universal binary: %v", err)
	}
	results := make([]sliceResult, 0, len(archs))
	for _, a := range archs {
		s := v.thin(io.NewSectionReader(r, int64(a.offset), int64(a.size)), int64(a.size), kernel, false)
		if s.sig.Status == Invalid {
			s.sig.Reason = cpuName(a.cpu) + " slice: " + s.sig.Reason
			return s.sig
		}
		if s.cpu != a.cpu {
			return invalid(s.sig.CDHash, "the %s slice holds a %s image", cpuName(a.cpu), cpuName(s.cpu))
		}
		results = append(results, s)
	}
	pick := -1
	if kernel != nil {
		for i, s := range results {
			if s.kernelMatch {
				pick = i
			}
		}
		if pick < 0 {
			return invalid(results[0].sig.CDHash, "the signature on disk is not the one the kernel validated")
		}
	} else {
		pick = preferredSlice(results)
	}
	chosen := results[pick]
	for _, s := range results {
		a, b := chosen.sig, s.sig
		if a.Status != b.Status || a.SigningID != b.SigningID || a.TeamID != b.TeamID {
			return invalid(chosen.sig.CDHash, "the slices disagree: %s is %s, %s is %s",
				cpuName(chosen.cpu), describe(a), cpuName(s.cpu), describe(b))
		}
	}
	return chosen.sig
}

func preferredSlice(results []sliceResult) int {
	for _, cpu := range []macho.Cpu{macho.CpuArm64, macho.CpuAmd64} {
		for i, s := range results {
			if s.cpu == cpu {
				return i
			}
		}
	}
	return 0
}

func describe(s Signature) string {
	switch s.Status {
	case Signed:
		return fmt.Sprintf("signed as %q by team %q", s.SigningID, s.TeamID)
	case AdHoc:
		return fmt.Sprintf("ad-hoc signed as %q", s.SigningID)
	}
	return s.Status.String()
}

func cpuName(c macho.Cpu) string {
	switch c {
	case macho.CpuArm64:
		return "arm64"
	case macho.CpuAmd64:
		return "x86_64"
	}
	return c.String()
}

// header is what thin needs from a Mach-O header. debug/macho would also
// parse the symbol table, which costs thousands of allocations per file on
// the enforcer's hot path.
type header struct {
	cpu      macho.Cpu
	segments []segment
	sigCount int
	sigOff   int64
	sigLen   int64
}

type segment struct {
	name           string
	offset, filesz uint64
}

// maxLoadCommands caps sizeofcmds; real binaries use a few kilobytes.
const maxLoadCommands = 4 << 20

func parseHeader(r io.ReaderAt, size int64) (*header, error) {
	var fh [32]byte
	if size < 28 {
		return nil, errors.New("shorter than a Mach-O header")
	}
	n := min(size, int64(len(fh)))
	if _, err := r.ReadAt(fh[:n], 0); err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	var bo binary.ByteOrder
	var is64 bool
	switch binary.LittleEndian.Uint32(fh[:]) {
	case macho.Magic32:
		bo = binary.LittleEndian
	case macho.Magic64:
		bo, is64 = binary.LittleEndian, true
	default:
		switch binary.BigEndian.Uint32(fh[:]) {
		case macho.Magic32:
			bo = binary.BigEndian
		case macho.Magic64:
			bo, is64 = binary.BigEndian, true
		default:
			return nil, errors.New("bad magic number")
		}
	}
	hdrSize := int64(28)
	if is64 {
		hdrSize = 32
		if size < hdrSize {
			return nil, errors.New("shorter than a Mach-O header")
		}
	}
	h := &header{cpu: macho.Cpu(bo.Uint32(fh[4:]))}
	ncmds := bo.Uint32(fh[16:])
	cmdsSize := int64(bo.Uint32(fh[20:]))
	if cmdsSize > maxLoadCommands || hdrSize+cmdsSize > size {
		return nil, fmt.Errorf("%d bytes of load commands", cmdsSize)
	}
	cmds := make([]byte, cmdsSize)
	if _, err := r.ReadAt(cmds, hdrSize); err != nil {
		return nil, fmt.Errorf("read load commands: %w", err)
	}
	for i := uint32(0); i < ncmds; i++ {
		if len(cmds) < 8 {
			return nil, fmt.Errorf("load command %d past sizeofcmds", i)
		}
		cmd, n := bo.Uint32(cmds), bo.Uint32(cmds[4:])
		if n < 8 || uint64(n) > uint64(len(cmds)) {
			return nil, fmt.Errorf("load command %d has size %d", i, n)
		}
		raw := cmds[:n]
		cmds = cmds[n:]
		switch macho.LoadCmd(cmd) {
		case macho.LoadCmdSegment:
			if len(raw) < 56 {
				return nil, fmt.Errorf("load command %d: short LC_SEGMENT", i)
			}
			h.segments = append(h.segments, segment{cstr(raw[8:24]), uint64(bo.Uint32(raw[32:])), uint64(bo.Uint32(raw[36:]))})
		case macho.LoadCmdSegment64:
			if len(raw) < 72 {
				return nil, fmt.Errorf("load command %d: short LC_SEGMENT_64", i)
			}
			h.segments = append(h.segments, segment{cstr(raw[8:24]), bo.Uint64(raw[40:]), bo.Uint64(raw[48:])})
		case loadCmdCodeSignature:
			if len(raw) != 16 {
				return nil, fmt.Errorf("LC_CODE_SIGNATURE is %d bytes, not 16", len(raw))
			}
			h.sigCount++
			h.sigOff = int64(bo.Uint32(raw[8:]))
			h.sigLen = int64(bo.Uint32(raw[12:]))
		}
	}
	return h, nil
}

func cstr(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}

type fatArch struct {
	cpu          macho.Cpu
	sub          uint32
	offset, size uint32
}

// parseFatHeader reads the big-endian fat header. debug/macho's NewFatFile
// would also parse every slice's symbol table.
func parseFatHeader(r io.ReaderAt, size int64) ([]fatArch, error) {
	var hdr [8 + maxFatArchs*20]byte
	n := binary.BigEndian
	if _, err := r.ReadAt(hdr[:8], 0); err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	count := n.Uint32(hdr[4:])
	if count == 0 || count >= maxFatArchs {
		return nil, fmt.Errorf("%d architectures", count)
	}
	end := 8 + 20*int64(count)
	if end > size {
		return nil, errors.New("architecture table past the end of the file")
	}
	if _, err := r.ReadAt(hdr[8:end], 8); err != nil {
		return nil, fmt.Errorf("read architecture table: %w", err)
	}
	archs := make([]fatArch, 0, count)
	for i := range int64(count) {
		e := hdr[8+20*i:]
		a := fatArch{macho.Cpu(n.Uint32(e)), n.Uint32(e[4:]) &^ 0xff000000, n.Uint32(e[8:]), n.Uint32(e[12:])}
		if int64(a.offset) < end || int64(a.offset)+int64(a.size) > size {
			return nil, fmt.Errorf("the %s slice lies outside the file (truncated?)", cpuName(a.cpu))
		}
		for _, b := range archs {
			if b.cpu == a.cpu && b.sub == a.sub {
				return nil, fmt.Errorf("two %s slices", cpuName(a.cpu))
			}
		}
		archs = append(archs, a)
	}
	return archs, nil
}
