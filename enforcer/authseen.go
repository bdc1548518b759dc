package enforcer

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/enforcer/store"
)

// authSeenKind is the audit kind of authorization requests the system
// reported after the fact. It is not "auth": that kind is the engine's own
// decisions (Authorize), and a report must never read as one.
const authSeenKind = "auth_seen"

// authorizationSeen records an authorization request the system reported
// after the fact (Handler.AuthorizationSeen): an audit event of kind
// auth_seen, Action "petition" or "judgement", the program that asked in
// Path, the rights in Args, and a detail that says which were granted.
// Allowed is true only for a judgement that granted every right it judged.
// It decides nothing and does not block: the source's goroutine calls it
// (on macOS the exec client's, whose next AUTH_EXEC must not wait), so
// the user's name — an NSS lookup when not cached — is read on a
// goroutine of its own.
func (e *Engine) authorizationSeen(a AuthorizationSeen) { go e.recordAuthorizationSeen(a) }

func (e *Engine) recordAuthorizationSeen(a AuthorizationSeen) {
	ev := store.Event{Kind: authSeenKind, Action: "petition", UID: a.UID, User: e.users.userName(a.UID), PID: a.PID,
		Path: a.Program, AppType: authAppType, Args: a.Rights}
	var detail string
	if a.Judged {
		var granted, refused []string
		for _, r := range a.Rights {
			if slices.Contains(a.Granted, r) {
				granted = append(granted, r)
			} else {
				refused = append(refused, r)
			}
		}
		ev.Action, ev.Allowed = "judgement", len(a.Rights) > 0 && len(refused) == 0
		detail = "judgement: granted " + rightList(granted)
		if len(refused) > 0 {
			detail += "; not granted " + rightList(refused)
		}
		if a.ReturnCode != 0 {
			detail += "; " + authStatus(a.ReturnCode)
		}
	} else {
		detail = "petition for " + rightList(a.Rights)
	}
	if a.Petitioner != "" && a.Petitioner != a.Program {
		detail += "; the request was created by " + a.Petitioner
	}
	ev.Detail = detail
	e.record(ev)
}

func rightList(rights []string) string {
	if len(rights) == 0 {
		return "none"
	}
	return strings.Join(rights, ", ")
}

// authStatus names a judgement's return code, an OSStatus of
// Security's Authorization.h.
func authStatus(code int32) string {
	why := map[int32]string{
		-60005: "denied",
		-60006: "canceled by the user",
		-60007: "denied: no user interaction was possible",
		-60008: "the system's internal error",
	}[code]
	if why == "" {
		return fmt.Sprintf("return code %d", code)
	}
	return fmt.Sprintf("return code %d (%s)", code, why)
}
