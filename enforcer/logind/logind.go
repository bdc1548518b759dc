// Package logind follows systemd-logind on the system bus for the ends of
// users' login sessions — a logout (SessionRemoved) and a screen lock (the
// session's Lock signal, or its LockedHint turning true) — so that an admin
// session ends when its user walks away (docs/elevation.md). It only
// listens: nothing here is on an exec's path, and a bus that is missing or
// stuck delays only this.
package logind

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/gatehouse/gatehouse/internal/dbusdial"
)

const (
	busName      = "org.freedesktop.login1"
	managerPath  = dbus.ObjectPath("/org/freedesktop/login1")
	managerIface = "org.freedesktop.login1.Manager"
	sessionIface = "org.freedesktop.login1.Session"
	sessionPaths = dbus.ObjectPath("/org/freedesktop/login1/session")
	propsIface   = "org.freedesktop.DBus.Properties"
)

// End is a session's end: whose, and why ("logout" or "screen lock").
type End struct {
	UID uint32
	Why string
}

// Watcher follows one connection to logind.
type Watcher struct {
	conn *dbus.Conn
	log  *slog.Logger
	end  func(End)

	mu     sync.Mutex
	byPath map[dbus.ObjectPath]session
}

type session struct {
	id  string
	uid uint32
}

// Connect opens a private connection to the bus at addr (the system bus
// when ""), subscribes to the session signals and reads the sessions
// there are. ctx bounds the connecting.
func Connect(ctx context.Context, addr string, log *slog.Logger, end func(End)) (*Watcher, error) {
	if addr == "" {
		addr = systemBusAddress()
	}
	conn, err := dbusdial.Dial(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("connect to the system bus %s: %w", addr, err)
	}
	w := &Watcher{conn: conn, log: log, end: end, byPath: map[dbus.ObjectPath]session{}}
	if err := w.subscribe(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("logind on %s: %w", addr, err)
	}
	return w, nil
}

// systemBusAddress is $DBUS_SYSTEM_BUS_ADDRESS or the standard socket.
func systemBusAddress() string {
	if a := os.Getenv("DBUS_SYSTEM_BUS_ADDRESS"); a != "" {
		return a
	}
	return "unix:path=/var/run/dbus/system_bus_socket"
}

func (w *Watcher) subscribe(ctx context.Context) error {
	matches := [][]dbus.MatchOption{
		{dbus.WithMatchSender(busName), dbus.WithMatchInterface(managerIface), dbus.WithMatchMember("SessionNew")},
		{dbus.WithMatchSender(busName), dbus.WithMatchInterface(managerIface), dbus.WithMatchMember("SessionRemoved")},
		{dbus.WithMatchSender(busName), dbus.WithMatchInterface(sessionIface), dbus.WithMatchMember("Lock")},
		{dbus.WithMatchSender(busName), dbus.WithMatchInterface(propsIface), dbus.WithMatchMember("PropertiesChanged"),
			dbus.WithMatchPathNamespace(sessionPaths)},
	}
	for _, m := range matches {
		if err := w.conn.AddMatchSignalContext(ctx, m...); err != nil {
			return fmt.Errorf("subscribe to session signals: %w", err)
		}
	}
	// After subscribing, so a session that starts meanwhile is in one or
	// the other.
	var list []struct {
		ID   string
		UID  uint32
		User string
		Seat string
		Path dbus.ObjectPath
	}
	if err := w.conn.Object(busName, managerPath).CallWithContext(ctx, managerIface+".ListSessions", 0).Store(&list); err != nil {
		return fmt.Errorf("list sessions: %w", err)
	}
	w.mu.Lock()
	for _, s := range list {
		w.byPath[s.Path] = session{id: s.ID, uid: s.UID}
	}
	w.mu.Unlock()
	return nil
}

// Sessions is how many sessions the watcher knows.
func (w *Watcher) Sessions() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.byPath)
}

