package policy

import "fmt"

// Action is what a rule tells the enforcer to do. Stored values never change;
// the zero value means "unset".
type Action uint8

const (
	ActionUnset Action = iota
	// Allow lets the program run without recording an event (unless the rule
	// asks for audit logging).
	Allow
	// Audit lets the program run and records an audit event.
	Audit
	// Deny blocks silently.
	Deny
	// DenyNotify blocks and posts a notification.
	DenyNotify
	// DenyMessage blocks and shows the "application denied" dialog (Cancel,
	// Publisher Info).
	DenyMessage
	// Warning blocks now and shows Cancel / Continue; Continue grants a relaunch.
	Warning
	// Justification blocks now and asks for a reason; the reason grants a relaunch.
	Justification
	// Approval blocks now and files an approval request with an optional window.
	Approval
	// ApprovalOffline is Approval with the offline request/response code fallback.
	ApprovalOffline
	// Elevate runs the program (a sudo command or admin session) with
	// elevated rights, under the requirement named by Decision.Require.
	Elevate
)

var actionNames = [...]string{
	ActionUnset:     "",
	Allow:           "allow",
	Audit:           "audit",
	Deny:            "deny",
	DenyNotify:      "deny_notify",
	DenyMessage:     "deny_message",
	Warning:         "warning",
	Justification:   "justification",
	Approval:        "approval",
	ApprovalOffline: "approval_offline",
	Elevate:         "elevate",
}

func (a Action) String() string {
	if int(a) < len(actionNames) && a != ActionUnset {
		return actionNames[a]
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// Allows reports whether the kernel should let the exec through at once.
// Interactive actions deny now; the user's answer becomes a grant that lets
// the relaunch through. Elevate does not: it lets a sudo command run as
// root once its requirement is met (docs/elevation.md), never a program
// at its exec.
func (a Action) Allows() bool { return a == Allow || a == Audit }

// Permits reports whether the action lets what it decides run, at once or
// (elevate) once its requirement is met: the lint's warnings about what a
// rule lets run apply to both.
func (a Action) Permits() bool { return a.Allows() || a == Elevate }

// Interactive reports whether the action needs an answer from the user's agent.
func (a Action) Interactive() bool {
	switch a {
	case Warning, Justification, Approval, ApprovalOffline:
		return true
	}
	return false
}

// ActionNames lists the policy spelling of every action, in stored order.
func ActionNames() []string { return append([]string(nil), actionNames[1:]...) }

// ParseAction turns a policy spelling into an Action.
func ParseAction(s string) (Action, bool) {
	for i, n := range actionNames {
		if i > 0 && n == s {
			return Action(i), true
		}
	}
	return ActionUnset, false
}

// AppType is the kind of application being started. Zero means unknown.
type AppType uint8

const (
	TypeUnknown AppType = iota
	Binary
	Bundle
	Script
	Package
	SudoCommand
	SystemPreference
)

var typeNames = [...]string{
	TypeUnknown:      "unknown",
	Binary:           "binary",
	Bundle:           "bundle",
	Script:           "script",
	Package:          "package",
	SudoCommand:      "sudo",
	SystemPreference: "system_preference",
}

func (t AppType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint8(t))
}

// TypeNames lists the policy spelling of every application type.
func TypeNames() []string { return append([]string(nil), typeNames[1:]...) }

// ParseType turns a policy spelling into an AppType.
func ParseType(s string) (AppType, bool) {
	for i, n := range typeNames {
		if i > 0 && n == s {
			return AppType(i), true
		}
	}
	return TypeUnknown, false
}

// Event is what happened: a program start, an authorization request, or a
// bundle install/delete. Zero is treated as Exec.
type Event uint8

const (
	EventUnset Event = iota
	Exec
	AuthRequest
	Install
	Delete
)

var eventNames = [...]string{"exec", "exec", "auth_request", "install", "delete"}

func (e Event) String() string {
	if int(e) < len(eventNames) {
		return eventNames[e]
	}
	return fmt.Sprintf("event(%d)", uint8(e))
}

func (e Event) normal() Event {
	if e == EventUnset {
		return Exec
	}
	return e
}
