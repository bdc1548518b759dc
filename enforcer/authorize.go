package enforcer

import "fmt"

// Op is one operation the engine offers its callers.
type Op uint8

// The operations. Values start at one.
const (
	// OpStatus reads the daemon's status.
	OpStatus Op = iota + 1
	// OpWaitChanges waits for a change to the requests (it says only
	// that something changed; what the caller may see is listed anew).
	OpWaitChanges
	// OpReadEvents lists audit events.
	OpReadEvents
	// OpReadRequests lists or reads requests.
	OpReadRequests
	// OpReadGrants lists grants.
	OpReadGrants
	// OpAnswer answers a request (Continue, a reason, a submission, a
	// cancel, an offline response code).
	OpAnswer
	// OpMarkSeen records that the user was told of a request's state.
	OpMarkSeen
	// OpDecide approves or denies a submitted request.
	OpDecide
	// OpCheck evaluates a program for the caller.
	OpCheck
	// OpCheckAsOther evaluates a program for another user.
	OpCheckAsOther
	// OpReload reloads the policy file.
	OpReload
	// OpConsoleDecide applies a decision or a policy the console signed.
	OpConsoleDecide
	// OpConsoleReport says the console was reached and what is on it.
	OpConsoleReport
	// OpAuthorize decides an authorization request (polkit, macOS's
	// authorization plugin) for the subject the caller names.
	OpAuthorize
	ops = OpAuthorize
)

var opNames = [...]string{"", "read the status", "wait for changes", "read audit events", "read requests",
	"read grants", "answer requests", "mark requests seen", "approve or deny requests", "check programs",
	"check programs as another user", "reload the policy", "apply what the console signed",
	"report the console's reachability", "decide authorization requests"}

func (o Op) String() string {
	if o != 0 && int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", o)
}

// Scope is how far an actor's right to an operation reaches.
type Scope uint8

const (
	// None: the operation is refused.
	None Scope = iota
	// Own: only on the actor's own requests, events and grants (those of
	// the uid it acts for).
	Own
	// All: on everyone's.
	All
)

func (s Scope) String() string { return [...]string{"none", "own", "all"}[s] }

// rights is who may do what: the one place that says so. Every operation
// checks it through authorize before it touches anything; a new operation
// or actor kind gets a row or column here and in the table test.
//
// Answering and marking seen are the blocked user's alone, also for root:
// an administrator approves, but does not click a user's Continue. The
// console sync service carries decisions and audit events, so it reads
// everything and answers nothing; it decides only with the console's
// signature (OpConsoleDecide: the sync is not trusted with decisions). sudo
// acts for its real user. polkitd asks for authorization decisions and
// nothing else (it names the subject; it reads no one's requests).
var rights = [ops + 1][actorKinds + 1]Scope{
	//                  -   user  root  sync  sudo  agent polkit
	OpStatus:        {0, All, All, All, All, All, All},
	OpWaitChanges:   {0, All, All, All, All, All, None},
	OpReadEvents:    {0, Own, All, All, Own, Own, None},
	OpReadRequests:  {0, Own, All, All, Own, Own, None},
	OpReadGrants:    {0, Own, All, All, Own, Own, None},
	OpAnswer:        {0, Own, Own, None, Own, Own, None},
	OpMarkSeen:      {0, Own, Own, None, Own, Own, None},
	OpDecide:        {0, None, All, None, None, None, None},
	OpCheck:         {0, Own, Own, Own, Own, Own, None},
	OpCheckAsOther:  {0, None, All, None, None, None, None},
	OpReload:        {0, None, All, None, None, None, None},
	OpConsoleDecide: {0, None, All, All, None, None, None},
	OpConsoleReport: {0, None, All, All, None, None, None},
	OpAuthorize:     {0, None, All, None, None, None, All},
}

// scope returns how far a's right to op reaches.
func scope(a Actor, op Op) Scope {
	if op == 0 || op > ops || a.Kind == 0 || a.Kind > actorKinds {
		return None
	}
	return rights[op][a.Kind]
}

// authorize returns a forbidden error unless a may do op on something of
// owner's (owner is ignored for a scope of All).
func authorize(a Actor, op Op, owner uint32) error {
	switch scope(a, op) {
	case All:
		return nil
	case Own:
		if owner == a.UID {
			return nil
		}
		return forbidden("%s may %s only for uid %d; this is uid %d's", a, op, a.UID, owner)
	}
	return forbidden("%s may not %s", a, op)
}

// authorizeAny returns a forbidden error unless a may do op at all, and
// the scope it may do it in.
func authorizeAny(a Actor, op Op) (Scope, error) {
	s := scope(a, op)
	if s == None {
		return None, forbidden("%s may not %s", a, op)
	}
	return s, nil
}
