package notifications

// The parts of the macOS notification path that need no Objective-C: the
// category for a set of buttons and the mapping of a
// UNNotificationResponse back to a Response. Kept here so that they are
// tested on Linux; notify_darwin.go only moves values across.

import (
	"crypto/sha256"
	"encoding/hex"
)

const (
	// The identifiers UNNotificationResponse.actionIdentifier carries for a
	// click on the body and for a dismissal (the latter only for categories
	// with UNNotificationCategoryOptionCustomDismissAction).
	appleDefaultAction = "com.apple.UNNotificationDefaultActionIdentifier"
	appleDismissAction = "com.apple.UNNotificationDismissActionIdentifier"

	// userInfo keys: the response carries our ID and payload, so a click
	// that relaunches the agent still finds its request.
	userInfoID      = "gatehouse.id"
	userInfoPayload = "gatehouse.payload"
)

// appleButtons are the actions shown as buttons: all but the default one,
// which on macOS is the click on the body.
func appleButtons(actions []Action) []Action {
	out := make([]Action, 0, len(actions))
	for _, a := range actions {
		if a.Key != DefaultAction {
			out = append(out, a)
		}
	}
	return out
}

// categoryID names the category for a set of buttons. Categories are
// registered once per process and never change, so the same buttons (keys
// and labels, in order) must give the same name and different ones a
// different name.
func categoryID(buttons []Action) string {
	h := sha256.New()
	for _, a := range buttons {
		h.Write([]byte(a.Key))
		h.Write([]byte{0})
		h.Write([]byte(a.Label))
		h.Write([]byte{0})
	}
	return "gatehouse." + hex.EncodeToString(h.Sum(nil)[:8])
}

// appleResponse maps a UNNotificationResponse. requestID is the request's
// identifier (our ID); userInfo holds the values posted with it.
func appleResponse(actionID, requestID string, userInfo map[string]string) Response {
	r := Response{ID: requestID, Payload: userInfo[userInfoPayload]}
	if id := userInfo[userInfoID]; id != "" {
		r.ID = id
	}
	switch actionID {
	case appleDefaultAction:
		r.Kind, r.ActionKey = Clicked, DefaultAction
	case appleDismissAction:
		r.Kind = Dismissed
	default:
		r.Kind, r.ActionKey = ActionInvoked, actionID
	}
	return r
}
