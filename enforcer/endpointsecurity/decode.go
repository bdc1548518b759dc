package endpointsecurity

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// memory is where a message lives. R is a reference to a block of it: on
// macOS an unsafe.Pointer into the message the kernel handed over, in
// tests an index into byte buffers. The zero R is the null pointer.
type memory[R comparable] interface {
	// bytes returns n bytes at r+off, or an error when they cannot be read.
	bytes(r R, off, n int) ([]byte, error)
	// ptr returns the pointer stored at r+off (the zero R for NULL).
	ptr(r R, off int) (R, error)
}

// Both platforms are little-endian (arm64 and x86_64).
var le = binary.LittleEndian

// AuditToken is audit_token_t, as libbsm's audit_token_to_* read it.
type AuditToken struct {
	AUID, EUID, EGID, RUID, RGID uint32
	PID                          int32
	ASID                         uint32
	PIDVersion                   uint32
}

// ParseAuditToken reads an audit_token_t (as LOCAL_PEERTOKEN returns it).
func ParseAuditToken(b []byte) (AuditToken, error) {
	if len(b) != sizeAuditToken {
		return AuditToken{}, fmt.Errorf("audit token of %d bytes, want %d", len(b), sizeAuditToken)
	}
	v := func(i int) uint32 { return le.Uint32(b[4*i:]) }
	return AuditToken{AUID: v(0), EUID: v(1), EGID: v(2), RUID: v(3), RGID: v(4), PID: int32(v(5)), ASID: v(6), PIDVersion: v(7)}, nil
}

// Stat is what of struct stat the engine uses.
type Stat struct {
	Dev              int32
	Mode             uint16
	Ino              uint64
	UID, GID         uint32
	MtimeNs, CtimeNs int64
	Size             int64
}

// File is es_file_t.
type File struct {
	Path          string
	PathTruncated bool
	Stat          Stat
}

// Process is es_process_t.
type Process struct {
	Token                    AuditToken
	PPID, OriginalPPID       int32
	GroupID, SessionID       int32
	CodesigningFlags         uint32
	PlatformBinary, ESClient bool
	CDHash                   [cdhashLen]byte
	SigningID, TeamID        string
	Executable               File
	TTY                      *File     // nil: none, or the message is older than version 2
	StartTime                time.Time // zero before version 3
	Responsible, Parent      *AuditToken
}

// Exec is es_event_exec_t.
type Exec struct {
	Target       Process
	DyldExecPath string // version >= 7
	Script       *File  // the script file when a script is executed (version >= 2)
	Cwd          *File  // version >= 3
	LastFD       int32  // version >= 4; -1 before
	// ImageCPUType and ImageCPUSubtype are the executed image's (version >= 6).
	ImageCPUType, ImageCPUSubtype int32
}

// Message is es_message_t, the events the daemon handles decoded.
type Message struct {
	Version      uint32
	Time         time.Time
	MachTime     uint64
	Deadline     uint64 // mach_absolute_time units; 0 for NOTIFY
	Process      Process
	SeqNum       uint64 // version >= 2
	Action       ActionType
	Event        EventType
	Thread       uint64 // version >= 4, 0 when unknown
	GlobalSeqNum uint64 // version >= 4

	Exec      *Exec          // AUTH_EXEC, NOTIFY_EXEC
	ForkChild *Process       // NOTIFY_FORK
	ExitStat  int32          // NOTIFY_EXIT: the wait(2) status
	Signal    *Signal        // AUTH_SIGNAL
	FileOp    *FileOp        // AUTH_RENAME, CREATE, CLONE, LINK, UNLINK, EXCHANGEDATA, TRUNCATE
	Session   *LWSession     // NOTIFY_LW_SESSION_LOGOUT, NOTIFY_LW_SESSION_LOCK
	Petition  *AuthPetition  // NOTIFY_AUTHORIZATION_PETITION
	Judgement *AuthJudgement // NOTIFY_AUTHORIZATION_JUDGEMENT
}

