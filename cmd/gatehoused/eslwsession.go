package main

import (
	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/endpointsecurity"
)

// The Endpoint Security adapter's translation of LoginWindow's logout and
// screen lock into the engine's SessionEnd, which ends the user's admin
// session. Platform-neutral, so it is tested on Linux; source_darwin.go
// subscribes and dispatches.

// esSessionEvents are subscribed to apart from the exec client's other
// events: they exist from macOS 13 on, and an older system that refuses
// them must not stop the client.
var esSessionEvents = []endpointsecurity.EventType{
	endpointsecurity.NotifyLWSessionLogout,
	endpointsecurity.NotifyLWSessionLock,
}

// esSessionEnd is the session end m reports; ok is false for a message
// that is not a decoded logout or screen lock. The user is named as the
// kernel reported it (the engine looks the name up); the decoder already
// refused an empty or malformed one.
func esSessionEnd(m *endpointsecurity.Message) (end enforcer.SessionEnd, ok bool) {
	if m.Session == nil {
		return enforcer.SessionEnd{}, false
	}
	switch m.Event {
	case endpointsecurity.NotifyLWSessionLogout:
		return enforcer.SessionEnd{User: m.Session.User, Why: "logout"}, true
	case endpointsecurity.NotifyLWSessionLock:
		return enforcer.SessionEnd{User: m.Session.User, Why: "screen lock"}, true
	}
	return enforcer.SessionEnd{}, false
}
