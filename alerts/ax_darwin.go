package alerts

import (
	"fmt"
	"sync"

	"github.com/ebitengine/purego"
	"github.com/ebitengine/purego/objc"
)

// The Accessibility fallback's elements: AXUIElements of the alerting
// process (CoreServicesUIAgent), read through ApplicationServices and
// CoreFoundation by purego. Every CF object made or retained in one
// dismissal is released at its end (arena). Not yet run on a Mac.

var (
	axOnce sync.Once
	axErr  error

	axIsProcessTrusted    func() bool
	axCreateApplication   func(pid int32) uintptr
	axCopyAttributeValue  func(elem, attr uintptr, value *uintptr) int32
	axPerformAction       func(elem, action uintptr) int32
	axSetMessagingTimeout func(elem uintptr, seconds float32) int32

	cfStringCreate  func(alloc uintptr, s string, encoding uint32) uintptr
	cfStringGet     func(str uintptr, buf *byte, size int, encoding uint32) bool
	cfStringTypeID  func() uintptr
	cfArrayTypeID   func() uintptr
	cfGetTypeID     func(ref uintptr) uintptr
	cfArrayCount    func(arr uintptr) int
	cfArrayValueAt  func(arr uintptr, i int) uintptr
	cfRetain        func(ref uintptr) uintptr
	cfRelease       func(ref uintptr)
	selRunningApps  objc.SEL
	selFirstObject  objc.SEL
	selProcessIdent objc.SEL
)

const cfUTF8 = 0x08000100 // kCFStringEncodingUTF8

func loadAX() error {
	axOnce.Do(func() {
		as, err := purego.Dlopen("/System/Library/Frameworks/ApplicationServices.framework/ApplicationServices", purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			axErr = fmt.Errorf("load ApplicationServices: %w", err)
			return
		}
		cf, err := purego.Dlopen("/System/Library/Frameworks/CoreFoundation.framework/CoreFoundation", purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err != nil {
			axErr = fmt.Errorf("load CoreFoundation: %w", err)
			return
		}
		if _, err := purego.Dlopen("/System/Library/Frameworks/AppKit.framework/AppKit", purego.RTLD_NOW|purego.RTLD_GLOBAL); err != nil {
			axErr = fmt.Errorf("load AppKit: %w", err)
			return
		}
		purego.RegisterLibFunc(&axIsProcessTrusted, as, "AXIsProcessTrusted")
		purego.RegisterLibFunc(&axCreateApplication, as, "AXUIElementCreateApplication")
		purego.RegisterLibFunc(&axCopyAttributeValue, as, "AXUIElementCopyAttributeValue")
		purego.RegisterLibFunc(&axPerformAction, as, "AXUIElementPerformAction")
		purego.RegisterLibFunc(&axSetMessagingTimeout, as, "AXUIElementSetMessagingTimeout")
		purego.RegisterLibFunc(&cfStringCreate, cf, "CFStringCreateWithCString")
		purego.RegisterLibFunc(&cfStringGet, cf, "CFStringGetCString")
		purego.RegisterLibFunc(&cfStringTypeID, cf, "CFStringGetTypeID")
		purego.RegisterLibFunc(&cfArrayTypeID, cf, "CFArrayGetTypeID")
		purego.RegisterLibFunc(&cfGetTypeID, cf, "CFGetTypeID")
		purego.RegisterLibFunc(&cfArrayCount, cf, "CFArrayGetCount")
		purego.RegisterLibFunc(&cfArrayValueAt, cf, "CFArrayGetValueAtIndex")
		purego.RegisterLibFunc(&cfRetain, cf, "CFRetain")
		purego.RegisterLibFunc(&cfRelease, cf, "CFRelease")
		selRunningApps = objc.RegisterName("runningApplicationsWithBundleIdentifier:")
		selFirstObject = objc.RegisterName("firstObject")
		selProcessIdent = objc.RegisterName("processIdentifier")
	})
	return axErr
}

// axTrusted reports whether the agent may use Accessibility (without
// prompting).
func axTrusted() bool { return loadAX() == nil && axIsProcessTrusted() }

// arena releases what one dismissal made or retained.
type arena struct{ refs []uintptr }

func (a *arena) keep(ref uintptr) uintptr {
	if ref != 0 {
		a.refs = append(a.refs, ref)
	}
	return ref
}

func (a *arena) release() {
	for _, r := range a.refs {
		cfRelease(r)
	}
}

func (a *arena) str(s string) uintptr { return a.keep(cfStringCreate(0, s, cfUTF8)) }

type axElement struct {
	ref uintptr
	a   *arena
}

func (e axElement) attr(name string) uintptr {
	var v uintptr
	if axCopyAttributeValue(e.ref, e.a.str(name), &v) != 0 {
		return 0
	}
	return e.a.keep(v)
}

func (e axElement) text(name string) string {
	v := e.attr(name)
	if v == 0 || cfGetTypeID(v) != cfStringTypeID() {
		return ""
	}
	buf := make([]byte, 1024)
	if !cfStringGet(v, &buf[0], len(buf), cfUTF8) {
		return ""
	}
	n := 0
	for n < len(buf) && buf[n] != 0 {
		n++
	}
	return string(buf[:n])
}

func (e axElement) Role() string  { return e.text("AXRole") }
func (e axElement) Value() string { return e.text("AXValue") }

func (e axElement) Children() []element { return e.list("AXChildren") }

func (e axElement) list(name string) []element {
	arr := e.attr(name)
	if arr == 0 || cfGetTypeID(arr) != cfArrayTypeID() {
		return nil
	}
	n := min(cfArrayCount(arr), maxNodes)
	out := make([]element, 0, n)
	for i := range n {
		out = append(out, axElement{ref: e.a.keep(cfRetain(cfArrayValueAt(arr, i))), a: e.a})
	}
	return out
}

func (e axElement) CancelButton() element {
	if b := e.attr("AXCancelButton"); b != 0 {
		return axElement{ref: b, a: e.a}
	}
	return nil
}

func (e axElement) Press() error {
	if r := axPerformAction(e.ref, e.a.str("AXPress")); r != 0 {
		return fmt.Errorf("AXPress failed (%d)", r)
	}
	return nil
}

// axDismiss presses the button of the alert naming app in
// CoreServicesUIAgent's windows, each Accessibility call bounded to a
// second.
func axDismiss(app string) error {
	if err := loadAX(); err != nil {
		return err
	}
	apps := objc.ID(objc.GetClass("NSRunningApplication")).Send(selRunningApps, objc.ID(objc.GetClass("NSString")).Send(objc.RegisterName("stringWithUTF8String:"), "com.apple.coreservices.uiagent"))
	first := apps.Send(selFirstObject)
	if first == 0 {
		return ErrNoAlert
	}
	pid := objc.Send[int32](first, selProcessIdent)
	a := &arena{}
	defer a.release()
	root := axElement{ref: a.keep(axCreateApplication(pid)), a: a}
	axSetMessagingTimeout(root.ref, 1)
	return pressAlert(root.list("AXWindows"), app)
}