// AuthPetition is es_event_authorization_petition_t: a process asked
// authd for authorization rights. It is a report after the fact, not a
// request to answer.
type AuthPetition struct {
	// Instigator submitted the petition (authd's XPC caller); Petitioner
	// created it. Either may be nil: the petitioner is nullable in every
	// SDK, the instigator from the macOS 15 SDK on, and a decoder that
	// refused a NULL would lose those systems' records.
	Instigator, Petitioner *Process
	Flags                  uint32   // AuthorizationFlags (Security's Authorization.h)
	Rights                 []string // the rights asked for, in the petition's order
}

// AuthJudgement is es_event_authorization_judgement_t: authd's answer to
// a petition, right by right.
type AuthJudgement struct {
	Instigator, Petitioner *Process // as in AuthPetition
	// ReturnCode is the petition's overall result, an OSStatus: 0 is
	// success, others are Authorization.h's errAuthorization* codes
	// (-60005 denied, -60006 canceled by the user).
	ReturnCode int32
	Results    []AuthResult
}

// AuthResult is es_authorization_result_t: one right of a judgement.
type AuthResult struct {
	Right string
	// RuleClass is es_authorization_rule_class_t, how authd judged the
	// right: 0 user, 1 rule, 2 mechanism, 3 allow, 4 deny, 5 unknown,
	// 6 invalid.
	RuleClass uint32
	Granted   bool
}

// LWSession is LoginWindow's logout or screen lock of a graphical
// session (es_event_lw_session_logout_t, es_event_lw_session_lock_t);
// which of the two is in Message.Event.
type LWSession struct {
	User               string // the short user name
	GraphicalSessionID uint32
}

// FileOp is a file event: what it acts on and the path it makes or
// replaces, with the event's own names kept in Message.Event.
type FileOp struct {
	// Source is the existing file acted on: the renamed, cloned, linked,
	// unlinked or truncated file, or exchangedata's first file; nil for
	// create, which has none.
	Source *File
	// Dest is the path the event makes or replaces: rename's destination,
	// create's file, clone's and link's target, exchangedata's second
	// file; "" for unlink and truncate. DestExists says it names a file
	// that exists (a rename over it, exchangedata; create of an existing
	// file). A destination directory's path truncated by the kernel
	// makes DestTruncated.
	Dest                      string
	DestExists, DestTruncated bool
}

// Signal is es_event_signal_t: sig sent by the message's process to
// Target.
type Signal struct {
	Sig    int32
	Target Process
}

// errNull is a NULL where the headers say there is always a pointer.
var errNull = errors.New("NULL pointer")

// decoder reads one message. Its first error stops it.
type decoder[R comparable] struct {
	m       memory[R]
	version uint32
	err     error
}

func (d *decoder[R]) fail(what string, err error) {
	if d.err == nil {
		d.err = fmt.Errorf("%s: %w", what, err)
	}
}

func (d *decoder[R]) raw(r R, off, n int, what string) []byte {
	if d.err != nil {
		return nil
	}
	b, err := d.m.bytes(r, off, n)
	if err == nil && len(b) != n {
		err = fmt.Errorf("read %d bytes, want %d", len(b), n)
	}
	if err != nil {
		d.fail(what, err)
		return nil
	}
	return b
}

func (d *decoder[R]) u32(r R, off int, what string) uint32 {
	if b := d.raw(r, off, 4, what); b != nil {
		return le.Uint32(b)
	}
	return 0
}

func (d *decoder[R]) u64(r R, off int, what string) uint64 {
	if b := d.raw(r, off, 8, what); b != nil {
		return le.Uint64(b)
	}
	return 0
}

func (d *decoder[R]) ptr(r R, off int, what string) R {
	var zero R
	if d.err != nil {
		return zero
	}
	p, err := d.m.ptr(r, off)
	if err != nil {
		d.fail(what, err)
	}
	return p
}

// str reads an es_string_token_t at r+off: a length and a pointer to that
// many bytes (not necessarily NUL-terminated).
func (d *decoder[R]) str(r R, off int, what string) string {
	return d.strMax(r, off, maxStringToken, what)
}

