package endpointsecurity

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// lib is libEndpointSecurity as the client uses it: on macOS the library
// itself through purego (client_darwin.go), in tests a fake that records
// the calls. R is a pointer into the kernel's memory (a client, a
// message), read through the embedded memory.
type lib[R comparable] interface {
	memory[R]
	// newClient creates a client whose handler gets every message; free
	// releases what the handler holds once the client is deleted.
	newClient(handler func(msg R)) (c R, free func(), result int)
	subscribe(c R, events []EventType) int
	respond(c, msg R, result uint32, cache bool) int
	retain(msg R)
	release(msg R)
	mutePath(c R, path string, kind uint32) int
	invertMuting(c R, kind uint32) int
	clearCache(c R) int
	unsubscribeAll(c R) int
	deleteClient(c R) int
	// execArgCount and execArg are es_exec_arg_count and es_exec_arg on
	// the exec event inside msg: an argument's length and its bytes.
	execArgCount(msg R) uint32
	execArg(msg R, i uint32) (n uint64, data R)
	timebase() (Timebase, bool)
	machNow() uint64
}

// conn is one Endpoint Security client over l.
type conn[R comparable] struct {
	l      lib[R]
	c      R
	free   func()
	tb     Timebase
	handle func(*event[R])
	closed atomic.Bool

	decodeErrors atomic.Uint64
}

// event is one message, retained until answered (AUTH) or handled
// (NOTIFY).
type event[R comparable] struct {
	Message
	c        *conn[R]
	raw      R
	answered atomic.Bool
}

// open creates a client whose handler gets every message of events,
// mutes the daemon's own executable self (es_mute_path, literal), then,
// with targets, inverts target-path muting and mutes each target prefix,
// so that only messages whose target path is below one of them arrive
// (es_invert_muting, macOS 13: an event with two paths arrives when
// either is below one, as Apple documents it), and subscribes last, so no
// message arrives before the muting is in place. handle runs on Endpoint
// Security's queue and must not block: an AUTH event is answered later
// with Respond, from any goroutine.
func open[R comparable](l lib[R], self string, events []EventType, targets []string, handle func(*event[R])) (*conn[R], error) {
	c := &conn[R]{l: l, handle: handle}
	tb, ok := l.timebase()
	if !ok || tb.Denom == 0 {
		return nil, errors.New("mach_timebase_info failed")
	}
	c.tb = tb
	cl, free, r := l.newClient(c.message)
	if r != newClientSuccess {
		if free != nil {
			free()
		}
		return nil, NewClientError(r)
	}
	c.c, c.free = cl, free
	fail := func(err error) (*conn[R], error) {
		c.Close()
		return nil, err
	}
	if self != "" {
		if r := l.mutePath(c.c, self, mutePathLiteral); r != returnSuccess {
			return fail(fmt.Errorf("es_mute_path %s: failed (%d)", self, r))
		}
	}
	if len(targets) > 0 {
		if r := l.invertMuting(c.c, muteInversionTargetPath); r != returnSuccess {
			return fail(fmt.Errorf("es_invert_muting of target paths: failed (%d); it needs macOS 13 or later", r))
		}
		for _, t := range targets {
			if r := l.mutePath(c.c, t, mutePathTargetPrefix); r != returnSuccess {
				return fail(fmt.Errorf("es_mute_path %s (target prefix): failed (%d)", t, r))
			}
		}
	}
	if len(events) > 0 {
		if r := l.subscribe(c.c, events); r != returnSuccess {
			return fail(fmt.Errorf("es_subscribe to %d event types: failed (%d)", len(events), r))
		}
	}
	return c, nil
}

// Subscribe adds events to what the client gets, keeping those it has
// (es_subscribe adds). It is for events an older macOS does not have:
// Apple documents only that es_subscribe fails when "the request was
// invalid", so one call naming an event type the running system does
// not know may fail as a whole, and open's subscription must not carry
// such events, or the client would not start there. A failure here
// leaves the client as it was.
func (c *conn[R]) Subscribe(events []EventType) error {
	if len(events) == 0 {
		return nil
	}
	if r := c.l.subscribe(c.c, events); r != returnSuccess {
		return fmt.Errorf("es_subscribe to event types %v: failed (%d)", events, r)
	}
	return nil
}

// message is the handler's body.
func (c *conn[R]) message(msg R) {
	m, err := decode[R](c.l, msg)
	if err != nil {
		c.decodeErrors.Add(1)
		// A message that cannot be read is allowed at once: there is
		// nothing to decide on, and an unanswered one kills the client.
		if a, aerr := c.l.bytes(msg, offMessageActionType, 4); aerr == nil && ActionType(le.Uint32(a)) == ActionAuth {
			c.l.respond(c.c, msg, authResultAllow, false)
		}
		return
	}
	if m.Action == ActionAuth {
		c.l.retain(msg)
	}
	c.handle(&event[R]{Message: m, c: c, raw: msg})
}

// DecodeErrors counts messages that could not be decoded (and were
// allowed).
func (c *conn[R]) DecodeErrors() uint64 { return c.decodeErrors.Load() }

// ClearCache drops every answer the kernel remembers (after a policy
// change).
func (c *conn[R]) ClearCache() error {
	if r := c.l.clearCache(c.c); r != 0 {
		return fmt.Errorf("es_clear_cache: %d", r)
	}
	return nil
}

// Close unsubscribes and deletes the client; messages not yet answered
// are answered by the kernel.
func (c *conn[R]) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	c.l.unsubscribeAll(c.c)
	r := c.l.deleteClient(c.c)
	if c.free != nil {
		c.free()
	}
	if r != returnSuccess {
		return fmt.Errorf("es_delete_client: %d", r)
	}
	return nil
}

// Deadline is when the kernel needs the answer, in wall-clock time.
func (e *event[R]) Deadline() time.Time {
	return DeadlineTime(e.Message.Deadline, e.c.l.machNow(), e.c.tb, time.Now())
}

// maxArgs bounds what Args reads, as on Linux.
const (
	maxArgs      = 4096
	maxArgsBytes = 256 << 10
)

// Args reads argv of an exec event (nil for another event, or once the
// event is answered and released), at most maxArgs arguments and
// maxArgsBytes in all.
func (e *event[R]) Args() []string {
	if e.Exec == nil || e.answered.Load() {
		return nil
	}
	l := e.c.l
	n := l.execArgCount(e.raw)
	out := make([]string, 0, min(n, maxArgs))
	total := uint64(0)
	var null R
	for i := uint32(0); i < n && i < maxArgs; i++ {
		size, data := l.execArg(e.raw, i)
		if size > maxArgsBytes-total || data == null && size > 0 {
			break
		}
		var b []byte
		if size > 0 {
			var err error
			if b, err = l.bytes(data, 0, int(size)); err != nil {
				break
			}
		}
		out = append(out, string(b))
		total += size
	}
	return out
}

// Respond answers an AUTH event, once, and releases it. cache lets the
// kernel remember the answer for the file.
func (e *event[R]) Respond(allow, cache bool) error {
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
	r := e.c.l.respond(e.c.c, e.raw, res, cache)
	e.c.l.release(e.raw)
	if r != respondSuccess {
		return fmt.Errorf("es_respond_auth_result: %d", r)
	}
	return nil
}
