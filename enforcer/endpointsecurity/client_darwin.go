//go:build darwin

package endpointsecurity

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/ebitengine/purego/objc"
)

// The Endpoint Security client through purego (no cgo): libEndpointSecurity
// for the client, libSystem for mach time. Not yet run on a Mac
// (docs/enforcer.md, "macOS"); scripts/test-macos is where it will be.

// lib is libEndpointSecurity's calls the client makes.
type lib struct {
	newClient      func(client *unsafe.Pointer, handler objc.Block) int32
	subscribe      func(client unsafe.Pointer, events *EventType, count uint32) int32
	respondAuth    func(client unsafe.Pointer, msg unsafe.Pointer, result uint32, cache bool) int32
	retain         func(msg unsafe.Pointer)
	release        func(msg unsafe.Pointer)
	mutePath       func(client unsafe.Pointer, path string, kind uint32) int32
	invertMuting   func(client unsafe.Pointer, kind uint32) int32
	clearCache     func(client unsafe.Pointer) int32
	unsubscribeAll func(client unsafe.Pointer) int32
	deleteClient   func(client unsafe.Pointer) int32
	execArgCount   func(event unsafe.Pointer) uint32
	execArg        func(event unsafe.Pointer, i uint32) esStringToken
	timebase       func(info *Timebase) int32
	machNow        func() uint64
}

var (
	libOnce sync.Once
	libES   *lib
	libErr  error
)

func load() (*lib, error) {
	libOnce.Do(func() {
		es, err := purego.Dlopen("/usr/lib/libEndpointSecurity.dylib", purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			libErr = fmt.Errorf("load libEndpointSecurity (macOS 10.15 or later): %w", err)
			return
		}
		sys, err := purego.Dlopen("/usr/lib/libSystem.B.dylib", purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			libErr = fmt.Errorf("load libSystem: %w", err)
			return
		}
		l := &lib{}
		for _, f := range []struct {
			fn   any
			h    uintptr
			name string
		}{
			{&l.newClient, es, "es_new_client"},
			{&l.subscribe, es, "es_subscribe"},
			{&l.respondAuth, es, "es_respond_auth_result"},
			{&l.retain, es, "es_retain_message"},
			{&l.release, es, "es_release_message"},
			{&l.mutePath, es, "es_mute_path"},
			{&l.invertMuting, es, "es_invert_muting"},
			{&l.clearCache, es, "es_clear_cache"},
			{&l.unsubscribeAll, es, "es_unsubscribe_all"},
			{&l.deleteClient, es, "es_delete_client"},
			{&l.execArgCount, es, "es_exec_arg_count"},
			{&l.execArg, es, "es_exec_arg"},
			{&l.timebase, sys, "mach_timebase_info"},
			{&l.machNow, sys, "mach_absolute_time"},
		} {
			if _, err := purego.Dlsym(f.h, f.name); err != nil {
				libErr = fmt.Errorf("%s: %w", f.name, err)
				return
			}
			purego.RegisterLibFunc(f.fn, f.h, f.name)
		}
		libES = l
	})
	return libES, libErr
}

// Client is one Endpoint Security client.
type Client struct {
	l      *lib
	c      unsafe.Pointer
	block  objc.Block
	tb     Timebase
	handle func(*Event)
	closed atomic.Bool

	decodeErrors atomic.Uint64
}

// Event is one message, retained until answered (AUTH) or handled
// (NOTIFY).
type Event struct {
	Message
	c        *Client
	raw      unsafe.Pointer
	answered atomic.Bool
}