// strMax is str refusing a string longer than limit bytes, before it
// reads them.
func (d *decoder[R]) strMax(r R, off int, limit uint64, what string) string {
	n := d.u64(r, off+offStringTokenLength, what)
	data := d.ptr(r, off+offStringTokenData, what)
	var zero R
	switch {
	case d.err != nil || n == 0:
		return ""
	case n > limit:
		d.fail(what, fmt.Errorf("length %d over %d", n, limit))
		return ""
	case data == zero:
		d.fail(what, errNull)
		return ""
	}
	return string(d.raw(data, 0, int(n), what))
}

func (d *decoder[R]) token(r R, off int, what string) AuditToken {
	b := d.raw(r, off, sizeAuditToken, what)
	if b == nil {
		return AuditToken{}
	}
	t, _ := ParseAuditToken(b)
	return t
}

func (d *decoder[R]) timespec(r R, off int, what string) int64 {
	b := d.raw(r, off, sizeTimespec, what)
	if b == nil {
		return 0
	}
	return int64(le.Uint64(b))*1e9 + int64(le.Uint64(b[8:]))
}

// file reads the es_file_t that r points to.
func (d *decoder[R]) file(r R, what string) File {
	var f File
	f.Path = d.str(r, offFilePath, what+" path")
	if b := d.raw(r, offFilePathTruncated, 1, what); b != nil {
		f.PathTruncated = b[0] != 0
	}
	st := offFileStat
	f.Stat = Stat{
		Dev:     int32(d.u32(r, st+offStatDev, what)),
		Ino:     d.u64(r, st+offStatIno, what),
		UID:     d.u32(r, st+offStatUID, what),
		GID:     d.u32(r, st+offStatGID, what),
		MtimeNs: d.timespec(r, st+offStatMtime, what),
		CtimeNs: d.timespec(r, st+offStatCtime, what),
		Size:    int64(d.u64(r, st+offStatSize, what)),
	}
	if b := d.raw(r, st+offStatMode, 2, what); b != nil {
		f.Stat.Mode = le.Uint16(b)
	}
	return f
}

// optFile reads an es_file_t pointer that may be NULL.
func (d *decoder[R]) optFile(r R, off int, what string) *File {
	var zero R
	p := d.ptr(r, off, what)
	if d.err != nil || p == zero {
		return nil
	}
	f := d.file(p, what)
	return &f
}

// needFile reads an es_file_t pointer that the headers say is never NULL.
func (d *decoder[R]) needFile(r R, off int, what string) *File {
	var zero R
	p := d.ptr(r, off, what)
	if d.err != nil {
		return nil
	}
	if p == zero {
		d.fail(what, errNull)
		return nil
	}
	f := d.file(p, what)
	return &f
}

// destination reads an es_destination_type_t at typeOff and the union at
// off: an existing file, or a directory and a file name.
func (d *decoder[R]) destination(r R, typeOff, off int, op *FileOp, what string) {
	switch t := d.u32(r, typeOff, what+" type"); {
	case d.err != nil:
	case t == destinationExisting:
		if f := d.needFile(r, off, what); f != nil {
			op.Dest, op.DestExists, op.DestTruncated = f.Path, true, f.PathTruncated
		}
	case t == destinationNewPath:
		d.newPath(r, off, off+offNewPathFilename, op, what)
	default:
		d.fail(what, fmt.Errorf("destination type %d is neither an existing file nor a new path", t))
	}
}

// newPath reads a directory (es_file_t *) at dirOff and a file name
// (es_string_token_t) at nameOff into op.Dest.
func (d *decoder[R]) newPath(r R, dirOff, nameOff int, op *FileOp, what string) {
	dir := d.needFile(r, dirOff, what+" dir")
	name := d.str(r, nameOff, what+" name")
	if d.err != nil {
		return
	}
	if name == "" || strings.Contains(name, "/") || name == "." || name == ".." {
		d.fail(what+" name", fmt.Errorf("%q is not a file name", name))
		return
	}
	op.Dest, op.DestTruncated = strings.TrimSuffix(dir.Path, "/")+"/"+name, dir.PathTruncated
}

