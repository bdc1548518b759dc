//go:build darwin

package notifications

// UNUserNotificationCenter through purego's Objective-C runtime, without
// cgo.
//
// NOT EXERCISED ON A MAC. This file builds and vets for darwin/arm64 and
// darwin/amd64 on Linux; it has never run. What has to be checked on a Mac
// (docs/notifications.md lists it): that the agent bundle is granted
// notifications, that the delegate receives clicks, buttons and dismissals
// (also when a click launches the agent), that willPresent shows banners
// while the agent is frontmost, and that completion blocks are invoked
// correctly through blockLiteral. The mapping of responses and category
// names lives in apple.go and is tested everywhere.

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/ebitengine/purego/objc"
	"github.com/gen2brain/beeep"
)

func newPlatform(opts Options) (Notifier, error) {
	c, err := newUNCenter(opts)
	if err != nil {
		opts.Logger.Warn("notifications: clicks and buttons are unavailable; notifications are shown without them", "reason", err)
		return &beeepNotifier{opts: opts, responses: make(chan Response)}, nil
	}
	return c, nil
}

var (
	loadOnce sync.Once
	loadErr  error
	delegate objc.ID
	active   atomic.Pointer[unCenter] // the center the delegate reports to

	sel = objc.RegisterName
)

// blockLiteral is the start of every Objective-C block (clang's Block ABI):
// the completion handlers the delegate receives are called through invoke.
type blockLiteral struct {
	isa        uintptr
	flags      int32
	reserved   int32
	invoke     uintptr
	descriptor uintptr
}

// load opens the frameworks and registers the delegate class, once per
// process (classes and callbacks cannot be freed).
func load() error {
	loadOnce.Do(func() {
		for _, f := range []string{
			"/System/Library/Frameworks/Foundation.framework/Foundation",
			"/System/Library/Frameworks/UserNotifications.framework/UserNotifications",
		} {
			if _, err := purego.Dlopen(f, purego.RTLD_GLOBAL|purego.RTLD_NOW); err != nil {
				loadErr = fmt.Errorf("load %s: %w", f, err)
				return
			}
		}
		cls, err := objc.RegisterClass("GatehouseNotificationDelegate", objc.GetClass("NSObject"),
			[]*objc.Protocol{objc.GetProtocol("UNUserNotificationCenterDelegate")}, nil,
			[]objc.MethodDef{
				{Cmd: sel("userNotificationCenter:didReceiveNotificationResponse:withCompletionHandler:"), Fn: didReceive},
				{Cmd: sel("userNotificationCenter:willPresentNotification:withCompletionHandler:"), Fn: willPresent},
			})
		if err != nil {
			loadErr = fmt.Errorf("register notification delegate: %w", err)
			return
		}
		delegate = objc.ID(cls).Send(sel("alloc")).Send(sel("init"))
	})
	return loadErr
}

// didReceive is the delegate's response callback: map it and call the
// completion handler, which the system requires.
func didReceive(_ objc.ID, _ objc.SEL, _, response objc.ID, done *blockLiteral) {
	req := response.Send(sel("notification")).Send(sel("request"))
	info := req.Send(sel("content")).Send(sel("userInfo"))
	r := appleResponse(goString(response.Send(sel("actionIdentifier"))), goString(req.Send(sel("identifier"))),
		map[string]string{
			userInfoID:      goString(info.Send(sel("objectForKey:"), nsString(userInfoID))),
			userInfoPayload: goString(info.Send(sel("objectForKey:"), nsString(userInfoPayload))),
		})
	if c := active.Load(); c != nil {
		c.emit(r)
	}
	purego.SyscallN(done.invoke, uintptr(unsafe.Pointer(done)))
}

// willPresent shows notifications while the agent is frontmost (its dialog
// is often open); without it macOS drops them silently.
func willPresent(_ objc.ID, _ objc.SEL, _, _ objc.ID, done *blockLiteral) {
	const banner, list, sound = 1 << 4, 1 << 3, 1 << 1
	purego.SyscallN(done.invoke, uintptr(unsafe.Pointer(done)), banner|list|sound)
}

func nsString(s string) objc.ID {
	return objc.ID(objc.GetClass("NSString")).Send(sel("stringWithUTF8String:"), s)
}

func goString(id objc.ID) string {
	if id == 0 {
		return ""
	}
	return objc.Send[string](id, sel("UTF8String"))
}

// withPool runs f on one OS thread inside an autorelease pool: calls from
// Go threads have none, and autoreleased objects would leak.
func withPool(f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pool := objc.ID(objc.GetClass("NSAutoreleasePool")).Send(sel("new"))
	defer pool.Send(sel("drain"))
	f()
}

type unCenter struct {
	opts   Options
	center objc.ID

	mu         sync.Mutex
	closed     bool
	responses  chan Response
	categories map[string]objc.ID // registered, retained
}

func newUNCenter(opts Options) (*unCenter, error) {
	if err := load(); err != nil {
		return nil, err
	}
	c := &unCenter{opts: opts, responses: make(chan Response, responseBuffer), categories: map[string]objc.ID{}}
	var err error
	withPool(func() {
		// currentNotificationCenter raises an exception, which would abort
		// the process, outside an app bundle.
		bundle := objc.ID(objc.GetClass("NSBundle")).Send(sel("mainBundle"))
		if bundle.Send(sel("bundleIdentifier")) == 0 {
			err = errors.New("not running from an app bundle: UNUserNotificationCenter needs a bundle identifier")
			return
		}
		c.center = objc.ID(objc.GetClass("UNUserNotificationCenter")).Send(sel("currentNotificationCenter"))
		c.center.Send(sel("setDelegate:"), delegate)
		const alert, sound = 1 << 2, 1 << 1
		auth := objc.NewBlock(func(_ objc.Block, granted bool, nserr objc.ID) {
			if !granted {
				opts.Logger.Warn("notifications: the user or a profile has not allowed Gatehouse's notifications", "err", describe(nserr))
			}
		})
		defer auth.Release()
		c.center.Send(sel("requestAuthorizationWithOptions:completionHandler:"), uint64(alert|sound), auth)
	})
	if err != nil {
		return nil, err
	}
	active.Store(c)
	return c, nil
}

