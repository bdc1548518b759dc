package endpointsecurity

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeMem is a kernel message laid out in byte blocks: a pointer stored in
// a block is the number of the block it points to (0 is NULL).
type fakeMem struct{ blocks [][]byte }

func newFakeMem() *fakeMem { return &fakeMem{blocks: [][]byte{nil}} }

func (m *fakeMem) alloc(n int) int {
	m.blocks = append(m.blocks, make([]byte, n))
	return len(m.blocks) - 1
}

func (m *fakeMem) bytes(r, off, n int) ([]byte, error) {
	if r <= 0 || r >= len(m.blocks) {
		return nil, fmt.Errorf("no block %d", r)
	}
	b := m.blocks[r]
	if off < 0 || n < 0 || off+n > len(b) {
		return nil, fmt.Errorf("bytes %d..%d outside block %d of %d", off, off+n, r, len(b))
	}
	return b[off : off+n], nil
}

func (m *fakeMem) ptr(r, off int) (int, error) {
	b, err := m.bytes(r, off, 8)
	if err != nil {
		return 0, err
	}
	p := le.Uint64(b)
	if p >= uint64(len(m.blocks)) {
		return 0, fmt.Errorf("pointer %d to no block", p)
	}
	return int(p), nil
}

// Writers, at the headers' offsets.
func (m *fakeMem) put32(r, off int, v uint32) { le.PutUint32(m.blocks[r][off:], v) }
func (m *fakeMem) put64(r, off int, v uint64) { le.PutUint64(m.blocks[r][off:], v) }
func (m *fakeMem) putPtr(r, off, to int)      { m.put64(r, off, uint64(to)) }

func (m *fakeMem) putStr(r, off int, s string) {
	m.put64(r, off+offStringTokenLength, uint64(len(s)))
	if s != "" {
		d := m.alloc(len(s))
		copy(m.blocks[d], s)
		m.putPtr(r, off+offStringTokenData, d)
	}
}

func (m *fakeMem) putTimespec(r, off int, t time.Time) {
	m.put64(r, off, uint64(t.Unix()))
	m.put64(r, off+8, uint64(t.Nanosecond()))
}

func (m *fakeMem) file(f File) int {
	r := m.alloc(sizeFile)
	m.putStr(r, offFilePath, f.Path)
	if f.PathTruncated {
		m.blocks[r][offFilePathTruncated] = 1
	}
	st := offFileStat
	m.put32(r, st+offStatDev, uint32(f.Stat.Dev))
	le.PutUint16(m.blocks[r][st+offStatMode:], f.Stat.Mode)
	m.put64(r, st+offStatIno, f.Stat.Ino)
	m.put32(r, st+offStatUID, f.Stat.UID)
	m.put32(r, st+offStatGID, f.Stat.GID)
	m.putTimespec(r, st+offStatMtime, time.Unix(0, f.Stat.MtimeNs))
	m.putTimespec(r, st+offStatCtime, time.Unix(0, f.Stat.CtimeNs))
	m.put64(r, st+offStatSize, uint64(f.Stat.Size))
	return r
}

func (m *fakeMem) putToken(r, off int, t AuditToken) {
	for i, v := range []uint32{t.AUID, t.EUID, t.EGID, t.RUID, t.RGID, uint32(t.PID), t.ASID, t.PIDVersion} {
		m.put32(r, off+4*i, v)
	}
}

func (m *fakeMem) process(p Process) int {
	r := m.alloc(sizeProcess)
	m.putToken(r, offProcessAuditToken, p.Token)
	m.put32(r, offProcessPPID, uint32(p.PPID))
	m.put32(r, offProcessOriginalPPID, uint32(p.OriginalPPID))
	m.put32(r, offProcessGroupID, uint32(p.GroupID))
	m.put32(r, offProcessSessionID, uint32(p.SessionID))
	m.put32(r, offProcessCodesigningFlags, p.CodesigningFlags)
	if p.PlatformBinary {
		m.blocks[r][offProcessIsPlatformBinary] = 1
	}
	if p.ESClient {
		m.blocks[r][offProcessIsESClient] = 1
	}
	copy(m.blocks[r][offProcessCDHash:], p.CDHash[:])
	m.putStr(r, offProcessSigningID, p.SigningID)
	m.putStr(r, offProcessTeamID, p.TeamID)
	m.putPtr(r, offProcessExecutable, m.file(p.Executable))
	if p.TTY != nil {
		m.putPtr(r, offProcessTTY, m.file(*p.TTY))
	}
	if !p.StartTime.IsZero() {
		m.put64(r, offProcessStartTime, uint64(p.StartTime.Unix()))
		m.put32(r, offProcessStartTime+8, uint32(p.StartTime.Nanosecond()/1e3))
	}
	if p.Responsible != nil {
		m.putToken(r, offProcessResponsibleToken, *p.Responsible)
	}
	if p.Parent != nil {
		m.putToken(r, offProcessParentToken, *p.Parent)
	}
	return r
}

