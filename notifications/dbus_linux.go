//go:build linux

package notifications

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/gen2brain/beeep"
	"github.com/godbus/dbus/v5"

	"github.com/gatehouse/gatehouse/internal/dbusdial"
)

const (
	fdoName  = "org.freedesktop.Notifications"
	fdoPath  = dbus.ObjectPath("/org/freedesktop/Notifications")
	fdoIface = "org.freedesktop.Notifications"
	busName  = "org.freedesktop.DBus"

	// probeTimeout bounds New's first look for a server; New must not hold
	// up the agent's start when the session bus is stuck.
	probeTimeout = 2 * time.Second
)

// mode is how notifications go out right now.
type mode int

const (
	modeNone     mode = iota // no server found yet: beeep, re-probe on each post
	modeDBus                 // a server with actions: ours
	modeFallback             // a server without actions: beeep
)

// dbusNotifier talks to org.freedesktop.Notifications on its own private
// session-bus connection (never godbus's shared one, which beeep uses).
//
// Lock order: postMu, then mu. postMu serialises Post, Remove and
// (re)connecting; mu guards the state the signal loop reads, so a slow
// server holding up a Post never holds up delivery of responses.
type dbusNotifier struct {
	opts      Options
	log       *slog.Logger
	responses chan Response
	wg        sync.WaitGroup // signal loops

	postMu sync.Mutex

	mu     sync.Mutex
	closed bool
	conn   *dbus.Conn // nil until connected and after the bus went away
	owner  string     // the server's unique name; signals from others are ignored
	probed bool       // caps and owner are current for conn
	mode   mode
	markup bool // the server renders markup in bodies
	warned bool // the "no clicks" notice was logged
	table  idTable
}

func newPlatform(opts Options) (Notifier, error) {
	n := &dbusNotifier{
		opts:      opts,
		log:       opts.Logger,
		responses: make(chan Response, responseBuffer),
		table:     newIDTable(),
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	n.postMu.Lock()
	err := n.ready(ctx)
	n.postMu.Unlock()
	if err != nil {
		n.log.Info("notifications: no session bus yet; will connect on the next post", "err", err)
	}
	return n, nil
}

func (n *dbusNotifier) Responses() <-chan Response { return n.responses }

func (n *dbusNotifier) Actions() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.mode == modeDBus
}

func (n *dbusNotifier) Post(ctx context.Context, note Notification) error {
	if err := note.Validate(); err != nil {
		return err
	}
	note = cleaned(note)
	n.postMu.Lock()
	defer n.postMu.Unlock()
	connErr := n.ready(ctx)
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return ErrClosed
	}
	conn, m, markup := n.conn, n.mode, n.markup
	replaces := n.table.replaces(note.ID)
	n.mu.Unlock()
	if markup {
		note.Body = escapeMarkup(note.Body)
	}
	if m != modeDBus {
		return n.postFallback(note, connErr)
	}

	var server uint32
	err := conn.Object(fdoName, fdoPath).CallWithContext(ctx, fdoIface+".Notify", 0,
		n.opts.AppName, replaces, "", note.Title, note.Body, dbusActions(note.Actions),
		map[string]dbus.Variant{}, int32(-1)).Store(&server)
	if err != nil {
		if !conn.Connected() {
			n.dropConn(conn)
			return fmt.Errorf("post notification %s: the session bus went away (reconnecting on the next post): %w", note.ID, err)
		}
		// The server may have gone; look again next time.
		n.mu.Lock()
		n.probed = false
		n.mu.Unlock()
		return fmt.Errorf("post notification %s: %w", note.ID, err)
	}
	n.mu.Lock()
	n.table.put(note.ID, server, note.Payload)
	n.mu.Unlock()
	return nil
}

// beeepMu guards beeep.AppName, a package variable.
var beeepMu sync.Mutex

// postFallback shows note through beeep: no actions, no replacement, no
// responses. connErr says why our own connection is not in use, if it failed.
func (n *dbusNotifier) postFallback(note Notification, connErr error) error {
	beeepMu.Lock()
	beeep.AppName = n.opts.AppName
	err := beeep.Notify(note.Title, note.Body, "")
	beeepMu.Unlock()
	if err != nil {
		return fmt.Errorf("post notification %s: %w", note.ID, errors.Join(connErr, err))
	}
	return nil
}

