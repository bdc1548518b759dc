package menubar

import (
	"fmt"
	"sync"

	"github.com/ebitengine/purego/objc"

	"github.com/gatehouse/gatehouse/internal/mainthread"
)

// Menu is the agent's NSStatusItem and its NSMenu.
type Menu struct {
	item, menu, target objc.ID // touched on the main thread only
}

var (
	selOnce sync.Once
	sel     struct {
		systemStatusBar, statusItemWithLength, button, setTitle, setMenu, retain, alloc, new_     objc.SEL
		initWithTitle, initWithTitleActionKey, setEnabled, addItem, separatorItem, removeAllItems objc.SEL
		setAutoenablesItems, setTarget, stringWithUTF8, quit, setToolTip, action                  objc.SEL
	}
	targetClass    objc.Class
	targetClassErr error
	quitFuncs      sync.Map // target object -> func()
	actionFuncs    sync.Map // target object -> func()
)

func selectors() {
	selOnce.Do(func() {
		r := objc.RegisterName
		sel.systemStatusBar, sel.statusItemWithLength, sel.button = r("systemStatusBar"), r("statusItemWithLength:"), r("button")
		sel.setTitle, sel.setMenu, sel.retain, sel.alloc, sel.new_ = r("setTitle:"), r("setMenu:"), r("retain"), r("alloc"), r("new")
		sel.initWithTitle, sel.initWithTitleActionKey = r("initWithTitle:"), r("initWithTitle:action:keyEquivalent:")
		sel.setEnabled, sel.addItem, sel.separatorItem, sel.removeAllItems = r("setEnabled:"), r("addItem:"), r("separatorItem"), r("removeAllItems")
		sel.setAutoenablesItems, sel.setTarget, sel.stringWithUTF8 = r("setAutoenablesItems:"), r("setTarget:"), r("stringWithUTF8String:")
		sel.quit, sel.setToolTip, sel.action = r("gatehouseQuit:"), r("setToolTip:"), r("gatehouseAction:")
		// The items' target: an NSObject subclass whose actions call the
		// agent's quit function and its action (the admin item).
		call := func(funcs *sync.Map) func(objc.ID, objc.SEL, objc.ID) {
			return func(self objc.ID, _ objc.SEL, _ objc.ID) {
				if f, ok := funcs.Load(self); ok {
					go f.(func())()
				}
			}
		}
		targetClass, targetClassErr = objc.RegisterClass("GatehouseMenuTarget", objc.GetClass("NSObject"), nil, nil,
			[]objc.MethodDef{{Cmd: sel.quit, Fn: call(&quitFuncs)}, {Cmd: sel.action, Fn: call(&actionFuncs)}})
	})
}

func nsString(s string) objc.ID {
	return objc.ID(objc.GetClass("NSString")).Send(sel.stringWithUTF8, s)
}

// New puts an item titled title in the menu bar; Quit calls quit, and
// the action item (Set's action) calls action, each on a goroutine of its
// own. The item appears once the main thread runs.
func New(title string, quit, action func()) (*Menu, error) {
	selectors()
	if targetClassErr != nil {
		return nil, fmt.Errorf("menu target class: %w", targetClassErr)
	}
	m := &Menu{}
	err := mainthread.Run(func() {
		bar := objc.ID(objc.GetClass("NSStatusBar")).Send(sel.systemStatusBar)
		m.item = bar.Send(sel.statusItemWithLength, float64(-1)).Send(sel.retain) // NSVariableStatusItemLength
		m.item.Send(sel.button).Send(sel.setTitle, nsString(title))
		m.menu = objc.ID(objc.GetClass("NSMenu")).Send(sel.alloc).Send(sel.initWithTitle, nsString(title))
		m.menu.Send(sel.setAutoenablesItems, false)
		m.target = objc.ID(targetClass).Send(sel.new_)
		quitFuncs.Store(m.target, quit)
		actionFuncs.Store(m.target, action)
		m.item.Send(sel.setMenu, m.menu)
		m.fill([]string{"Connecting to gatehoused…"}, nil, "")
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Activate brings the agent to the front (NSApp activateIgnoringOtherApps:
// YES), so its dialog has the keyboard as soon as it shows: a menu-bar app
// (LSUIElement) is otherwise not made active by showing a window.
func Activate() {
	mainthread.Run(func() {
		app := objc.ID(objc.GetClass("NSApplication")).Send(objc.RegisterName("sharedApplication"))
		app.Send(objc.RegisterName("activateIgnoringOtherApps:"), true)
	})
}

// Set shows the status lines first (the first is the tooltip too), then
// each section, then the action item titled action (none when ""), then
// Quit.
func (m *Menu) Set(status []string, sections []Section, action string) {
	mainthread.Run(func() { m.fill(status, sections, action) })
}

// fill rebuilds the menu (main thread).
func (m *Menu) fill(status []string, sections []Section, action string) {
	if m.menu == 0 {
		return
	}
	m.menu.Send(sel.removeAllItems)
	add := func(title string, enabled bool) objc.ID {
		it := objc.ID(objc.GetClass("NSMenuItem")).Send(sel.alloc).Send(sel.initWithTitleActionKey, nsString(title), objc.SEL(0), nsString(""))
		it.Send(sel.setEnabled, enabled)
		m.menu.Send(sel.addItem, it)
		return it
	}
	separator := func() { m.menu.Send(sel.addItem, objc.ID(objc.GetClass("NSMenuItem")).Send(sel.separatorItem)) }
	for _, l := range status {
		add(l, false)
	}
	if len(status) > 0 {
		m.item.Send(sel.button).Send(sel.setToolTip, nsString("Gatehouse: "+status[0]))
	}
	separator()
	for _, s := range sections {
		add(s.Title, false)
		for _, l := range s.shown() {
			add("  "+l, false)
		}
		separator()
	}
	item := func(title string, action objc.SEL, key string) {
		it := objc.ID(objc.GetClass("NSMenuItem")).Send(sel.alloc).Send(sel.initWithTitleActionKey, nsString(title), action, nsString(key))
		it.Send(sel.setTarget, m.target)
		it.Send(sel.setEnabled, true)
		m.menu.Send(sel.addItem, it)
	}
	if action != "" {
		item(action, sel.action, "")
		separator()
	}
	item("Quit Gatehouse", sel.quit, "q")
}