// lwSession reads the LoginWindow session event that the event union
// points to at off. The user name is what the engine ends a session by,
// so one that is empty, over maxUsername bytes or not UTF-8 is an error,
// not a name to look up.
func (d *decoder[R]) lwSession(msg R, off int, what string) *LWSession {
	var zero R
	r := d.ptr(msg, off, what)
	if d.err == nil && r == zero {
		d.fail(what, errNull)
	}
	user := d.strMax(r, offLWSessionUsername, maxUsername, what+" username")
	id := d.u32(r, offLWSessionGraphicalID, what+" graphical_session_id")
	switch {
	case d.err != nil:
		return nil
	case user == "":
		d.fail(what+" username", errors.New("empty"))
		return nil
	case !utf8.ValidString(user):
		d.fail(what+" username", fmt.Errorf("%q is not UTF-8", user))
		return nil
	}
	return &LWSession{User: user, GraphicalSessionID: id}
}

// eventPointer reads the pointer at off in the event union to an event
// of macOS 13 or later, which is never NULL.
func (d *decoder[R]) eventPointer(msg R, off int, what string) R {
	var zero R
	r := d.ptr(msg, off, what)
	if d.err == nil && r == zero {
		d.fail(what, errNull)
	}
	return r
}

// optProcess reads an es_process_t pointer that may be NULL.
func (d *decoder[R]) optProcess(r R, off int, what string) *Process {
	var zero R
	p := d.ptr(r, off, what)
	if d.err != nil || p == zero {
		return nil
	}
	proc := d.process(p, what)
	if d.err != nil {
		return nil
	}
	return &proc
}

// authArray reads the size_t count at countOff and the pointer to its
// array at arrOff. The count is checked before any element is read: over
// maxAuthRights is an error, and so is a NULL array of one or more.
func (d *decoder[R]) authArray(r R, countOff, arrOff int, what string) (R, int) {
	var zero R
	n := d.u64(r, countOff, what+" count")
	a := d.ptr(r, arrOff, what)
	switch {
	case d.err != nil:
		return zero, 0
	case n > maxAuthRights:
		d.fail(what, fmt.Errorf("count %d over %d", n, maxAuthRights))
		return zero, 0
	case n > 0 && a == zero:
		d.fail(what, errNull)
		return zero, 0
	}
	return a, int(n)
}

// rightName reads a right's name, an es_string_token_t at r+off: at most
// maxRightName bytes, and UTF-8 (what the audit stores is text). An empty
// name is kept as the system reported it.
func (d *decoder[R]) rightName(r R, off int, what string) string {
	s := d.strMax(r, off, maxRightName, what)
	if d.err == nil && !utf8.ValidString(s) {
		d.fail(what, fmt.Errorf("%.64q is not UTF-8", s))
		return ""
	}
	return s
}

// authPetition reads the petition that the event union points to at off.
func (d *decoder[R]) authPetition(msg R, off int) *AuthPetition {
	const what = "authorization_petition"
	r := d.eventPointer(msg, off, what)
	p := &AuthPetition{
		Instigator: d.optProcess(r, offAuthPetitionInstigator, what+" instigator"),
		Petitioner: d.optProcess(r, offAuthPetitionPetitioner, what+" petitioner"),
		Flags:      d.u32(r, offAuthPetitionFlags, what+" flags"),
	}
	rights, n := d.authArray(r, offAuthPetitionRightCount, offAuthPetitionRights, what+" rights")
	for i := 0; i < n && d.err == nil; i++ {
		p.Rights = append(p.Rights, d.rightName(rights, i*sizeStringToken, fmt.Sprintf("%s right %d", what, i)))
	}
	if d.err != nil {
		return nil
	}
	return p
}

