// Package request is the one vocabulary of approval requests: their kinds
// and states. The store keeps these values, the engine moves requests
// between states, the local API carries them and the agent shows them; all
// of them import this package and none of them spells a kind or a state
// itself.
//
// The values are stored (SQLite) and sent (JSON) as the strings below.
// Stored values never change: a value may be added, never renamed or
// reused. The zero value ("") means unset. Readers keep values they do not
// know (a newer daemon may send a kind an older agent has not heard of)
// and treat them as such; Valid says whether a value is one of these.
//
// The package depends on the standard library only.
package request

import "slices"

// Kind says what a request asks of the user, after a policy rule with an
// interactive action (or a deny the user's agent shows) blocked a program.
type Kind string

// The kinds. The first four follow the policy's interactive actions; the
// notices follow deny_message and deny_notify.
const (
	// Warning: the user may go on past a warning (Continue).
	Warning Kind = "warning"
	// Justification: the user may go on after giving a reason.
	Justification Kind = "justification"
	// Approval: the user submits a reason (and optionally a time window)
	// and an approver decides.
	Approval Kind = "approval"
	// ApprovalOffline is an approval that may also be approved with a
	// response code the help desk reads out (offline approval codes).
	ApprovalOffline Kind = "approval_offline"
	// DenyMessage is a notice: the agent shows the "application denied"
	// dialog (Cancel, Publisher Info) and closes the request.
	DenyMessage Kind = "deny_message"
	// DenyNotify is a notice: the agent posts a notification and closes
	// the request.
	DenyNotify Kind = "deny_notify"
)

var kinds = []Kind{Warning, Justification, Approval, ApprovalOffline, DenyMessage, DenyNotify}

// Kinds returns every kind, in a fixed order.
func Kinds() []Kind { return append([]Kind(nil), kinds...) }

// Valid reports whether k is one of the kinds above.
func (k Kind) Valid() bool { return slices.Contains(kinds, k) }

// Notice reports whether k is a notice (a deny the agent only shows): it
// takes no answer but Cancel.
func (k Kind) Notice() bool { return k == DenyMessage || k == DenyNotify }

// Where an approval_offline request goes on a machine enrolled with a
// console (gatehoused decides; localapi.Request.Route carries it).
const (
	// RouteConsole: to the console, as an approval; the offline codes are
	// held back while the console answers.
	RouteConsole = "console"
	// RouteOffline: the console was not reached within console_fallback,
	// so the user gets the offline codes to read to the help desk.
	RouteOffline = "offline"
)

// NeedsApprover reports whether k waits for an approver's decision once
// submitted.
func (k Kind) NeedsApprover() bool { return k == Approval || k == ApprovalOffline }

// GoesOnWithAnswer reports whether the user's own answer lets the program
// run (a warning's Continue, a justification's reason).
func (k Kind) GoesOnWithAnswer() bool { return k == Warning || k == Justification }

func (k Kind) String() string { return string(k) }

// State is where a request is in its life.
//
//	pending ──answer (warning, justification)──▶ answered
//	   │ ──submit (approval kinds)──▶ submitted ──▶ approved | denied
//	   └──▶ cancelled (the user) | expired (nobody answered) | denied (closed)
type State string

// The states.
const (
	// Pending: waiting for the user.
	Pending State = "pending"
	// Answered: the user went on (warning, justification); closed.
	Answered State = "answered"
	// Submitted: waiting for an approver.
	Submitted State = "submitted"
	// Approved: an approver (or a response code) approved it; closed.
	Approved State = "approved"
	// Denied: an approver denied it, or it was closed; closed.
	Denied State = "denied"
	// Cancelled: the user withdrew it; closed.
	Cancelled State = "cancelled"
	// Expired: nobody answered it in time; closed.
	Expired State = "expired"
)

var states = []State{Pending, Answered, Submitted, Approved, Denied, Cancelled, Expired}

// States returns every state, in a fixed order.
func States() []State { return append([]State(nil), states...) }

// OpenStates are the states a request can still change from.
func OpenStates() []State { return []State{Pending, Submitted} }

// Valid reports whether s is one of the states above.
func (s State) Valid() bool { return slices.Contains(states, s) }

// Open reports whether a request in state s can still change.
func (s State) Open() bool { return s == Pending || s == Submitted }

func (s State) String() string { return string(s) }

// Origin says what made a grant (the permission to run one file again that
// an answered or approved request leaves behind).
type Origin string

// The origins.
const (
	// FromWarning: the user went on past a warning.
	FromWarning Origin = "warning"
	// FromJustification: the user gave a reason.
	FromJustification Origin = "justification"
	// FromApproval: an approver approved the request.
	FromApproval Origin = "approval"
	// FromOffline: the user typed the help desk's response code.
	FromOffline Origin = "offline"
	// FromElevation: an elevate rule without a requirement (a sudo
	// command).
	FromElevation Origin = "elevation"
)

// GrantOrigin is the origin of the grant the user's own answer to a
// request of kind k makes ("" when an answer makes none).
func (k Kind) GrantOrigin() Origin {
	switch k {
	case Warning:
		return FromWarning
	case Justification:
		return FromJustification
	}
	return ""
}

func (o Origin) String() string { return string(o) }
