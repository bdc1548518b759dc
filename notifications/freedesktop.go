package notifications

// The parts of the freedesktop.org notification protocol that need no bus:
// building the actions array, mapping close reasons, and the table from the
// server's uint32 ids back to the caller's IDs. Kept free of D-Bus so that
// they are tested on every platform.

// defaultLabel is the label of the body-click action when the caller lists
// none. Most servers do not show it; dunst shows it in its context menu.
const defaultLabel = "Open"

// dbusActions flattens actions into the spec's [key, label, key, label...]
// array. The default action is always present, first, so that a click on
// the body is reported as on macOS.
func dbusActions(actions []Action) []string {
	out := make([]string, 0, 2*len(actions)+2)
	label := defaultLabel
	for _, a := range actions {
		if a.Key == DefaultAction && a.Label != "" {
			label = a.Label
		}
	}
	out = append(out, DefaultAction, label)
	for _, a := range actions {
		if a.Key != DefaultAction {
			out = append(out, a.Key, a.Label)
		}
	}
	return out
}

// closeKind maps a NotificationClosed reason to a ResponseKind.
// 1 expired, 2 dismissed by the user, 3 closed by CloseNotification,
// 4 undefined/reserved.
func closeKind(reason uint32) ResponseKind {
	switch reason {
	case 1:
		return Expired
	case 2:
		return Dismissed
	}
	return Closed
}

// actionKind maps an invoked action key to a ResponseKind.
func actionKind(key string) ResponseKind {
	if key == DefaultAction {
		return Clicked
	}
	return ActionInvoked
}

// shown is one notification on screen: the server's id and the caller's
// payload.
type shown struct {
	server  uint32
	payload string
}

// idTable maps between the caller's IDs and the server's ids. It is not
// safe for concurrent use; the owner locks.
type idTable struct {
	byID     map[string]shown
	byServer map[uint32]string
}

func newIDTable() idTable {
	return idTable{byID: map[string]shown{}, byServer: map[uint32]string{}}
}

// replaces returns the server id to pass as replaces_id for id, or 0.
func (t *idTable) replaces(id string) uint32 {
	return t.byID[id].server
}

// put records that id is shown as server. A server may hand out a new id
// for a replacement; the old one is forgotten.
func (t *idTable) put(id string, server uint32, payload string) {
	if old, ok := t.byID[id]; ok {
		delete(t.byServer, old.server)
	}
	if other, ok := t.byServer[server]; ok && other != id {
		// The server reused an id (it restarted and we missed it): the
		// older notification is gone.
		delete(t.byID, other)
	}
	t.byID[id] = shown{server: server, payload: payload}
	t.byServer[server] = id
}

// remove forgets id and returns what was shown for it.
func (t *idTable) remove(id string) (shown, bool) {
	s, ok := t.byID[id]
	if ok {
		delete(t.byID, id)
		delete(t.byServer, s.server)
	}
	return s, ok
}

// take forgets the notification with the server's id and returns the
// Response for it, or false if it is not ours (another client's, or one
// already answered or removed).
func (t *idTable) take(server uint32, kind ResponseKind, key string) (Response, bool) {
	id, ok := t.byServer[server]
	if !ok {
		return Response{}, false
	}
	s := t.byID[id]
	delete(t.byServer, server)
	delete(t.byID, id)
	if kind != Clicked && kind != ActionInvoked {
		key = ""
	}
	return Response{ID: id, Kind: kind, ActionKey: key, Payload: s.payload}, true
}

// drain forgets everything and returns a Closed response for each
// notification, for when the server or the bus went away.
func (t *idTable) drain() []Response {
	out := make([]Response, 0, len(t.byID))
	for id, s := range t.byID {
		out = append(out, Response{ID: id, Kind: Closed, Payload: s.payload})
	}
	clear(t.byID)
	clear(t.byServer)
	return out
}