// Run calls end for each session end until ctx ends or the connection
// breaks (an error: connect again).
func (w *Watcher) Run(ctx context.Context) error {
	defer w.conn.Close()
	sigs := make(chan *dbus.Signal, 64)
	w.conn.Signal(sigs)
	for {
		select {
		case <-ctx.Done():
			return nil
		case sig, ok := <-sigs:
			if !ok || sig == nil {
				return errors.New("the system bus connection closed")
			}
			w.handle(ctx, sig)
		}
	}
}

func (w *Watcher) handle(ctx context.Context, sig *dbus.Signal) {
	switch sig.Name {
	case managerIface + ".SessionNew":
		var id string
		var path dbus.ObjectPath
		if dbus.Store(sig.Body, &id, &path) != nil {
			return
		}
		// The signal has no uid: ask the session (a slow answer
		// delays only the signals after it, 5 s at most).
		uid, err := w.userOf(ctx, path)
		if err != nil {
			w.log.Warn("logind: a new session's user not read; its end will not end an admin session", "session", id, "err", err)
			return
		}
		w.mu.Lock()
		w.byPath[path] = session{id: id, uid: uid}
		w.mu.Unlock()
	case managerIface + ".SessionRemoved":
		var id string
		var path dbus.ObjectPath
		if dbus.Store(sig.Body, &id, &path) != nil {
			return
		}
		w.mu.Lock()
		s, ok := w.byPath[path]
		delete(w.byPath, path)
		w.mu.Unlock()
		if ok {
			w.end(End{UID: s.uid, Why: "logout"})
		}
	case sessionIface + ".Lock":
		w.locked(sig.Path)
	case propsIface + ".PropertiesChanged":
		var iface string
		var changed map[string]dbus.Variant
		var invalidated []string
		if dbus.Store(sig.Body, &iface, &changed, &invalidated) != nil || iface != sessionIface {
			return
		}
		if v, ok := changed["LockedHint"]; ok {
			if b, ok := v.Value().(bool); ok && b {
				w.locked(sig.Path)
			}
		}
	}
}

func (w *Watcher) locked(path dbus.ObjectPath) {
	w.mu.Lock()
	s, ok := w.byPath[path]
	w.mu.Unlock()
	if ok {
		w.end(End{UID: s.uid, Why: "screen lock"})
	}
}

// userOf reads a session's User property, (uid, object path).
func (w *Watcher) userOf(ctx context.Context, path dbus.ObjectPath) (uint32, error) {
	if !strings.HasPrefix(string(path), string(sessionPaths)+"/") {
		return 0, fmt.Errorf("%s is not a session's path", path)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var v dbus.Variant
	if err := w.conn.Object(busName, path).CallWithContext(ctx, propsIface+".Get", 0, sessionIface, "User").Store(&v); err != nil {
		return 0, err
	}
	var user struct {
		UID  uint32
		Path dbus.ObjectPath
	}
	if err := dbus.Store([]any{v.Value()}, &user); err != nil {
		return 0, fmt.Errorf("the session's User %v: %w", v, err)
	}
	return user.UID, nil
}

// Follow keeps a watcher running until ctx ends: it connects, runs, and
// connects again after a failure (every retry apart; logged once until it
// works), so logind or the bus may start after gatehoused.
func Follow(ctx context.Context, addr string, retry time.Duration, log *slog.Logger, end func(End)) {
	warned := false
	for ctx.Err() == nil {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		w, err := Connect(cctx, addr, log, end)
		cancel()
		if err == nil {
			log.Info("logind: following sessions; admin sessions end at logout and screen lock", "sessions", w.Sessions())
			warned = false
			err = w.Run(ctx)
		}
		if ctx.Err() != nil {
			return
		}
		if !warned {
			log.Warn("logind not followed; admin sessions end at their time and when their users end them, not at logout or screen lock (retrying)",
				"err", err, "retry", retry)
			warned = true
		}
		select {
		case <-ctx.Done():
		case <-time.After(retry):
		}
	}
}
