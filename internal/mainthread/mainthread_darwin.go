package mainthread

import (
	"fmt"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

var (
	loadOnce sync.Once
	loadErr  error

	dispatchAsyncF func(queue uintptr, ctx unsafe.Pointer, fn uintptr)
	mainQueue      uintptr // &_dispatch_main_q: dispatch_get_main_queue()
	trampoline     uintptr

	mu     sync.Mutex
	queued []func()
)

func load() error {
	loadOnce.Do(func() {
		lib, err := purego.Dlopen("/usr/lib/libSystem.B.dylib", purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			loadErr = fmt.Errorf("load libSystem: %w", err)
			return
		}
		if mainQueue, err = purego.Dlsym(lib, "_dispatch_main_q"); err != nil {
			loadErr = fmt.Errorf("the main dispatch queue: %w", err)
			return
		}
		purego.RegisterLibFunc(&dispatchAsyncF, lib, "dispatch_async_f")
		// One callback for every queued function: purego's callbacks are
		// never freed, so none is made per call.
		trampoline = purego.NewCallback(func(unsafe.Pointer) { runNext() })
	})
	return loadErr
}

// Run queues f to run on the main thread and returns at once.
func Run(f func()) error {
	if err := load(); err != nil {
		return err
	}
	mu.Lock()
	queued = append(queued, f)
	mu.Unlock()
	dispatchAsyncF(mainQueue, nil, trampoline)
	return nil
}

// runNext runs the oldest queued function (each dispatch runs one).
func runNext() {
	mu.Lock()
	if len(queued) == 0 {
		mu.Unlock()
		return
	}
	f := queued[0]
	queued = queued[1:]
	mu.Unlock()
	f()
}