// message lays msg out; the exec event inline in es_events_t.
func (m *fakeMem) message(msg Message) int {
	r := m.alloc(sizeMessage)
	m.put32(r, offMessageVersion, msg.Version)
	m.putTimespec(r, offMessageTime, msg.Time)
	m.put64(r, offMessageMachTime, msg.MachTime)
	m.put64(r, offMessageDeadline, msg.Deadline)
	m.putPtr(r, offMessageProcess, m.process(msg.Process))
	m.put64(r, offMessageSeqNum, msg.SeqNum)
	m.put32(r, offMessageActionType, uint32(msg.Action))
	m.put32(r, offMessageEventType, uint32(msg.Event))
	if msg.Thread != 0 {
		th := m.alloc(sizeThread)
		m.put64(th, 0, msg.Thread)
		m.putPtr(r, offMessageThread, th)
	}
	m.put64(r, offMessageGlobalSeqNum, msg.GlobalSeqNum)
	ev := offMessageEvent
	switch {
	case msg.Exec != nil:
		x := msg.Exec
		m.putPtr(r, ev+offExecTarget, m.process(x.Target))
		m.putStr(r, ev+offExecDyldExecPath, x.DyldExecPath)
		if x.Script != nil {
			m.putPtr(r, ev+offExecScript, m.file(*x.Script))
		}
		if x.Cwd != nil {
			m.putPtr(r, ev+offExecCwd, m.file(*x.Cwd))
		}
		m.put32(r, ev+offExecLastFD, uint32(x.LastFD))
		m.put32(r, ev+offExecImageCPUType, uint32(x.ImageCPUType))
		m.put32(r, ev+offExecImageCPUSubtype, uint32(x.ImageCPUSubtype))
	case msg.ForkChild != nil:
		m.putPtr(r, ev+offForkChild, m.process(*msg.ForkChild))
	case msg.Event == NotifyExit:
		m.put32(r, ev+offExitStat, uint32(msg.ExitStat))
	case msg.Signal != nil:
		m.put32(r, ev+offSignalSig, uint32(msg.Signal.Sig))
		m.putPtr(r, ev+offSignalTarget, m.process(msg.Signal.Target))
	case msg.FileOp != nil:
		m.fileOp(r, msg.Event, msg.FileOp)
	case msg.Session != nil:
		// A macOS 13 event: the union holds a pointer to it.
		s := m.alloc(sizeEventLWSession)
		m.putStr(s, offLWSessionUsername, msg.Session.User)
		m.put32(s, offLWSessionGraphicalID, msg.Session.GraphicalSessionID)
		m.putPtr(r, ev+offEventPointer, s)
	case msg.Petition != nil:
		// macOS 14 events, through the union's pointer too.
		m.putPtr(r, ev+offEventPointer, m.petition(msg.Petition))
	case msg.Judgement != nil:
		m.putPtr(r, ev+offEventPointer, m.judgement(msg.Judgement))
	}
	return r
}

// optProcess lays p out, or gives NULL for nil.
func (m *fakeMem) optProcess(p *Process) int {
	if p == nil {
		return 0
	}
	return m.process(*p)
}

// petition lays out an es_event_authorization_petition_t and its array of
// rights (none: a NULL array).
func (m *fakeMem) petition(p *AuthPetition) int {
	r := m.alloc(sizeEventAuthPetition)
	m.putPtr(r, offAuthPetitionInstigator, m.optProcess(p.Instigator))
	m.putPtr(r, offAuthPetitionPetitioner, m.optProcess(p.Petitioner))
	m.put32(r, offAuthPetitionFlags, p.Flags)
	m.put64(r, offAuthPetitionRightCount, uint64(len(p.Rights)))
	if len(p.Rights) > 0 {
		a := m.alloc(len(p.Rights) * sizeStringToken)
		for i, right := range p.Rights {
			m.putStr(a, i*sizeStringToken, right)
		}
		m.putPtr(r, offAuthPetitionRights, a)
	}
	return r
}

// judgement lays out an es_event_authorization_judgement_t and its array
// of es_authorization_result_t.
func (m *fakeMem) judgement(j *AuthJudgement) int {
	r := m.alloc(sizeEventAuthJudgement)
	m.putPtr(r, offAuthJudgementInstigator, m.optProcess(j.Instigator))
	m.putPtr(r, offAuthJudgementPetitioner, m.optProcess(j.Petitioner))
	m.put32(r, offAuthJudgementReturnCode, uint32(j.ReturnCode))
	m.put64(r, offAuthJudgementResultCount, uint64(len(j.Results)))
	if len(j.Results) > 0 {
		a := m.alloc(len(j.Results) * sizeAuthResult)
		for i, res := range j.Results {
			at := i * sizeAuthResult
			m.putStr(a, at+offAuthResultRightName, res.Right)
			m.put32(a, at+offAuthResultRuleClass, res.RuleClass)
			if res.Granted {
				m.blocks[a][at+offAuthResultGranted] = 1
			}
		}
		m.putPtr(r, offAuthJudgementResults, a)
	}
	return r
}