// authJudgement reads the judgement that the event union points to at
// off.
func (d *decoder[R]) authJudgement(msg R, off int) *AuthJudgement {
	const what = "authorization_judgement"
	r := d.eventPointer(msg, off, what)
	j := &AuthJudgement{
		Instigator: d.optProcess(r, offAuthJudgementInstigator, what+" instigator"),
		Petitioner: d.optProcess(r, offAuthJudgementPetitioner, what+" petitioner"),
		ReturnCode: int32(d.u32(r, offAuthJudgementReturnCode, what+" return_code")),
	}
	results, n := d.authArray(r, offAuthJudgementResultCount, offAuthJudgementResults, what+" results")
	for i := 0; i < n && d.err == nil; i++ {
		at := i * sizeAuthResult
		w := fmt.Sprintf("%s result %d", what, i)
		res := AuthResult{
			Right:     d.rightName(results, at+offAuthResultRightName, w+" right_name"),
			RuleClass: d.u32(results, at+offAuthResultRuleClass, w+" rule_class"),
		}
		if b := d.raw(results, at+offAuthResultGranted, 1, w+" granted"); b != nil {
			res.Granted = b[0] != 0
		}
		j.Results = append(j.Results, res)
	}
	if d.err != nil {
		return nil
	}
	return j
}

// process reads the es_process_t that r points to.
func (d *decoder[R]) process(r R, what string) Process {
	var zero R
	if d.err == nil && r == zero {
		d.fail(what, errNull)
	}
	p := Process{
		Token:            d.token(r, offProcessAuditToken, what+" audit token"),
		PPID:             int32(d.u32(r, offProcessPPID, what)),
		OriginalPPID:     int32(d.u32(r, offProcessOriginalPPID, what)),
		GroupID:          int32(d.u32(r, offProcessGroupID, what)),
		SessionID:        int32(d.u32(r, offProcessSessionID, what)),
		CodesigningFlags: d.u32(r, offProcessCodesigningFlags, what),
	}
	if b := d.raw(r, offProcessIsPlatformBinary, 2+cdhashLen, what); b != nil {
		p.PlatformBinary, p.ESClient = b[0] != 0, b[1] != 0
		copy(p.CDHash[:], b[2:])
	}
	p.SigningID = d.str(r, offProcessSigningID, what+" signing id")
	p.TeamID = d.str(r, offProcessTeamID, what+" team id")
	exe := d.ptr(r, offProcessExecutable, what+" executable")
	if d.err == nil && exe == zero {
		d.fail(what+" executable", errNull)
	}
	p.Executable = d.file(exe, what+" executable")
	if d.version >= versionTTY {
		p.TTY = d.optFile(r, offProcessTTY, what+" tty")
	}
	if d.version >= versionStartTime {
		if b := d.raw(r, offProcessStartTime, 16, what+" start time"); b != nil {
			p.StartTime = time.Unix(int64(le.Uint64(b)), int64(int32(le.Uint32(b[8:])))*1e3)
		}
	}
	if d.version >= versionTokens {
		rt := d.token(r, offProcessResponsibleToken, what+" responsible token")
		pt := d.token(r, offProcessParentToken, what+" parent token")
		p.Responsible, p.Parent = &rt, &pt
	}
	return p
}

