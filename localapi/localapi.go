// Package localapi is the contract between the enforcer (gatehoused, root)
// and its local clients: the gatehouse CLI and the per-user agent. It holds
// the wire types, the socket path and a client, and depends on nothing but
// the standard library, so clients never import enforcer internals.
//
// The protocol is HTTP/1.1 over a Unix socket, versioned by the /v1/ path
// prefix. The daemon takes the caller's identity from the socket's peer
// credentials (SO_PEERCRED), never from a request: root may do everything,
// any other user sees and answers only their own requests.
package localapi

import (
	"time"

	"github.com/gatehouse/gatehouse/request"
)

// Version is the API version this package speaks; it is the path prefix.
const Version = "v1"

// MaxRequestBody bounds every request body the daemon reads, but a
// console policy's, which MaxPolicyBody bounds (a policy of 10,000 rules is
// megabytes, and JSON carries it in base64).
const (
	MaxRequestBody = 64 << 10
	MaxPolicyBody  = 24 << 20
)

// Status is GET /v1/status.
type Status struct {
	Version        string            `json:"version"`
	Started        time.Time         `json:"started"`
	PolicyID       string            `json:"policy_id"`
	PolicyRevision int64             `json:"policy_revision"`
	PolicyPath     string            `json:"policy_path"`
	PolicyLoaded   time.Time         `json:"policy_loaded"`
	PolicyError    string            `json:"policy_error,omitempty"`
	Source         string            `json:"source"`
	FailClosed     bool              `json:"fail_closed"`
	Marks          []string          `json:"marks"`
	Counters       map[string]uint64 `json:"counters"`
	// Audit says whether the audit log is being written; nil from a
	// gatehoused older than this field.
	Audit *AuditHealth `json:"audit,omitempty"`
	// Gaps are the ways a program could start on this machine without a
	// decision, open or closed, with the setting that closes each; absent
	// from a gatehoused older than this field.
	Gaps []Gap    `json:"gaps,omitempty"`
	You  Identity `json:"you"`
	// DaemonVersion is gatehoused's build (internal/version); "" from
	// one older than this field.
	DaemonVersion string `json:"daemon_version,omitempty"`
	// Agents are the users' agents that called since gatehoused started,
	// with the version each said it is (its User-Agent): for root and the
	// console sync only.
	Agents []AgentSeen `json:"agents,omitempty"`
	// Admin is the caller's admin session and what the policy lets them
	// ask for; users only (absent for root, and from a gatehoused older
	// than this field).
	Admin *AdminStatus `json:"admin,omitempty"`
}

// AdminStatus is a user's admin session as status reports it.
type AdminStatus struct {
	// GrantID and Until name the running session (0: none runs).
	GrantID int64     `json:"grant_id,omitempty"`
	Until   time.Time `json:"until,omitzero"`
	// Ended is the last session that ended in the past 15 minutes.
	Ended *EndedAdmin `json:"ended,omitempty"`
	// Offer is the admin_sessions entry that includes the user; nil:
	// none does (the agent offers no "Request admin rights…").
	Offer *AdminOffer `json:"offer,omitempty"`
}

// EndedAdmin is an admin session that ended: when, why ("ended at its
// time", "ended at screen lock", ...), and what the user started as root
// that still runs (it keeps root until it exits).
type EndedAdmin struct {
	GrantID   int64         `json:"grant_id"`
	At        time.Time     `json:"at"`
	Why       string        `json:"why"`
	StillRoot []RootProcess `json:"still_root,omitempty"`
}

// RootProcess is a process running as root that the user started.
type RootProcess struct {
	PID int32  `json:"pid"`
	Exe string `json:"exe"`
	TTY string `json:"tty,omitempty"`
}

// AdminOffer is what a user may ask for: the entry's name, its
// requirement ("" for none, justification, approval, approval_offline),
// the shortest reason, and the longest and default lengths (Go durations).
type AdminOffer struct {
	Entry            string `json:"entry"`
	Require          string `json:"require,omitempty"`
	MinJustification int    `json:"min_justification,omitempty"`
	Max              string `json:"max"`
	Default          string `json:"default"`
}

// AgentSeen is one user's agent as gatehoused last heard from it.
type AgentSeen struct {
	UID      uint32    `json:"uid"`
	User     string    `json:"user"`
	Version  string    `json:"version"`
	LastSeen time.Time `json:"last_seen"`
}

// AgentProgram is the User-Agent product of the menu-bar agent; a client
// whose Program is AgentProgram/VERSION is counted among Status.Agents.
const AgentProgram = "gatehouse-agent"