// fileOp lays out a file event inline at the message's event union. Dest
// is split at its last slash into a directory file and a name for the
// events that carry one; with DestExists it is an existing file.
func (m *fakeMem) fileOp(r int, event EventType, op *FileOp) {
	ev := offMessageEvent
	src := 0
	if op.Source != nil {
		src = m.file(*op.Source)
	}
	dir, name := op.Dest, ""
	if i := strings.LastIndexByte(op.Dest, '/'); i >= 0 {
		dir, name = op.Dest[:max(i, 1)], op.Dest[i+1:]
	}
	newPath := func(dirOff, nameOff int) {
		m.putPtr(r, dirOff, m.file(File{Path: dir, PathTruncated: op.DestTruncated}))
		m.putStr(r, nameOff, name)
	}
	dest := func(typeOff, off int) {
		if op.DestExists {
			m.put32(r, typeOff, destinationExisting)
			m.putPtr(r, off, m.file(File{Path: op.Dest, PathTruncated: op.DestTruncated}))
			return
		}
		m.put32(r, typeOff, destinationNewPath)
		newPath(off, off+offNewPathFilename)
	}
	switch event {
	case AuthRename:
		m.putPtr(r, ev+offRenameSource, src)
		dest(ev+offRenameDestType, ev+offRenameDest)
	case AuthCreate:
		dest(ev+offCreateDestType, ev+offCreateDest)
	case AuthClone:
		m.putPtr(r, ev+offCloneSource, src)
		newPath(ev+offCloneTargetDir, ev+offCloneTargetName)
	case AuthLink:
		m.putPtr(r, ev+offLinkSource, src)
		newPath(ev+offLinkTargetDir, ev+offLinkTargetFilename)
	case AuthUnlink:
		m.putPtr(r, ev+offUnlinkTarget, src)
		m.putPtr(r, ev+offUnlinkParentDir, m.file(File{Path: "/Applications"}))
	case AuthTruncate:
		m.putPtr(r, ev+offTruncateTarget, src)
	case AuthExchangedata:
		m.putPtr(r, ev+offExchangedataFile1, src)
		m.putPtr(r, ev+offExchangedataFile2, m.file(File{Path: op.Dest}))
	}
}

func sampleProcess(pid int32, exe string) Process {
	rt, pt := AuditToken{PID: 1}, AuditToken{PID: pid - 1, PIDVersion: 7}
	return Process{
		Token: AuditToken{AUID: 501, EUID: 501, EGID: 20, RUID: 501, RGID: 20, PID: pid, ASID: 100009, PIDVersion: 3},
		PPID:  pid - 1, OriginalPPID: pid - 1, GroupID: pid, SessionID: 1,
		CodesigningFlags: 0x22000301, PlatformBinary: true,
		CDHash:    [cdhashLen]byte{0xde, 0xad, 0xbe, 0xef, 19: 0x01},
		SigningID: "com.apple.ls", TeamID: "",
		Executable: File{Path: exe, Stat: Stat{Dev: 16777232, Mode: 0o100755, Ino: 1152921500312, UID: 0, GID: 0,
			MtimeNs: 1_700_000_000_123_456_789, CtimeNs: 1_700_000_001_000_000_001, Size: 154624}},
		TTY:         &File{Path: "/dev/ttys003", Stat: Stat{Mode: 0o20620}},
		StartTime:   time.Unix(1_764_000_000, 250_000_000),
		Responsible: &rt, Parent: &pt,
	}
}

func sampleExec(version uint32) Message {
	target := sampleProcess(4242, "/bin/ls")
	target.SigningID, target.TeamID, target.PlatformBinary = "com.example.tool", "ABCDE12345", false
	return Message{
		Version: version, Time: time.Unix(1_764_000_000, 999), MachTime: 123456789, Deadline: 123456789 + 60e9,
		Process: sampleProcess(4242, "/bin/zsh"), SeqNum: 17, Action: ActionAuth, Event: AuthExec,
		Thread: 99881, GlobalSeqNum: 4711,
		Exec: &Exec{
			Target:       target,
			DyldExecPath: "/bin/ls",
			Script:       &File{Path: "/Users/a/run.sh", Stat: Stat{Ino: 5, Size: 10}},
			Cwd:          &File{Path: "/Users/a", Stat: Stat{Mode: 0o40755}},
			LastFD:       3, ImageCPUType: 0x0100000c, ImageCPUSubtype: 2,
		},
	}
}