func (n *dbusNotifier) Remove(ctx context.Context, id string) error {
	n.postMu.Lock()
	defer n.postMu.Unlock()
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return ErrClosed
	}
	s, ok := n.table.remove(id)
	conn := n.conn
	n.mu.Unlock()
	if !ok || conn == nil {
		return nil
	}
	err := conn.Object(fdoName, fdoPath).CallWithContext(ctx, fdoIface+".CloseNotification", 0, s.server).Err
	if _, answered := errors.AsType[dbus.Error](err); err != nil && !answered {
		// An error reply means the server no longer has it (the spec
		// answers an unknown id with an error): it is gone either way.
		return fmt.Errorf("remove notification %s: %w", id, err)
	}
	return nil
}

func (n *dbusNotifier) Close() error {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil
	}
	n.closed = true
	conn := n.conn
	n.conn = nil
	n.mu.Unlock()
	if conn != nil {
		conn.Close()
	}
	n.wg.Wait()
	n.mu.Lock()
	close(n.responses)
	n.mu.Unlock()
	return nil
}

// ready makes sure there is a connection and the server's capabilities are
// known, connecting or probing as needed. It returns the error of
// connecting; a missing server is not an error here (the mode says so).
// The caller holds postMu.
func (n *dbusNotifier) ready(ctx context.Context) error {
	n.mu.Lock()
	conn, probed := n.conn, n.probed
	n.mu.Unlock()
	if conn != nil && !conn.Connected() {
		n.dropConn(conn)
		conn = nil
	}
	if conn == nil {
		c, err := n.connect(ctx)
		if err != nil {
			n.setMode(modeNone, false, "", fmt.Sprintf("cannot reach the session bus: %v", err))
			return err
		}
		conn, probed = c, false
	}
	if probed {
		return nil
	}
	obj := conn.Object(fdoName, fdoPath)
	var caps []string
	if err := obj.CallWithContext(ctx, fdoIface+".GetCapabilities", 0).Store(&caps); err != nil {
		n.setMode(modeNone, false, "", fmt.Sprintf("no notification server answers on the session bus: %v", err))
		return nil
	}
	var owner string
	if err := conn.BusObject().CallWithContext(ctx, busName+".GetNameOwner", 0, fdoName).Store(&owner); err != nil {
		n.setMode(modeNone, false, "", fmt.Sprintf("the notification server left the bus: %v", err))
		return nil
	}
	markup := slices.Contains(caps, "body-markup")
	if !slices.Contains(caps, "actions") {
		n.setMode(modeFallback, markup, owner, "the notification server does not support actions")
		return nil
	}
	n.setMode(modeDBus, markup, owner, "")
	return nil
}

// setMode records what ready found. The first time clicks are unavailable
// it says so in the log, once.
func (n *dbusNotifier) setMode(m mode, markup bool, owner, why string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	was := n.mode
	n.mode, n.markup, n.owner = m, markup, owner
	n.probed = m != modeNone
	switch {
	case m != modeDBus && !n.warned:
		n.warned = true
		n.log.Warn("notifications: clicks and buttons are unavailable; notifications are shown without them", "reason", why)
	case m == modeDBus && was != modeDBus && n.warned:
		n.log.Info("notifications: clicks and buttons are available again", "server", owner)
	}
}

// connect opens a private connection to the session bus and starts its
// signal loop.
func (n *dbusNotifier) connect(ctx context.Context) (*dbus.Conn, error) {
	addr, err := sessionBusAddress()
	if err != nil {
		return nil, err
	}
	conn, err := dbusdial.Dial(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("connect to session bus %s: %w", addr, err)
	}
	if err := addMatches(ctx, conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("connect to session bus %s: %w", addr, err)
	}
	sigs := make(chan *dbus.Signal, 16)
	conn.Signal(sigs)

	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		conn.Close()
		return nil, ErrClosed
	}
	n.conn, n.probed = conn, false
	n.wg.Add(1)
	go n.loop(conn, sigs)
	return conn, nil
}