// Gap is one way around the enforcer on this machine (docs/enforcer.md,
// "Ways around the marks"). Name is stable: exec_backstop, memfd_exec,
// user_namespaces, file_leases, mapped_code, interpreters; others may be
// added.
type Gap struct {
	Name   string `json:"name"`
	Open   bool   `json:"open"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// AuditHealth says whether the daemon's audit log is being written. While
// it is not, the daemon goes on enforcing; the events it cannot write are
// counted (counters audit_unwritten and audit_dropped) and recorded once
// writes work again. `gatehouse status` exits 3 while OK is false.
type AuditHealth struct {
	OK bool `json:"ok"`
	// Error is the last write error while writes fail (what was wrong and
	// what to do), FailingSince when they began to fail.
	Error        string    `json:"error,omitempty"`
	FailingSince time.Time `json:"failing_since,omitzero"`
}

// Identity is who the daemon believes the caller is (from the kernel).
type Identity struct {
	// UID is the user the caller acts for (for sudo: the user who ran it).
	UID  uint32 `json:"uid"`
	PID  int32  `json:"pid"`
	User string `json:"user"`
	Root bool   `json:"root"`
	// Kind is the kind of caller: user, root, console sync, sudo or agent
	// (docs/architecture.md says what each may do).
	Kind string `json:"kind,omitempty"`
}

// Event is one audit event.
type Event struct {
	ID             int64     `json:"id"`
	Time           time.Time `json:"time"`
	Kind           string    `json:"kind"`
	Action         string    `json:"action,omitempty"`
	Allowed        bool      `json:"allowed"`
	Rule           int       `json:"rule,omitempty"`
	RuleName       string    `json:"rule_name,omitempty"`
	Group          string    `json:"group,omitempty"`
	PolicyID       string    `json:"policy_id,omitempty"`
	PolicyRevision int64     `json:"policy_revision,omitempty"`
	UID            uint32    `json:"uid"`
	User           string    `json:"user,omitempty"`
	PID            int32     `json:"pid,omitempty"`
	Path           string    `json:"path,omitempty"`
	SHA256         string    `json:"sha256,omitempty"`
	Args           []string  `json:"args,omitempty"`
	Groups         []string  `json:"groups,omitempty"`
	Parent         string    `json:"parent,omitempty"`
	Parents        []string  `json:"parents,omitempty"` // the chain, nearest first, when read (program events: always)
	AppType        string    `json:"app_type,omitempty"`
	Source         string    `json:"source,omitempty"`
	Reason         string    `json:"reason,omitempty"`
	GrantID        int64     `json:"grant_id,omitempty"`
	RequestID      int64     `json:"request_id,omitempty"`
	Count          int64     `json:"count,omitempty"`
	Detail         string    `json:"detail,omitempty"`
	// Session is the admin session (its grant) an exec ran in.
	Session int64 `json:"session,omitempty"`
}

// EventFilter selects events for GET /v1/events (as query parameters).
type EventFilter struct {
	AfterID      int64
	Since        time.Time
	UID          *uint32
	Kind         string
	Action       string
	PathContains string
	Limit        int
}

// Request is a prompt or approval request for one blocked execution.
type Request struct {
	ID               int64         `json:"id"`
	Created          time.Time     `json:"created"`
	Updated          time.Time     `json:"updated"`
	UID              uint32        `json:"uid"`
	User             string        `json:"user"`
	PID              int32         `json:"pid,omitempty"`
	Kind             request.Kind  `json:"kind"`
	State            request.State `json:"state"`
	Path             string        `json:"path"`
	SHA256           string        `json:"sha256"`
	Args             []string      `json:"args,omitempty"`
	Cwd              string        `json:"cwd,omitempty"`
	Rule             int           `json:"rule"`
	RuleName         string        `json:"rule_name,omitempty"`
	Group            string        `json:"group,omitempty"`
	PolicyRevision   int64         `json:"policy_revision"`
	Title            string        `json:"title,omitempty"`
	Body             string        `json:"body,omitempty"`
	URL              string        `json:"url,omitempty"`
	MinJustification int           `json:"min_justification,omitempty"`
	// Approvers is how many approvals the console needs (0: one).
	Approvers   int       `json:"approvers,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	WindowStart time.Time `json:"window_start,omitzero"`
	WindowEnd   time.Time `json:"window_end,omitzero"`
	DecidedBy   string    `json:"decided_by,omitempty"`
	// Notified is true once the user's agent has told the user about the
	// request's current state (POST /v1/requests/{id}/seen).
	Notified bool `json:"notified,omitempty"`
	// Terminal is true when the program was started from a terminal: the
	// agent does not relaunch it but tells the user to run it again there.
	Terminal bool `json:"terminal,omitempty"`
	// What the agent shows about the program (Publisher Info).
	AppType   string `json:"app_type,omitempty"`
	Publisher string `json:"publisher,omitempty"`
	TeamID    string `json:"team_id,omitempty"`
	SigningID string `json:"signing_id,omitempty"`
	// Machine and RequestCode are the offline challenge of an
	// approval_offline request: what the user reads to the help desk.
	Machine     string `json:"machine,omitempty"`
	RequestCode string `json:"request_code,omitempty"`
	// Route is where an approval_offline request goes on a machine
	// enrolled with a console: "console" (an approval the console decides;
	// the agent holds the codes back) or "offline" (the console was not
	// reached within console_fallback: the codes). Empty for other kinds
	// and on machines without a console: the codes, as always.
	Route string `json:"route,omitempty"`
}