// What a message of version v may carry: the fields newer versions add are
// zero. The versions are the SDK's, written out (not layout.go's).
func asVersion(msg Message, v uint32) Message {
	strip := func(p *Process) {
		if v < 2 {
			p.TTY = nil
		}
		if v < 3 {
			p.StartTime = time.Time{}
		}
		if v < 4 {
			p.Responsible, p.Parent = nil, nil
		}
	}
	if v < 2 {
		msg.SeqNum = 0
	}
	if v < 4 {
		msg.Thread, msg.GlobalSeqNum = 0, 0
	}
	strip(&msg.Process)
	if msg.Exec != nil {
		x := *msg.Exec
		strip(&x.Target)
		if v < 7 {
			x.DyldExecPath = ""
		}
		if v < 2 {
			x.Script = nil
		}
		if v < 3 {
			x.Cwd = nil
		}
		if v < 4 {
			x.LastFD = -1
		}
		if v < 6 {
			x.ImageCPUType, x.ImageCPUSubtype = 0, 0
		}
		msg.Exec = &x
	}
	if msg.ForkChild != nil {
		c := *msg.ForkChild
		strip(&c)
		msg.ForkChild = &c
	}
	return msg
}

func TestDecodeExecEveryVersion(t *testing.T) {
	for v := uint32(1); v <= 8; v++ {
		t.Run(fmt.Sprintf("version %d", v), func(t *testing.T) {
			// The bytes hold every field, as a newer kernel's would; the
			// decoder must read only those the version has.
			m := newFakeMem()
			full := sampleExec(v)
			got, err := decode[int](m, m.message(full))
			if err != nil {
				t.Fatal(err)
			}
			want := asVersion(full, v)
			if diff := diffMessages(want, got); diff != "" {
				t.Error(diff)
			}
		})
	}
}

func TestDecodeForkAndExit(t *testing.T) {
	m := newFakeMem()
	child := sampleProcess(5000, "/bin/zsh")
	got, err := decode[int](m, m.message(Message{Version: 6, Process: sampleProcess(4999, "/bin/zsh"), Action: ActionNotify, Event: NotifyFork, ForkChild: &child}))
	if err != nil {
		t.Fatal(err)
	}
	if got.ForkChild == nil || got.ForkChild.Token.PID != 5000 || got.ForkChild.Executable.Path != "/bin/zsh" || got.ForkChild.PPID != 4999 {
		t.Errorf("fork child %+v", got.ForkChild)
	}
	got, err = decode[int](m, m.message(Message{Version: 6, Process: sampleProcess(5000, "/bin/zsh"), Action: ActionNotify, Event: NotifyExit, ExitStat: 256}))
	if err != nil || got.ExitStat != 256 || got.Exec != nil {
		t.Errorf("exit: %v, stat %d", err, got.ExitStat)
	}
}

func TestDecodeSignal(t *testing.T) {
	m := newFakeMem()
	got, err := decode[int](m, m.message(Message{Version: 7, Process: sampleProcess(600, "/bin/kill"), Action: ActionAuth, Event: AuthSignal,
		Signal: &Signal{Sig: 9, Target: sampleProcess(77, "/Library/Gatehouse/Gatehoused.app/Contents/MacOS/gatehoused")}}))
	if err != nil {
		t.Fatal(err)
	}
	if got.Signal == nil || got.Signal.Sig != 9 || got.Signal.Target.Token.PID != 77 || got.Process.Token.PID != 600 ||
		got.Signal.Target.Executable.Path != "/Library/Gatehouse/Gatehoused.app/Contents/MacOS/gatehoused" {
		t.Errorf("signal %+v from %d", got.Signal, got.Process.Token.PID)
	}
}

func TestDecodeFileEvents(t *testing.T) {
	app := &File{Path: "/Applications/Tool.app", Stat: Stat{Mode: 0o40755, Ino: 77, UID: 501, GID: 80}}
	dmg := &File{Path: "/Volumes/Tool/Tool.app", Stat: Stat{Mode: 0o40755, Ino: 9}}
	for _, tt := range []struct {
		name  string
		event EventType
		op    FileOp
	}{
		{"Finder moves a bundle to the trash", AuthRename, FileOp{Source: app, Dest: "/Users/a/.Trash/Tool.app"}},
		{"an updater renames over the bundle", AuthRename, FileOp{Source: &File{Path: "/Applications/.Tool.app.new"}, Dest: "/Applications/Tool.app", DestExists: true}},
		{"a rename into the root directory", AuthRename, FileOp{Source: &File{Path: "/tmp/x"}, Dest: "/x"}},
		{"the bundle's folder is made", AuthCreate, FileOp{Dest: "/Applications/Tool.app"}},
		{"create of a file that exists", AuthCreate, FileOp{Dest: "/Applications/Tool.app/Contents/Info.plist", DestExists: true}},
		{"Finder clones from a disk image", AuthClone, FileOp{Source: dmg, Dest: "/Applications/Tool.app"}},
		{"a hard link", AuthLink, FileOp{Source: &File{Path: "/Users/a/tool"}, Dest: "/Applications/tool"}},
		{"rm -r empties the bundle", AuthUnlink, FileOp{Source: &File{Path: "/Applications/Tool.app/Contents/MacOS/Tool", Stat: Stat{Mode: 0o100755, Size: 4096}}}},
		{"a truncated destination dir", AuthClone, FileOp{Source: dmg, Dest: "/Applications/Tool.app", DestTruncated: true}},
		{"truncate the daemon's database", AuthTruncate, FileOp{Source: &File{Path: "/var/db/gatehouse/audit.db"}}},
		{"exchangedata swaps two bundles' files", AuthExchangedata, FileOp{Source: &File{Path: "/Applications/Tool.app/Contents/MacOS/Tool"}, Dest: "/Applications/.new/Tool", DestExists: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newFakeMem()
			op := tt.op
			got, err := decode[int](m, m.message(Message{Version: 7, Process: sampleProcess(321, "/System/Library/CoreServices/Finder.app/Contents/MacOS/Finder"),
				Action: ActionAuth, Event: tt.event, FileOp: &op}))
			if err != nil {
				t.Fatal(err)
			}
			if got.FileOp == nil {
				t.Fatal("no file op decoded")
			}
			g, w := *got.FileOp, tt.op
			g.Source, w.Source = nil, nil
			if g, w := fmt.Sprintf("%+v %v", g, deref(got.FileOp.Source)), fmt.Sprintf("%+v %v", w, deref(tt.op.Source)); g != w {
				t.Errorf("decoded %s\nwant    %s", g, w)
			}
		})
	}
}

