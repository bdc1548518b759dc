package alerts

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/ebitengine/purego/objc"

	"github.com/gatehouse/gatehouse/internal/mainthread"
)

// The macOS dismisser: the AppleScript of Script run by NSAppleScript on
// the main thread (internal/mainthread: AppKit requires it, and the agent's
// main thread belongs to Wails), after asking
// the Apple Event manager whether the agent may control System Events.
// Built and vetted on Linux; not yet run on a Mac.

// scriptTimeout bounds the script's wait on System Events; the Go side
// gives up a second later.
const scriptTimeout = 3 * time.Second

// New returns the dismisser.
func New() Dismisser { return appleScript{} }

type appleScript struct{}

// errAEEventNotPermitted is the Apple Event manager's "not permitted"
// (the user or a profile refused Automation of System Events).
const errAEEventNotPermitted = -1743

func (appleScript) Dismiss(ctx context.Context, app string) error {
	if err := load(); err != nil {
		return err
	}
	if automationStatus() != errAEEventNotPermitted {
		err := runBounded(ctx, app)
		if !errors.Is(err, ErrNotPermitted) {
			return err
		}
	}
	// Automation refused: the Accessibility fallback, if trusted.
	if !axTrusted() {
		return ErrNotPermitted
	}
	done := make(chan error, 1)
	go func() { done <- axDismiss(app) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// runBounded runs the dismissal script on the main thread and waits for
// it at most scriptTimeout and a second.
func runBounded(ctx context.Context, app string) error {
	ctx, cancel := context.WithTimeout(ctx, scriptTimeout+time.Second)
	defer cancel()
	res := make(chan scriptResult, 1)
	if err := mainthread.Run(func() { res <- runScript(Script(app, int(scriptTimeout/time.Second))) }); err != nil {
		return err
	}
	select {
	case r := <-res:
		if r.errNumber == errAEEventNotPermitted {
			return ErrNotPermitted
		}
		if r.err != nil {
			return r.err
		}
		return Result(r.out)
	case <-ctx.Done():
		return fmt.Errorf("the dismissal script did not finish: %w", ctx.Err())
	}
}

// The Objective-C and C calls, bound once.
var (
	loadOnce sync.Once
	loadErr  error

	aeCreateDesc  func(typeCode uint32, data unsafe.Pointer, size int, desc *aeDesc) int16
	aeDisposeDesc func(desc *aeDesc) int16
	aePermission  func(target *aeDesc, class, id uint32, ask bool) int32

	selAlloc, selInitWithSource, selExecute, selStringValue, selUTF8, selRelease objc.SEL
	selStringWithUTF8, selObjectForKey, selIntValue                              objc.SEL
)

// aeDesc is AEDesc: a DescType and a data handle.
type aeDesc struct {
	descriptorType uint32
	_              uint32
	dataHandle     unsafe.Pointer
}

func load() error {
	loadOnce.Do(func() {
		if _, err := purego.Dlopen("/System/Library/Frameworks/Foundation.framework/Foundation", purego.RTLD_NOW|purego.RTLD_GLOBAL); err != nil {
			loadErr = fmt.Errorf("load Foundation: %w", err)
			return
		}
		cs, err := purego.Dlopen("/System/Library/Frameworks/CoreServices.framework/CoreServices", purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			loadErr = fmt.Errorf("load CoreServices: %w", err)
			return
		}
		purego.RegisterLibFunc(&aeCreateDesc, cs, "AECreateDesc")
		purego.RegisterLibFunc(&aeDisposeDesc, cs, "AEDisposeDesc")
		purego.RegisterLibFunc(&aePermission, cs, "AEDeterminePermissionToAutomateTarget")

		selAlloc = objc.RegisterName("alloc")
		selInitWithSource = objc.RegisterName("initWithSource:")
		selExecute = objc.RegisterName("executeAndReturnError:")
		selStringValue = objc.RegisterName("stringValue")
		selUTF8 = objc.RegisterName("UTF8String")
		selRelease = objc.RegisterName("release")
		selStringWithUTF8 = objc.RegisterName("stringWithUTF8String:")
		selObjectForKey = objc.RegisterName("objectForKey:")
		selIntValue = objc.RegisterName("intValue")
	})
	return loadErr
}

// automationStatus asks, without prompting, whether the agent may send
// Apple Events to System Events: 0 yes, -1743 refused, -1744 not yet
// asked (the script's first run asks), -600 System Events not running.
func automationStatus() int32 {
	id := []byte("com.apple.systemevents")
	var d aeDesc
	const typeApplicationBundleID, typeWildCard = 0x62756e64, 0x2a2a2a2a // 'bund', '****'
	if aeCreateDesc(typeApplicationBundleID, unsafe.Pointer(&id[0]), len(id), &d) != 0 {
		return 0 // unknown: let the script try
	}
	defer aeDisposeDesc(&d)
	return aePermission(&d, typeWildCard, typeWildCard, false)
}

type scriptResult struct {
	out       string
	errNumber int32
	err       error
}

// runScript compiles and runs source with NSAppleScript (main thread).
func runScript(source string) scriptResult {
	str := objc.ID(objc.GetClass("NSString")).Send(selStringWithUTF8, source)
	script := objc.ID(objc.GetClass("NSAppleScript")).Send(selAlloc).Send(selInitWithSource, str)
	if script == 0 {
		return scriptResult{err: errors.New("NSAppleScript refused the dismissal script")}
	}
	defer script.Send(selRelease)
	var errInfo objc.ID
	desc := script.Send(selExecute, unsafe.Pointer(&errInfo))
	if desc == 0 {
		n := int32(0)
		if errInfo != 0 {
			key := objc.ID(objc.GetClass("NSString")).Send(selStringWithUTF8, "NSAppleScriptErrorNumber")
			if num := errInfo.Send(selObjectForKey, key); num != 0 {
				n = objc.Send[int32](num, selIntValue)
			}
		}
		return scriptResult{errNumber: n, err: fmt.Errorf("the dismissal script failed (AppleScript error %d)", n)}
	}
	s := desc.Send(selStringValue)
	if s == 0 {
		return scriptResult{}
	}
	return scriptResult{out: objc.Send[string](s, selUTF8)}
}