// Answer is POST /v1/requests/{id}/answer: the user's reply to a warning
// (Continue) or justification (Reason), or the submission of an approval
// request (Reason and an optional window). Cancel withdraws the request.
type Answer struct {
	Cancel      bool      `json:"cancel,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	WindowStart time.Time `json:"window_start,omitzero"`
	WindowEnd   time.Time `json:"window_end,omitzero"`
}

// Changes is GET /v1/changes?after=SEQ&wait=DURATION: it returns as soon
// as the requests changed after SEQ (the Seq of the previous answer; 0 at
// first), or when wait (at most 50s, default 25s) passes. Boot changes when
// the daemon restarts; a client then treats every request as new to it.
type Changes struct {
	Seq  uint64 `json:"seq"`
	Boot string `json:"boot"`
}

// MaxChangesWait bounds the wait of GET /v1/changes.
const MaxChangesWait = 50 * time.Second

// OfflineResponse is POST /v1/requests/{id}/offline: the response code the
// help desk read to the user for an approval_offline request. A right code
// creates a grant (the AnswerResult's); a wrong one is counted, and after
// too many the request is closed.
type OfflineResponse struct {
	Code string `json:"code"`
}

// Decide is POST /v1/requests/{id}/approve and /deny (root only).
type Decide struct {
	Note string `json:"note,omitempty"`
}

// ConsolePolicy is POST /v1/policy/console: a policy the console assigned
// this machine and signed, carried by the sync service.
type ConsolePolicy struct {
	Revision  int64  `json:"revision"`
	Body      []byte `json:"body"`
	Signature []byte `json:"signature"`
}

// ConsoleReached is POST /v1/console/reached: the sync service reached the
// console just now, and the requests Uploaded are on it (approval_offline
// requests fall back to the offline codes when it has not for a while:
// Request.Route).
type ConsoleReached struct {
	Uploaded []int64 `json:"uploaded,omitempty"`
}

// ConsoleKeys is POST /v1/console/signing-keys: the console's signing keys
// from now on, announced during a rotation and signed by a key pinned at
// enrollment, carried by the sync service.
type ConsoleKeys struct {
	Keys      [][]byte `json:"keys"`
	Signature []byte   `json:"signature"`
}

// ConsoleDecision is POST /v1/requests/{id}/console-decision: a decision
// the console made and signed, carried by the sync service; gatehoused
// applies it only if the signature verifies with the keys pinned at
// enrollment.
type ConsoleDecision struct {
	Approve        bool      `json:"approve"`
	WindowStart    time.Time `json:"window_start,omitzero"`
	WindowEnd      time.Time `json:"window_end,omitzero"`
	PolicyRevision int64     `json:"policy_revision"`
	DecidedBy      string    `json:"decided_by"`
	Note           string    `json:"note,omitempty"`
	Signature      []byte    `json:"signature"`
}

// Grant lets one user run one exact file again.
type Grant struct {
	ID        int64          `json:"id"`
	UID       uint32         `json:"uid"`
	Path      string         `json:"path"`
	SHA256    string         `json:"sha256"`
	Created   time.Time      `json:"created"`
	Expires   time.Time      `json:"expires"`
	UsesLeft  int            `json:"uses_left"`
	Origin    request.Origin `json:"origin"`
	Reason    string         `json:"reason,omitempty"`
	RequestID int64          `json:"request_id,omitempty"`
}

// AnswerResult is what answering a request produced.
type AnswerResult struct {
	Request Request `json:"request"`
	Grant   *Grant  `json:"grant,omitempty"`
}

// Check is POST /v1/check: evaluate a program as the daemon would.
//
// The program and its parents are sent as open descriptors the client
// opened with its own rights, passed over the socket with the request
// (SCM_RIGHTS, attached to its first byte): first the program's — one, or
// for an app bundle three: the directory, its Contents/Info.plist and its
// main executable — then one per parent, direct parent first. Files says
// how many; Path and Parents are then left empty, the daemon names each
// file by the kernel's path of the descriptor. A connection that carries
// descriptors serves that one request. Only root may instead name the
// files by Path and Parents (the daemon could read any file for it).
type Check struct {
	Files   int      `json:"files,omitempty"`
	Path    string   `json:"path,omitempty"`
	Args    []string `json:"args,omitempty"`
	Parents []string `json:"parents,omitempty"`
	// User evaluates as another user; only root may set it.
	User string `json:"user,omitempty"`
}

// Sudo is POST /v1/sudo: a command the caller wants to run as root
// (gatehouse sudo), with the descriptor of its file (only: the parent
// chain is the caller's, read by the daemon).
type Sudo struct {
	Files  int      `json:"files"`
	Args   []string `json:"args,omitempty"`
	Reason string   `json:"reason,omitempty"`
}

// SudoResult is the daemon's answer to a Sudo. Outcome is run (run `sudo
// -- Path ARGS` before Until), denied, needs_reason (ask for a reason of
// at least MinJustification characters and send it), submitted (approval
// request RequestID made: run it again once approved), waiting (that
// request waits still) or not_elevated (sudo decides by sudoers alone).
type SudoResult struct {
	Outcome          string    `json:"outcome"`
	Path             string    `json:"path"`
	Action           string    `json:"action"`
	Require          string    `json:"require,omitempty"`
	Rule             int       `json:"rule"`
	RuleName         string    `json:"rule_name,omitempty"`
	Title            string    `json:"title,omitempty"`
	Body             string    `json:"body,omitempty"`
	URL              string    `json:"url,omitempty"`
	MinJustification int       `json:"min_justification,omitempty"`
	RequestID        int64     `json:"request_id,omitempty"`
	GrantID          int64     `json:"grant_id,omitempty"`
	Until            time.Time `json:"until,omitzero"`
	Machine          string    `json:"machine,omitempty"`
	RequestCode      string    `json:"request_code,omitempty"`
}

// AdminSession is POST /v1/admin-session: timed admin rights for the
// caller (gatehouse admin). For is a Go duration ("" for the policy's
// default).
type AdminSession struct {
	For    string `json:"for,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// AdminSessionResult is the answer to an AdminSession (and to DELETE
// /v1/admin-session, which ends it): Outcome granted or active (until
// Until), denied, needs_reason, submitted or waiting (RequestID), ended.
type AdminSessionResult struct {
	Outcome          string    `json:"outcome"`
	Entry            string    `json:"entry,omitempty"`
	Require          string    `json:"require,omitempty"`
	Max              string    `json:"max,omitempty"`
	Until            time.Time `json:"until,omitzero"`
	GrantID          int64     `json:"grant_id,omitempty"`
	RequestID        int64     `json:"request_id,omitempty"`
	MinJustification int       `json:"min_justification,omitempty"`
}

// Authorize is POST /v1/authorize: a decision on an authorization
// request (docs/authorization.md), asked by polkit's helper (polkit_user)
// or root for the subject polkit names: the right (polkit action id, macOS
// right), the subject process and its user.
type Authorize struct {
	Right string `json:"right"`
	PID   int32  `json:"pid"`
	UID   uint32 `json:"uid"`
}

// AuthorizeResult is the answer: Verdict yes (granted without the
// administrator's password), no (refused; an interactive rule made a
// request the user answers in the agent, and the retry then passes) or
// not_handled (no rule names the right: the system's own rules decide).
type AuthorizeResult struct {
	Verdict  string `json:"verdict"`
	Action   string `json:"action"`
	Rule     int    `json:"rule"`
	RuleName string `json:"rule_name,omitempty"`
	Program  string `json:"program"`
	GrantID  int64  `json:"grant_id,omitempty"`
	Title    string `json:"title,omitempty"`
}

// CheckResult is the daemon's answer to a Check.
type CheckResult struct {
	Path           string   `json:"path"`
	AppType        string   `json:"app_type"`
	SHA256         string   `json:"sha256"`
	User           string   `json:"user"`
	Action         string   `json:"action"`
	Allowed        bool     `json:"allowed"`
	Rule           int      `json:"rule"`
	RuleName       string   `json:"rule_name,omitempty"`
	Group          string   `json:"group,omitempty"`
	PolicyID       string   `json:"policy_id"`
	PolicyRevision int64    `json:"policy_revision"`
	Grant          *Grant   `json:"grant,omitempty"`
	Trace          []string `json:"trace,omitempty"`
}

// Error is the body of every non-2xx response.
type Error struct {
	Error string `json:"error"`
}
