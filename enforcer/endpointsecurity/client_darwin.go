//go:build darwin

package endpointsecurity

import (
	"fmt"
	"os"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/ebitengine/purego/objc"
)

// The Endpoint Security client through purego (no cgo): libEndpointSecurity
// for the client, libSystem for mach time. Not yet run on a Mac
// (docs/enforcer.md, "macOS"); scripts/test-macos is where it will be.

// calls is libEndpointSecurity's calls the client makes, bound by purego.
type calls struct {
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
	libES   *calls
	libErr  error
)

func load() (*calls, error) {
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
		l := &calls{}
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

// esLib is lib over the purego calls.
type esLib struct {
	messageMemory
	l *calls
}

func (e esLib) newClient(handler func(msg unsafe.Pointer)) (unsafe.Pointer, func(), int) {
	block := objc.NewBlock(func(_ objc.Block, _ unsafe.Pointer, msg unsafe.Pointer) { handler(msg) })
	var c unsafe.Pointer
	r := e.l.newClient(&c, block)
	return c, block.Release, int(r)
}

func (e esLib) subscribe(c unsafe.Pointer, events []EventType) int {
	return int(e.l.subscribe(c, &events[0], uint32(len(events))))
}

func (e esLib) respond(c, msg unsafe.Pointer, result uint32, cache bool) int {
	return int(e.l.respondAuth(c, msg, result, cache))
}

func (e esLib) retain(msg unsafe.Pointer)  { e.l.retain(msg) }
func (e esLib) release(msg unsafe.Pointer) { e.l.release(msg) }
func (e esLib) mutePath(c unsafe.Pointer, path string, kind uint32) int {
	return int(e.l.mutePath(c, path, kind))
}
func (e esLib) invertMuting(c unsafe.Pointer, kind uint32) int { return int(e.l.invertMuting(c, kind)) }
func (e esLib) clearCache(c unsafe.Pointer) int                { return int(e.l.clearCache(c)) }
func (e esLib) unsubscribeAll(c unsafe.Pointer) int            { return int(e.l.unsubscribeAll(c)) }
func (e esLib) deleteClient(c unsafe.Pointer) int              { return int(e.l.deleteClient(c)) }

func (e esLib) execArgCount(msg unsafe.Pointer) uint32 {
	return e.l.execArgCount(unsafe.Add(msg, offMessageEvent))
}

func (e esLib) execArg(msg unsafe.Pointer, i uint32) (uint64, unsafe.Pointer) {
	t := e.l.execArg(unsafe.Add(msg, offMessageEvent), i)
	return uint64(t.length), t.data
}

func (e esLib) timebase() (Timebase, bool) {
	var tb Timebase
	return tb, e.l.timebase(&tb) == 0
}

func (e esLib) machNow() uint64 { return e.l.machNow() }

// Client is one Endpoint Security client; Event one of its messages.
type (
	Client = conn[unsafe.Pointer]
	Event  = event[unsafe.Pointer]
)

// Open creates a client (see open) muting the daemon's own executable.
func Open(events []EventType, targets []string, handle func(*Event)) (*Client, error) {
	l, err := load()
	if err != nil {
		return nil, err
	}
	self, _ := os.Executable()
	return open[unsafe.Pointer](esLib{l: l}, self, events, targets, handle)
}