// Open creates a client whose handler gets every message of events,
// subscribes, and mutes the daemon's own executable. With targets, the
// client gets only messages whose target path is below one of them
// (es_invert_muting of target paths, macOS 13): Endpoint Security then
// delivers an event with two paths when either is, as Apple documents it
// (not yet seen on a Mac). handle runs on Endpoint Security's queue and
// must not block: an AUTH event is answered later with Respond, from any
// goroutine.
func Open(events []EventType, targets []string, handle func(*Event)) (*Client, error) {
	l, err := load()
	if err != nil {
		return nil, err
	}
	c := &Client{l: l, handle: handle}
	if r := l.timebase(&c.tb); r != 0 || c.tb.Denom == 0 {
		return nil, fmt.Errorf("mach_timebase_info: %d", r)
	}
	c.block = objc.NewBlock(func(_ objc.Block, _ unsafe.Pointer, msg unsafe.Pointer) { c.message(msg) })
	if r := l.newClient(&c.c, c.block); r != newClientSuccess {
		c.block.Release()
		return nil, NewClientError(int(r))
	}
	if exe, err := os.Executable(); err == nil {
		if r := l.mutePath(c.c, exe, mutePathLiteral); r != returnSuccess {
			c.Close()
			return nil, fmt.Errorf("es_mute_path %s: failed (%d)", exe, r)
		}
	}
	if len(targets) > 0 {
		if r := l.invertMuting(c.c, muteInversionTargetPath); r != returnSuccess {
			c.Close()
			return nil, fmt.Errorf("es_invert_muting of target paths: failed (%d); it needs macOS 13 or later", r)
		}
		for _, t := range targets {
			if r := l.mutePath(c.c, t, mutePathTargetPrefix); r != returnSuccess {
				c.Close()
				return nil, fmt.Errorf("es_mute_path %s (target prefix): failed (%d)", t, r)
			}
		}
	}
	if len(events) > 0 {
		if r := l.subscribe(c.c, &events[0], uint32(len(events))); r != returnSuccess {
			c.Close()
			return nil, fmt.Errorf("es_subscribe to %d event types: failed (%d)", len(events), r)
		}
	}
	return c, nil
}

// message is the handler block's body.
func (c *Client) message(msg unsafe.Pointer) {
	m, err := Decode(msg)
	if err != nil {
		c.decodeErrors.Add(1)
		// A message that cannot be read is allowed at once: there is
		// nothing to decide on, and an unanswered one kills the client.
		var mem messageMemory
		if a, aerr := mem.bytes(msg, offMessageActionType, 4); aerr == nil && ActionType(le.Uint32(a)) == ActionAuth {
			c.l.respondAuth(c.c, msg, authResultAllow, false)
		}
		return
	}
	if m.Action == ActionNotify {
		c.handle(&Event{Message: m, c: c, raw: msg})
		return
	}
	c.l.retain(msg)
	c.handle(&Event{Message: m, c: c, raw: msg})
}

// DecodeErrors counts messages that could not be decoded (and were
// allowed).
func (c *Client) DecodeErrors() uint64 { return c.decodeErrors.Load() }

// Deadline is when the kernel needs the answer, in wall-clock time.
func (e *Event) Deadline() time.Time {
	return DeadlineTime(e.Message.Deadline, e.c.l.machNow(), e.c.tb, time.Now())
}

// maxArgs bounds what Args reads, as on Linux.
const (
	maxArgs      = 4096
	maxArgsBytes = 256 << 10
)

// Args reads argv of an exec event (nil for another event, or once the
// event is answered).
func (e *Event) Args() []string {
	if e.Exec == nil || e.answered.Load() {
		return nil
	}
	ev := unsafe.Add(e.raw, offMessageEvent)
	n := e.c.l.execArgCount(ev)
	out := make([]string, 0, min(n, maxArgs))
	total := 0
	for i := uint32(0); i < n && i < maxArgs; i++ {
		t := e.c.l.execArg(ev, i)
		if t.length > maxArgsBytes-uintptr(total) || t.data == nil && t.length > 0 {
			break
		}
		out = append(out, string(unsafe.Slice((*byte)(t.data), t.length)))
		total += int(t.length)
	}
	return out
}

// Respond answers an AUTH event and releases it. cache lets the kernel
// remember the answer for the file.
func (e *Event) Respond(allow, cache bool) error {
	if e.Action != ActionAuth {
		return errors.New("endpoint security: a NOTIFY message has no answer")
	}
	if !e.answered.CompareAndSwap(false, true) {
		return errors.New("endpoint security: message answered twice")
	}
	if e.c.closed.Load() {
		return errors.New("endpoint security: client closed; the kernel answered for it")
	}
	res := uint32(authResultDeny)
	if allow {
		res = authResultAllow
	}
	r := e.c.l.respondAuth(e.c.c, e.raw, res, cache)
	e.c.l.release(e.raw)
	if r != respondSuccess {
		return fmt.Errorf("es_respond_auth_result: %d", r)
	}
	return nil
}

// ClearCache drops every answer the kernel remembers (after a policy
// change).
func (c *Client) ClearCache() error {
	if r := c.l.clearCache(c.c); r != 0 {
		return fmt.Errorf("es_clear_cache: %d", r)
	}
	return nil
}

// Close unsubscribes and deletes the client; messages not yet answered
// are answered by the kernel.
func (c *Client) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	c.l.unsubscribeAll(c.c)
	r := c.l.deleteClient(c.c)
	c.block.Release()
	if r != returnSuccess {
		return fmt.Errorf("es_delete_client: %d", r)
	}
	return nil
}