// decode reads the message m points to.
func decode[R comparable](m memory[R], msg R) (Message, error) {
	var zero R
	if msg == zero {
		return Message{}, errNull
	}
	d := &decoder[R]{m: m}
	var out Message
	out.Version = d.u32(msg, offMessageVersion, "version")
	if d.err == nil && out.Version == 0 {
		return Message{}, errors.New("message version 0")
	}
	d.version = out.Version
	ns := d.timespec(msg, offMessageTime, "time")
	out.Time = time.Unix(0, ns)
	out.MachTime = d.u64(msg, offMessageMachTime, "mach_time")
	out.Deadline = d.u64(msg, offMessageDeadline, "deadline")
	out.Action = ActionType(d.u32(msg, offMessageActionType, "action type"))
	out.Event = EventType(d.u32(msg, offMessageEventType, "event type"))
	if d.version >= versionSeqNum {
		out.SeqNum = d.u64(msg, offMessageSeqNum, "seq_num")
	}
	if d.version >= versionThread {
		if th := d.ptr(msg, offMessageThread, "thread"); d.err == nil && th != zero {
			out.Thread = d.u64(th, 0, "thread id")
		}
		out.GlobalSeqNum = d.u64(msg, offMessageGlobalSeqNum, "global_seq_num")
	}
	out.Process = d.process(d.ptr(msg, offMessageProcess, "process"), "process")
	ev := offMessageEvent
	switch out.Event {
	case AuthExec, NotifyExec:
		x := &Exec{LastFD: -1}
		x.Target = d.process(d.ptr(msg, ev+offExecTarget, "exec target"), "exec target")
		if d.version >= versionExecDyldPath {
			x.DyldExecPath = d.str(msg, ev+offExecDyldExecPath, "exec dyld_exec_path")
		}
		if d.version >= versionExecScript {
			x.Script = d.optFile(msg, ev+offExecScript, "exec script")
		}
		if d.version >= versionExecCwd {
			x.Cwd = d.optFile(msg, ev+offExecCwd, "exec cwd")
		}
		if d.version >= versionExecLastFD {
			x.LastFD = int32(d.u32(msg, ev+offExecLastFD, "exec last_fd"))
		}
		if d.version >= versionExecImageCPU {
			x.ImageCPUType = int32(d.u32(msg, ev+offExecImageCPUType, "exec image_cputype"))
			x.ImageCPUSubtype = int32(d.u32(msg, ev+offExecImageCPUSubtype, "exec image_cpusubtype"))
		}
		out.Exec = x
	case NotifyFork:
		c := d.process(d.ptr(msg, ev+offForkChild, "fork child"), "fork child")
		out.ForkChild = &c
	case NotifyExit:
		out.ExitStat = int32(d.u32(msg, ev+offExitStat, "exit stat"))
	case AuthRename:
		op := &FileOp{Source: d.needFile(msg, ev+offRenameSource, "rename source")}
		d.destination(msg, ev+offRenameDestType, ev+offRenameDest, op, "rename destination")
		out.FileOp = op
	case AuthCreate:
		op := &FileOp{}
		d.destination(msg, ev+offCreateDestType, ev+offCreateDest, op, "create destination")
		out.FileOp = op
	case AuthClone:
		op := &FileOp{Source: d.needFile(msg, ev+offCloneSource, "clone source")}
		d.newPath(msg, ev+offCloneTargetDir, ev+offCloneTargetName, op, "clone target")
		out.FileOp = op
	case AuthLink:
		op := &FileOp{Source: d.needFile(msg, ev+offLinkSource, "link source")}
		d.newPath(msg, ev+offLinkTargetDir, ev+offLinkTargetFilename, op, "link target")
		out.FileOp = op
	case AuthUnlink:
		out.FileOp = &FileOp{Source: d.needFile(msg, ev+offUnlinkTarget, "unlink target")}
	case AuthTruncate:
		out.FileOp = &FileOp{Source: d.needFile(msg, ev+offTruncateTarget, "truncate target")}
	case AuthExchangedata:
		op := &FileOp{Source: d.needFile(msg, ev+offExchangedataFile1, "exchangedata file1")}
		if f2 := d.needFile(msg, ev+offExchangedataFile2, "exchangedata file2"); f2 != nil {
			op.Dest, op.DestExists, op.DestTruncated = f2.Path, true, f2.PathTruncated
		}
		out.FileOp = op
	case AuthSignal:
		sg := &Signal{Sig: int32(d.u32(msg, ev+offSignalSig, "signal"))}
		sg.Target = d.process(d.ptr(msg, ev+offSignalTarget, "signal target"), "signal target")
		out.Signal = sg
	case NotifyLWSessionLogout:
		out.Session = d.lwSession(msg, ev+offEventPointer, "lw_session_logout")
	case NotifyLWSessionLock:
		out.Session = d.lwSession(msg, ev+offEventPointer, "lw_session_lock")
	case NotifyAuthorizationPetition:
		out.Petition = d.authPetition(msg, ev+offEventPointer)
	case NotifyAuthorizationJudgement:
		out.Judgement = d.authJudgement(msg, ev+offEventPointer)
	}
	if d.err != nil {
		return Message{}, fmt.Errorf("endpoint security message (version %d, event %d): %w", out.Version, out.Event, d.err)
	}
	return out, nil
}
