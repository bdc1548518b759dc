package enforcer

import (
	"context"
	"os"
	"time"
)

// Exec is one program start held by the kernel until Respond is called.
//
// A source hands over what its kernel reports with the event and the
// engine gathers only what is missing. fanotify gives a descriptor and a
// thread id (the rest is read from /proc through Tasks); Endpoint Security
// gives path, stat, the process's identity, arguments, cwd and signing
// facts in the message, and no descriptor.
//
// The seam also carries what Endpoint Security has and fanotify lacks: a
// deadline by which the kernel must have its answer (zero for none; ES
// kills a client that misses it), and whether the answer may be cached by
// the kernel.
type Exec interface {
	// PID is the task (thread) doing the exec.
	PID() int32
	// Facts is what the kernel reported with the event. It is called once,
	// before any other method but PID.
	Facts() ExecFacts
	// Deadline is when the kernel needs the answer; zero means no deadline.
	Deadline() time.Time
	// Respond answers the kernel. It must be called exactly once; it may be
	// called from any goroutine. cache says the answer may be cached by the
	// kernel (ignored by sources without a kernel cache).
	Respond(allow, cache bool) error
}

// ExecFacts is what a source knows of an exec from the event itself. A
// zero field is unknown and the engine gathers it (from File, or through
// Tasks by pid).
type ExecFacts struct {
	// File is the kernel's descriptor of the file being executed, valid
	// until Respond returns; nil when the source has none. Facts are read
	// from it, never from a file re-opened by path.
	File *os.File
	// Path is the executable's path as the kernel resolved it; "" means
	// read it from File.
	Path string
	// Stat is the file's identity as the kernel saw it at the exec; nil
	// means fstat File. A source without File must set Path and Stat: the
	// engine then opens Path only if it must hash the file, and refuses a
	// file whose device and inode differ from Stat (it was replaced).
	Stat *FileStat
	// Task is the process doing the exec; nil means Tasks.Task(PID).
	Task *Task
	// Args is argv (argv[0] included) when HaveArgs; otherwise it is read
	// through Tasks.ExecArgs when a rule needs it.
	Args     []string
	HaveArgs bool
	// Cwd is the working directory; "" means Tasks.Cwd when needed.
	Cwd string
	// TeamID and SigningID are the code-signing identity the kernel
	// verified (Endpoint Security); "" when the source has none. They
	// take the place of what facts would read from the file.
	TeamID, SigningID string
	// CDHash is the cdhash the kernel validated for the executable (hex;
	// "" for none: scripts, unsigned code, Linux). A grant made for the
	// exec binds to it.
	CDHash string
	// OriginalPath is where a program macOS runs from an App Translocation
	// mount really is (facts.OriginalPath), for the record; the policy
	// decides on Path, which is what runs.
	OriginalPath string
}

// FileStat is a file's identity and version: device and inode, validated by
// size, mtime and ctime (nanoseconds since the epoch).
type FileStat struct {
	Dev, Ino         uint64
	Size             int64
	MtimeNs, CtimeNs int64
}

// Handler is what a source calls.
type Handler struct {
	// Exec is called for every held exec. It arranges for exactly one
	// Respond per Exec and returns without waiting for it.
	Exec func(Exec)
	// FileOp is called for every held file operation, under the same
	// contract.
	FileOp func(FileOp)
	// FileWritten is called for a file closed after writing (dev 0 and
	// ino 0: such events were lost), so cached facts of it are dropped.
	FileWritten func(dev, ino uint64)
	// Undecided is called for an exec the source saw run without a
	// decision (the Linux exec backstop), after the fact: it is recorded,
	// and says whether the task was killed.
	Undecided func(UndecidedExec)
	// Tamper is called for an attempt on the daemon itself the source
	// answered (macOS: a signal to it from anyone but launchd): it is
	// recorded, refused or not.
	Tamper func(TamperAttempt)
	// SessionEnded is called when a user's login session ends or its
	// screen locks (macOS: Endpoint Security's LW_SESSION events); the
	// user's admin session ends with it (docs/elevation.md).
	SessionEnded func(SessionEnd)
	// AuthorizationSeen is called for an authorization request the
	// system reports after the fact (macOS 14: Endpoint Security's
	// AUTHORIZATION_PETITION and _JUDGEMENT events): it is recorded, for
	// the audit and for explain. It decides nothing — Authorize does, when
	// the authorization plugin asks — and must not block.
	AuthorizationSeen func(AuthorizationSeen)
}

// AuthorizationSeen is an authorization request as the system reported
// it: the rights a program asked for (a petition), or the system's
// answer, right by right (a judgement).
type AuthorizationSeen struct {
	// PID, UID (real) and Program are the process that asked: the one
	// that submitted the request to the system (Endpoint Security's
	// instigator, or its petitioner when the instigator is not reported).
	PID     int32
	UID     uint32
	Program string
	// Petitioner is the program that created the request, when the
	// system names it; a helper may ask with a request another program
	// created. "" when not reported.
	Petitioner string
	// Rights are the rights asked for, or judged, in the system's order.
	Rights []string
	// Judged says this is the system's answer; a petition has Judged
	// false and Granted nil.
	Judged bool
	// Granted are the rights of Rights the system granted.
	Granted []string
	// ReturnCode is a judgement's overall result, an OSStatus of
	// Authorization.h: 0 success, -60005 denied, -60006 canceled by the
	// user.
	ReturnCode int32
}

// SessionEnd is a user leaving a login session: a logout or a screen lock.
type SessionEnd struct {
	// User names the user (Endpoint Security reports the name); UID is
	// used when User is "".
	User string
	UID  uint32
	// Why is "logout" or "screen lock".
	Why string
}

// TamperAttempt is an attempt on the daemon: who, what, and whether the
// source refused it.
type TamperAttempt struct {
	PID     int32
	UID     uint32
	Program string // the executable of the process that tried
	What    string // e.g. "signal 9 (SIGKILL)"
	Refused bool
}

// UndecidedExec is a program start that no held exec decided: a file on a
// filesystem the source could not hold, or an anonymous file.
type UndecidedExec struct {
	PID  int32
	UID  uint32
	Comm string
	// Filename is the path the task gave execve (relative, or /dev/fd/N
	// for fexecve), not a path the daemon resolved.
	Filename string
	// Dev ("major:minor") and Ino name the file; FS names its filesystem.
	Dev    string
	Ino    uint64
	FS     string
	Killed bool
}

// Gap is a way a program could start on this machine without a decision,
// as the source finds the kernel and its own configuration, and what
// closes it. Status lists them; a closed one says what closed it.
type Gap struct {
	Name   string // stable: exec_backstop, memfd_exec, user_namespaces, file_leases, mapped_code, interpreters
	Open   bool
	Detail string // what is open, or what closes it here
	Fix    string // the setting that closes it ("" when closed)
}

// GapReporter is a Source that can say what it does not hold.
type GapReporter interface {
	Gaps() []Gap
}

// Source delivers held executions.
type Source interface {
	// Run calls h.Exec for every exec until ctx is done or Close is
	// called. When Run returns, executions not yet answered are allowed.
	Run(ctx context.Context, h Handler) error
	// Close stops Run.
	Close() error
	// Describe names the source and what it watches, for status.
	Describe() (name string, marks []string)
}

// CacheFlusher is a Source whose kernel can remember answers (Respond with
// cache); FlushCache forgets them all, after a policy change.
type CacheFlusher interface {
	FlushCache() error
}