func describe(nserr objc.ID) string {
	if nserr == 0 {
		return ""
	}
	return goString(nserr.Send(sel("localizedDescription")))
}

func (c *unCenter) Responses() <-chan Response { return c.responses }

// Actions is true: whether the user allowed banners is theirs to change at
// any time, and a notification in Notification Center can still be clicked.
func (c *unCenter) Actions() bool { return true }

// category returns the registered category for buttons, registering it
// (with all earlier ones: setNotificationCategories: replaces the set).
// The caller holds mu and a pool.
func (c *unCenter) category(buttons []Action) string {
	id := categoryID(buttons)
	if _, ok := c.categories[id]; ok {
		return id
	}
	actions := objc.ID(objc.GetClass("NSMutableArray")).Send(sel("array"))
	for _, b := range buttons {
		a := objc.ID(objc.GetClass("UNNotificationAction")).Send(sel("actionWithIdentifier:title:options:"),
			nsString(b.Key), nsString(b.Label), uint64(0))
		actions.Send(sel("addObject:"), a)
	}
	const customDismiss = 1 << 0 // deliver dismissals to the delegate
	cat := objc.ID(objc.GetClass("UNNotificationCategory")).Send(
		sel("categoryWithIdentifier:actions:intentIdentifiers:options:"),
		nsString(id), actions, objc.ID(objc.GetClass("NSArray")).Send(sel("array")), uint64(customDismiss))
	c.categories[id] = cat.Send(sel("retain"))
	set := objc.ID(objc.GetClass("NSMutableSet")).Send(sel("set"))
	for _, k := range c.categories {
		set.Send(sel("addObject:"), k)
	}
	c.center.Send(sel("setNotificationCategories:"), set)
	return id
}

func (c *unCenter) Post(ctx context.Context, n Notification) error {
	if err := n.Validate(); err != nil {
		return err
	}
	n = cleaned(n)
	done := make(chan string, 1)
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	withPool(func() {
		content := objc.ID(objc.GetClass("UNMutableNotificationContent")).Send(sel("new"))
		defer content.Send(sel("release"))
		content.Send(sel("setTitle:"), nsString(n.Title))
		content.Send(sel("setBody:"), nsString(n.Body))
		content.Send(sel("setCategoryIdentifier:"), nsString(c.category(appleButtons(n.Actions))))
		info := objc.ID(objc.GetClass("NSMutableDictionary")).Send(sel("dictionary"))
		info.Send(sel("setObject:forKey:"), nsString(n.ID), nsString(userInfoID))
		info.Send(sel("setObject:forKey:"), nsString(n.Payload), nsString(userInfoPayload))
		content.Send(sel("setUserInfo:"), info)
		// The same identifier replaces an earlier notification.
		req := objc.ID(objc.GetClass("UNNotificationRequest")).Send(sel("requestWithIdentifier:content:trigger:"),
			nsString(n.ID), content, objc.ID(0))
		added := objc.NewBlock(func(_ objc.Block, nserr objc.ID) { done <- describe(nserr) })
		defer added.Release()
		c.center.Send(sel("addNotificationRequest:withCompletionHandler:"), req, added)
	})
	c.mu.Unlock()
	select {
	case msg := <-done:
		if msg != "" {
			return fmt.Errorf("post notification %s: %s", n.ID, msg)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("post notification %s: %w", n.ID, ctx.Err())
	}
}

func (c *unCenter) Remove(_ context.Context, id string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	withPool(func() {
		ids := objc.ID(objc.GetClass("NSArray")).Send(sel("arrayWithObject:"), nsString(id))
		c.center.Send(sel("removeDeliveredNotificationsWithIdentifiers:"), ids)
		c.center.Send(sel("removePendingNotificationRequestsWithIdentifiers:"), ids)
	})
	return nil
}

func (c *unCenter) emit(r Response) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return
	}
	select {
	case c.responses <- r:
	default:
		c.opts.Logger.Warn("notifications: response dropped, the reader is behind", "id", r.ID, "kind", r.Kind.String())
	}
}

// Close stops delivery. The delegate stays registered (it cannot be
// unregistered from a class); it reports to nobody.
func (c *unCenter) Close() error {
	active.CompareAndSwap(c, nil)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		close(c.responses)
	}
	return nil
}

// beeepNotifier is the last fallback: osascript or terminal-notifier
// through beeep. Post only; no responses, no replacement, no removal.
type beeepNotifier struct {
	opts      Options
	mu        sync.Mutex
	closed    bool
	responses chan Response
}

func (b *beeepNotifier) Post(_ context.Context, n Notification) error {
	if err := n.Validate(); err != nil {
		return err
	}
	n = cleaned(n)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return ErrClosed
	}
	beeep.AppName = b.opts.AppName
	if err := beeep.Notify(n.Title, n.Body, ""); err != nil {
		return fmt.Errorf("post notification %s: %w", n.ID, err)
	}
	return nil
}

func (b *beeepNotifier) Remove(context.Context, string) error { return nil }
func (b *beeepNotifier) Responses() <-chan Response           { return b.responses }
func (b *beeepNotifier) Actions() bool                        { return false }

func (b *beeepNotifier) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		close(b.responses)
	}
	return nil
}
