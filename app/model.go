package app

import "github.com/gatehouse/gatehouse/request"

// This file is the contract between the agent (Go) and its dialogs
// (frontend/). Wails binds Bridge as window.go.app.Bridge; every method
// returns a Promise in the frontend, and a Go error rejects it with the
// error's text, which the dialog shows as is. The agent announces the dialog
// to show with the runtime event "dialog" (payload: a Dialog, or null when
// there is nothing to show).

// Dialog kinds. They follow the policy's interactive actions, plus denied
// (deny with a denied message: Cancel and Publisher Info only).
const (
	DialogWarning         = "warning"
	DialogJustification   = "justification"
	DialogDenied          = "denied"
	DialogApproval        = "approval"
	DialogApprovalOffline = "approval_offline"
	// DialogAdmin asks for admin rights (the menu's "Request admin
	// rights…"); its RequestID is AdminDialogID.
	DialogAdmin = "admin"
)

// Dialog is what one dialog window shows.
type Dialog struct {
	// RequestID is the enforcer's request this dialog answers.
	RequestID int64  `json:"request_id"`
	Kind      string `json:"kind"`
	// Title, Body and URL come from the policy rule's message, already
	// rendered; Body is plain text (newlines are line breaks), URL an
	// http(s) "more information" link or empty.
	Title string `json:"title"`
	Body  string `json:"body"`
	URL   string `json:"url,omitempty"`
	// Company is the branding line shown above the title (the policy's
	// organisation name, or "Gatehouse").
	Company string `json:"company"`
	// MinJustification is the fewest characters (after trimming spaces) a
	// justification or approval reason must have; 0 means any non-empty
	// reason for justification, optional for approval.
	MinJustification int     `json:"min_justification,omitempty"`
	Program          Program `json:"program"`
	// Computer, RequestCode and PolicyRevision are set for
	// approval_offline: the user reads them to the help desk, who answers
	// with a 12-character response code.
	Computer       string `json:"computer,omitempty"`
	RequestCode    string `json:"request_code,omitempty"`
	PolicyRevision int64  `json:"policy_revision,omitempty"`
	// State is the request's state (pending, submitted, ...); a dialog for
	// an approval that was already submitted shows the submitted notice.
	State request.State `json:"state,omitempty"`
	// Admin is set for the admin dialog: the lengths to choose from.
	Admin *AdminDialog `json:"admin,omitempty"`
}

// AdminDialog is what the admin dialog offers: Lengths (Default chosen
// first), and whether a reason is required ("justification", "approval",
// "approval_offline") or optional ("").
type AdminDialog struct {
	Require string        `json:"require,omitempty"`
	Default string        `json:"default"`
	Lengths []AdminLength `json:"lengths"`
}

// AdminLength is one choice: Value is sent back, Label shown.
type AdminLength struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

// Program describes the blocked program (the Publisher Info panel shows it).
type Program struct {
	Name      string   `json:"name"`
	Path      string   `json:"path"`
	SHA256    string   `json:"sha256,omitempty"`
	Publisher string   `json:"publisher,omitempty"`
	TeamID    string   `json:"team_id,omitempty"`
	SigningID string   `json:"signing_id,omitempty"`
	AppType   string   `json:"app_type,omitempty"`
	Args      []string `json:"args,omitempty"`
	// Terminal is true when the program was started from a terminal: it is
	// not relaunched; the user is told to run it again there.
	Terminal bool `json:"terminal,omitempty"`
}

// Outcome is what a button did.
type Outcome struct {
	// Message is shown to the user (for example "Your request was
	// submitted. A notification will tell you when it is decided.").
	Message string `json:"message,omitempty"`
	// Relaunched is true when the agent started the program again.
	Relaunched bool `json:"relaunched,omitempty"`
	// Close is true when the dialog should close now (else it shows
	// Message with an OK button that calls Close).
	Close bool `json:"close,omitempty"`
}

// The bound methods (implemented in bridge.go) are:
//
//	Current() (*Dialog, error)           the dialog to show now, or null
//	Continue(id int64, reason string) (Outcome, error)
//	                                     warning (reason "") and justification
//	Cancel(id int64) error               Cancel button / Escape
//	RequestApproval(id int64, reason, windowStart, windowEnd string) (Outcome, error)
//	                                     window times are RFC 3339 or ""
//	SubmitResponseCode(id int64, code string) (Outcome, error)
//	                                     the help desk's response code as typed
//	RequestAdmin(length, reason string) (Outcome, error)
//	                                     the admin dialog: a Value of its Lengths
//	Close() error                        close after an Outcome message