func addMatches(ctx context.Context, conn *dbus.Conn) error {
	if err := conn.AddMatchSignalContext(ctx,
		dbus.WithMatchObjectPath(fdoPath), dbus.WithMatchInterface(fdoIface)); err != nil {
		return fmt.Errorf("subscribe to notification signals: %w", err)
	}
	if err := conn.AddMatchSignalContext(ctx,
		dbus.WithMatchSender(busName), dbus.WithMatchInterface(busName),
		dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, fdoName)); err != nil {
		return fmt.Errorf("subscribe to notification server changes: %w", err)
	}
	return nil
}

// sessionBusAddress finds the session bus the way libdbus does, but never
// autolaunches one: an agent without a session has nobody to show
// notifications to.
func sessionBusAddress() (string, error) {
	if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" && a != "autolaunch:" {
		return a, nil
	}
	if dir := os.Getenv("XDG_RUNTIME_DIR"); dir != "" {
		p := filepath.Join(dir, "bus")
		if fi, err := os.Stat(p); err == nil && fi.Mode().Type() == os.ModeSocket {
			return "unix:path=" + p, nil
		}
	}
	return "", errors.New("no session bus: DBUS_SESSION_BUS_ADDRESS is not set and $XDG_RUNTIME_DIR/bus does not exist")
}

// loop turns the connection's signals into responses until the connection
// closes.
func (n *dbusNotifier) loop(conn *dbus.Conn, sigs <-chan *dbus.Signal) {
	defer n.wg.Done()
	for sig := range sigs {
		n.handle(conn, sig)
	}
	n.dropConn(conn)
}

func (n *dbusNotifier) handle(conn *dbus.Conn, sig *dbus.Signal) {
	switch sig.Name {
	case fdoIface + ".ActionInvoked":
		var server uint32
		var key string
		if dbus.Store(sig.Body, &server, &key) != nil {
			return
		}
		n.mu.Lock()
		ok := n.fromServer(sig, server, actionKind(key), key)
		n.mu.Unlock()
		if ok {
			// One response per notification, as on macOS: once the user
			// has chosen, the notification goes (servers that keep it,
			// like dunst, would otherwise let the user choose twice).
			conn.Object(fdoName, fdoPath).Go(fdoIface+".CloseNotification", dbus.FlagNoReplyExpected, nil, server)
		}
	case fdoIface + ".NotificationClosed":
		var server, reason uint32
		if dbus.Store(sig.Body, &server, &reason) != nil {
			return
		}
		n.mu.Lock()
		n.fromServer(sig, server, closeKind(reason), "")
		n.mu.Unlock()
	case busName + ".NameOwnerChanged":
		var name, oldOwner, newOwner string
		if sig.Sender != busName || dbus.Store(sig.Body, &name, &oldOwner, &newOwner) != nil || name != fdoName {
			return
		}
		n.mu.Lock()
		defer n.mu.Unlock()
		if n.conn != conn {
			return
		}
		// The server restarted or left: what it showed is gone, and its
		// capabilities must be asked again.
		n.owner, n.probed = newOwner, false
		for _, r := range n.table.drain() {
			n.emit(r)
		}
		n.log.Info("notifications: the notification server changed", "old", oldOwner, "new", newOwner)
	}
}

// fromServer emits the response for a signal about one of our
// notifications. The caller holds mu.
func (n *dbusNotifier) fromServer(sig *dbus.Signal, server uint32, kind ResponseKind, key string) bool {
	if sig.Sender != n.owner || n.owner == "" {
		return false
	}
	r, ok := n.table.take(server, kind, key)
	if ok {
		n.emit(r)
	}
	return ok
}

// dropConn forgets conn after the bus went away: everything it showed is
// reported Closed and the next Post reconnects.
func (n *dbusNotifier) dropConn(conn *dbus.Conn) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn != conn {
		return
	}
	n.conn, n.owner, n.probed = nil, "", false
	if !n.closed {
		n.log.Info("notifications: lost the session bus; reconnecting on the next post")
	}
	for _, r := range n.table.drain() {
		n.emit(r)
	}
}

// emit delivers r without blocking. The caller holds mu.
func (n *dbusNotifier) emit(r Response) {
	if n.closed {
		return
	}
	select {
	case n.responses <- r:
	default:
		n.log.Warn("notifications: response dropped, the reader is behind", "id", r.ID, "kind", r.Kind.String())
	}
}