func deref(f *File) any {
	if f == nil {
		return nil
	}
	return *f
}

func TestDecodeRefusesBrokenFileEvents(t *testing.T) {
	for _, tt := range []struct {
		name  string
		event EventType
		op    FileOp
		spoil func(m *fakeMem, msg int)
		want  string
	}{
		{"a rename without a source", AuthRename, FileOp{Source: &File{Path: "/a"}, Dest: "/b"},
			func(m *fakeMem, msg int) { m.putPtr(msg, offMessageEvent+offRenameSource, 0) }, "rename source: NULL pointer"},
		{"an unknown destination type", AuthRename, FileOp{Source: &File{Path: "/a"}, Dest: "/b"},
			func(m *fakeMem, msg int) { m.put32(msg, offMessageEvent+offRenameDestType, 7) }, "destination type 7"},
		{"a clone target name with a slash", AuthClone, FileOp{Source: &File{Path: "/a"}, Dest: "/Applications/x"},
			func(m *fakeMem, msg int) { m.putStr(msg, offMessageEvent+offCloneTargetName, "../../etc/x") }, `"../../etc/x" is not a file name`},
		{"a create without its directory", AuthCreate, FileOp{Dest: "/Applications/X.app"},
			func(m *fakeMem, msg int) { m.putPtr(msg, offMessageEvent+offCreateDest, 0) }, "create destination dir: NULL pointer"},
		{"a link named ..", AuthLink, FileOp{Source: &File{Path: "/a"}, Dest: "/Applications/x"},
			func(m *fakeMem, msg int) { m.putStr(msg, offMessageEvent+offLinkTargetFilename, "..") }, `".." is not a file name`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newFakeMem()
			op := tt.op
			msg := m.message(Message{Version: 7, Process: sampleProcess(9, "/bin/mv"), Action: ActionAuth, Event: tt.event, FileOp: &op})
			tt.spoil(m, msg)
			_, err := decode[int](m, msg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
}

func TestDecodeRefusesBrokenMessages(t *testing.T) {
	for _, tt := range []struct {
		name  string
		spoil func(m *fakeMem, msg int)
		want  string
	}{
		{"no process", func(m *fakeMem, msg int) { m.putPtr(msg, offMessageProcess, 0) }, "process: NULL pointer"},
		{"no exec target", func(m *fakeMem, msg int) { m.putPtr(msg, offMessageEvent+offExecTarget, 0) }, "exec target: NULL pointer"},
		{"no executable", func(m *fakeMem, msg int) {
			p, _ := m.ptr(msg, offMessageProcess)
			m.putPtr(p, offProcessExecutable, 0)
		}, "process executable: NULL pointer"},
		{"a path longer than any", func(m *fakeMem, msg int) {
			p, _ := m.ptr(msg, offMessageProcess)
			exe, _ := m.ptr(p, offProcessExecutable)
			m.put64(exe, offFilePath+offStringTokenLength, 1<<40)
		}, "process executable path: length 1099511627776 over"},
		{"a string past its block", func(m *fakeMem, msg int) {
			p, _ := m.ptr(msg, offMessageProcess)
			m.put64(p, offProcessSigningID+offStringTokenLength, 4096)
		}, "process signing id: bytes 0..4096 outside"},
		{"a string without data", func(m *fakeMem, msg int) {
			p, _ := m.ptr(msg, offMessageProcess)
			m.putPtr(p, offProcessTeamID+offStringTokenData, 0)
			m.put64(p, offProcessTeamID+offStringTokenLength, 3)
		}, "process team id: NULL pointer"},
		{"version 0", func(m *fakeMem, msg int) { m.put32(msg, offMessageVersion, 0) }, "message version 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newFakeMem()
			msg := m.message(sampleExec(7))
			tt.spoil(m, msg)
			_, err := decode[int](m, msg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
	if _, err := decode[int](newFakeMem(), 0); !errors.Is(err, errNull) {
		t.Errorf("a NULL message: %v", err)
	}
}

func sampleSession(event EventType, user string) Message {
	return Message{Version: 7, Process: sampleProcess(150, "/System/Library/CoreServices/loginwindow.app/Contents/MacOS/loginwindow"),
		Action: ActionNotify, Event: event, Session: &LWSession{User: user, GraphicalSessionID: 257}}
}

func TestDecodeLoginWindowSessionEvents(t *testing.T) {
	for _, event := range []EventType{NotifyLWSessionLogout, NotifyLWSessionLock} {
		t.Run(fmt.Sprint("event ", event), func(t *testing.T) {
			m := newFakeMem()
			got, err := decode[int](m, m.message(sampleSession(event, "anna")))
			if err != nil {
				t.Fatal(err)
			}
			if got.Event != event || got.Session == nil || *got.Session != (LWSession{User: "anna", GraphicalSessionID: 257}) {
				t.Errorf("event %d, session %+v", got.Event, got.Session)
			}
		})
	}
}

func TestDecodeRefusesBrokenSessionEvents(t *testing.T) {
	user := func(m *fakeMem, msg int) int {
		s, _ := m.ptr(msg, offMessageEvent+offEventPointer)
		return s
	}
	for _, tt := range []struct {
		name  string
		spoil func(m *fakeMem, msg int)
		want  string
	}{
		{"no event", func(m *fakeMem, msg int) { m.putPtr(msg, offMessageEvent+offEventPointer, 0) }, "lw_session_lock: NULL pointer"},
		{"an empty user name", func(m *fakeMem, msg int) { m.putStr(user(m, msg), offLWSessionUsername, "") }, "username: empty"},
		{"a user name over 255 bytes", func(m *fakeMem, msg int) {
			m.putStr(user(m, msg), offLWSessionUsername, strings.Repeat("a", 256))
		}, "username: length 256 over 255"},
		{"a length past its block", func(m *fakeMem, msg int) {
			m.put64(user(m, msg), offLWSessionUsername+offStringTokenLength, 200)
		}, "username: bytes 0..200 outside"},
		{"a length of 2^63", func(m *fakeMem, msg int) {
			m.put64(user(m, msg), offLWSessionUsername+offStringTokenLength, 1<<63)
		}, "username: length 9223372036854775808 over 255"},
		{"a user name not UTF-8", func(m *fakeMem, msg int) { m.putStr(user(m, msg), offLWSessionUsername, "an\xffna") }, "is not UTF-8"},
		{"a name without data", func(m *fakeMem, msg int) { m.putPtr(user(m, msg), offLWSessionUsername+offStringTokenData, 0) }, "username: NULL pointer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newFakeMem()
			msg := m.message(sampleSession(NotifyLWSessionLock, "anna"))
			tt.spoil(m, msg)
			got, err := decode[int](m, msg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to say %q", err, tt.want)
			}
			if got.Session != nil {
				t.Errorf("a broken event decoded to %+v", got.Session)
			}
		})
	}
}

// authd is the message's process for the authorization events; the
// instigator and the petitioner are what they are about.
const authdPath = "/System/Library/Frameworks/Security.framework/Versions/A/XPCServices/authd.xpc/Contents/MacOS/authd"

func samplePetition() Message {
	asker := sampleProcess(812, "/System/Applications/System Settings.app/Contents/MacOS/System Settings")
	creator := sampleProcess(813, "/Applications/Tool.app/Contents/MacOS/Tool")
	return Message{Version: 7, Process: sampleProcess(190, authdPath), Action: ActionNotify, Event: NotifyAuthorizationPetition,
		Petition: &AuthPetition{Instigator: &asker, Petitioner: &creator, Flags: 0x13, // interaction allowed, extend rights, preauthorize
			Rights: []string{"system.preferences.security", "system.privilege.admin"}}}
}

func sampleJudgement() Message {
	asker := sampleProcess(812, "/System/Applications/System Settings.app/Contents/MacOS/System Settings")
	return Message{Version: 7, Process: sampleProcess(190, authdPath), Action: ActionNotify, Event: NotifyAuthorizationJudgement,
		Judgement: &AuthJudgement{Instigator: &asker, ReturnCode: -60005, Results: []AuthResult{
			{Right: "system.preferences.security", RuleClass: 1, Granted: true},
			{Right: "system.privilege.admin", RuleClass: 0, Granted: false},
		}}}
}

func TestDecodeAuthorizationPetitionsAndJudgements(t *testing.T) {
	full := samplePetition()
	noPetitioner := samplePetition()
	noPetitioner.Petition.Petitioner = nil
	noInstigator := samplePetition() // as the macOS 15 SDK allows
	noInstigator.Petition.Instigator = nil
	noRights := samplePetition()
	noRights.Petition.Rights = nil
	most := samplePetition()
	most.Petition.Rights = nil
	for i := range maxAuthRights {
		most.Petition.Rights = append(most.Petition.Rights, fmt.Sprintf("com.example.right.%d", i))
	}
	emptyRight := samplePetition()
	emptyRight.Petition.Rights = []string{"", "system.privilege.admin"}
	longest := samplePetition()
	longest.Petition.Rights = []string{"é" + strings.Repeat("x", maxRightName-2)}
	judged := sampleJudgement()
	judgedNoOne := sampleJudgement()
	judgedNoOne.Judgement.Instigator, judgedNoOne.Judgement.Petitioner = nil, nil
	judgedNothing := sampleJudgement()
	judgedNothing.Judgement.Results = nil
	for _, tt := range []struct {
		name string
		msg  Message
	}{
		{"a petition", full},
		{"a petition without a petitioner", noPetitioner},
		{"a petition without an instigator", noInstigator},
		{"a petition for no rights", noRights},
		{"a petition for 64 rights", most},
		{"an empty right is kept", emptyRight},
		{"a right of 1024 bytes", longest},
		{"a judgement", judged},
		{"a judgement naming neither process", judgedNoOne},
		{"a judgement of no rights", judgedNothing},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newFakeMem()
			got, err := decode[int](m, m.message(tt.msg))
			if err != nil {
				t.Fatal(err)
			}
			if got.Event != tt.msg.Event || got.Process.Executable.Path != authdPath {
				t.Errorf("event %d from %s", got.Event, got.Process.Executable.Path)
			}
			if diff := cmp.Diff(tt.msg.Petition, got.Petition); diff != "" {
				t.Errorf("petition (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.msg.Judgement, got.Judgement); diff != "" {
				t.Errorf("judgement (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDecodeRefusesBrokenAuthorizationEvents(t *testing.T) {
	event := func(m *fakeMem, msg int) int {
		r, _ := m.ptr(msg, offMessageEvent+offEventPointer)
		return r
	}
	array := func(m *fakeMem, msg, off int) int {
		r, _ := m.ptr(event(m, msg), off)
		return r
	}
	rights := func(m *fakeMem, msg int) int { return array(m, msg, offAuthPetitionRights) }
	results := func(m *fakeMem, msg int) int { return array(m, msg, offAuthJudgementResults) }
	for _, tt := range []struct {
		name  string
		msg   Message
		spoil func(m *fakeMem, msg int)
		want  string
	}{
		{"no petition", samplePetition(), func(m *fakeMem, msg int) { m.putPtr(msg, offMessageEvent+offEventPointer, 0) },
			"authorization_petition: NULL pointer"},
		{"65 rights", samplePetition(), func(m *fakeMem, msg int) { m.put64(event(m, msg), offAuthPetitionRightCount, 65) },
			"authorization_petition rights: count 65 over 64"},
		{"2^63 rights", samplePetition(), func(m *fakeMem, msg int) { m.put64(event(m, msg), offAuthPetitionRightCount, 1<<63) },
			"count 9223372036854775808 over 64"},
		{"a count past the array", samplePetition(), func(m *fakeMem, msg int) { m.put64(event(m, msg), offAuthPetitionRightCount, 3) },
			"authorization_petition right 2: bytes 32..40 outside"},
		{"rights without their array", samplePetition(), func(m *fakeMem, msg int) { m.putPtr(event(m, msg), offAuthPetitionRights, 0) },
			"authorization_petition rights: NULL pointer"},
		{"a right over 1024 bytes", samplePetition(), func(m *fakeMem, msg int) { m.putStr(rights(m, msg), 0, strings.Repeat("a", 1025)) },
			"authorization_petition right 0: length 1025 over 1024"},
		{"a right's length of 2^64-1", samplePetition(), func(m *fakeMem, msg int) { m.put64(rights(m, msg), sizeStringToken, 1<<64-1) },
			"authorization_petition right 1: length 18446744073709551615 over 1024"},
		{"a right past its data", samplePetition(), func(m *fakeMem, msg int) { m.put64(rights(m, msg), 0, 900) },
			"authorization_petition right 0: bytes 0..900 outside"},
		{"a right not UTF-8", samplePetition(), func(m *fakeMem, msg int) { m.putStr(rights(m, msg), sizeStringToken, "system.\xffadmin") },
			`authorization_petition right 1: "system.\xffadmin" is not UTF-8`},
		{"an instigator without its executable", samplePetition(), func(m *fakeMem, msg int) {
			p, _ := m.ptr(event(m, msg), offAuthPetitionInstigator)
			m.putPtr(p, offProcessExecutable, 0)
		}, "authorization_petition instigator executable: NULL pointer"},
		{"a petitioner past its block", samplePetition(), func(m *fakeMem, msg int) {
			m.putPtr(event(m, msg), offAuthPetitionPetitioner, rights(m, msg))
		}, "authorization_petition petitioner"},
		{"no judgement", sampleJudgement(), func(m *fakeMem, msg int) { m.putPtr(msg, offMessageEvent+offEventPointer, 0) },
			"authorization_judgement: NULL pointer"},
		{"2^40 results", sampleJudgement(), func(m *fakeMem, msg int) { m.put64(event(m, msg), offAuthJudgementResultCount, 1<<40) },
			"authorization_judgement results: count 1099511627776 over 64"},
		{"a result count past the array", sampleJudgement(), func(m *fakeMem, msg int) { m.put64(event(m, msg), offAuthJudgementResultCount, 3) },
			"authorization_judgement result 2 right_name: bytes 48..56 outside"},
		{"results without their array", sampleJudgement(), func(m *fakeMem, msg int) { m.putPtr(event(m, msg), offAuthJudgementResults, 0) },
			"authorization_judgement results: NULL pointer"},
		{"a result's right not UTF-8", sampleJudgement(), func(m *fakeMem, msg int) {
			m.putStr(results(m, msg), sizeAuthResult+offAuthResultRightName, "\xc3")
		}, `authorization_judgement result 1 right_name: "\xc3" is not UTF-8`},
		{"a result's right without data", sampleJudgement(), func(m *fakeMem, msg int) {
			m.putPtr(results(m, msg), offAuthResultRightName+offStringTokenData, 0)
		}, "authorization_judgement result 0 right_name: NULL pointer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := newFakeMem()
			msg := m.message(tt.msg)
			tt.spoil(m, msg)
			got, err := decode[int](m, msg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to say %q", err, tt.want)
			}
			if got.Petition != nil || got.Judgement != nil {
				t.Errorf("a broken event decoded to %+v, %+v", got.Petition, got.Judgement)
			}
		})
	}
}

// FuzzDecode: any bytes, any pointers, a clear error or a message, never a
// panic or a read outside what the memory gives.
func FuzzDecode(f *testing.F) {
	m := newFakeMem()
	m.message(sampleExec(7))
	m.message(Message{Version: 7, Process: sampleProcess(9, "/bin/mv"), Action: ActionAuth, Event: AuthRename,
		FileOp: &FileOp{Source: &File{Path: "/Applications/A.app"}, Dest: "/Users/a/.Trash/A.app"}})
	f.Add(fuzzSeed(m))
	// Each session event as the message fuzzing starts from (block 1).
	for _, event := range []EventType{NotifyLWSessionLogout, NotifyLWSessionLock} {
		m := newFakeMem()
		m.message(sampleSession(event, "anna"))
		f.Add(fuzzSeed(m))
	}
	// And each authorization event.
	for _, msg := range []Message{samplePetition(), sampleJudgement()} {
		m := newFakeMem()
		m.message(msg)
		f.Add(fuzzSeed(m))
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		// Blocks from the data: a 2-byte length, then that many bytes.
		m := newFakeMem()
		for len(data) >= 2 && len(m.blocks) < 64 {
			n := int(data[0]) | int(data[1])<<8
			data = data[2:]
			n = min(n, len(data))
			m.blocks = append(m.blocks, append([]byte(nil), data[:n]...))
			data = data[n:]
		}
		if len(m.blocks) < 2 {
			return
		}
		msg, err := decode[int](m, 1)
		if err == nil && msg.Version == 0 {
			t.Error("a message of version 0 decoded without error")
		}
	})
}

// fuzzSeed writes m's blocks as FuzzDecode reads them back.
func fuzzSeed(m *fakeMem) []byte {
	var seed []byte
	for _, b := range m.blocks[1:] {
		seed = append(seed, byte(len(b)), byte(len(b)>>8))
		seed = append(seed, b...)
	}
	return seed
}

func diffMessages(want, got Message) string {
	w, g := fmt.Sprintf("%+v", flatten(want)), fmt.Sprintf("%+v", flatten(got))
	if w != g {
		return "decoded:\n" + g + "\nwant:\n" + w
	}
	return ""
}

// flatten prints what pointers point to.
func flatten(m Message) []any {
	proc := func(p Process) []any {
		out := []any{p.Token, p.PPID, p.OriginalPPID, p.GroupID, p.SessionID, p.CodesigningFlags, p.PlatformBinary, p.ESClient,
			p.CDHash, p.SigningID, p.TeamID, p.Executable, p.StartTime.UnixNano()}
		if p.TTY != nil {
			out = append(out, "tty", *p.TTY)
		}
		if p.Responsible != nil {
			out = append(out, "tokens", *p.Responsible, *p.Parent)
		}
		return out
	}
	out := []any{m.Version, m.Time.UnixNano(), m.MachTime, m.Deadline, proc(m.Process), m.SeqNum, m.Action, m.Event, m.Thread, m.GlobalSeqNum, m.ExitStat}
	if x := m.Exec; x != nil {
		out = append(out, "exec", proc(x.Target), x.DyldExecPath, x.LastFD, x.ImageCPUType, x.ImageCPUSubtype)
		if x.Script != nil {
			out = append(out, "script", *x.Script)
		}
		if x.Cwd != nil {
			out = append(out, "cwd", *x.Cwd)
		}
	}
	if m.ForkChild != nil {
		out = append(out, "child", proc(*m.ForkChild))
	}
	return out
}
