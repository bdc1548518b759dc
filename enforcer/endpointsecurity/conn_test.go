package endpointsecurity

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeLib is libEndpointSecurity over fakeMem, recording every call.
type fakeLib struct {
	*fakeMem
	calls    []string
	result   int              // what es_new_client returns
	failAt   string           // a call that fails
	handler  func(msg int)    // the client's handler
	args     map[int][]string // argv of exec messages, by message block
	retained map[int]int      // retain minus release per message
}

func newFakeLib() *fakeLib {
	return &fakeLib{fakeMem: newFakeMem(), args: map[int][]string{}, retained: map[int]int{}}
}

func (f *fakeLib) call(s string) int {
	f.calls = append(f.calls, s)
	if f.failAt != "" && strings.HasPrefix(s, f.failAt) {
		return 1
	}
	return 0
}

func (f *fakeLib) newClient(h func(msg int)) (int, func(), int) {
	f.call("new_client")
	f.handler = h
	return 77, func() { f.call("free") }, f.result
}
func (f *fakeLib) subscribe(c int, ev []EventType) int {
	return f.call(fmt.Sprintf("subscribe %v", ev))
}
func (f *fakeLib) respond(c, msg int, result uint32, cache bool) int {
	return f.call(fmt.Sprintf("respond %d result=%d cache=%v", msg, result, cache))
}
func (f *fakeLib) retain(msg int)  { f.retained[msg]++ }
func (f *fakeLib) release(msg int) { f.retained[msg]-- }
func (f *fakeLib) mutePath(c int, path string, kind uint32) int {
	return f.call(fmt.Sprintf("mute_path %s %d", path, kind))
}
func (f *fakeLib) invertMuting(c int, kind uint32) int {
	return f.call(fmt.Sprintf("invert_muting %d", kind))
}
func (f *fakeLib) clearCache(c int) int        { return f.call("clear_cache") }
func (f *fakeLib) unsubscribeAll(c int) int    { return f.call("unsubscribe_all") }
func (f *fakeLib) deleteClient(c int) int      { return f.call("delete_client") }
func (f *fakeLib) execArgCount(msg int) uint32 { return uint32(len(f.args[msg])) }
func (f *fakeLib) execArg(msg int, i uint32) (uint64, int) {
	a := f.args[msg][i]
	if a == "" {
		return 0, 0
	}
	d := f.alloc(len(a))
	copy(f.blocks[d], a)
	return uint64(len(a)), d
}
func (f *fakeLib) timebase() (Timebase, bool) { return Timebase{125, 3}, true }
func (f *fakeLib) machNow() uint64            { return 1000 }

func TestOpenMutesItselfThenTheTargetsThenSubscribes(t *testing.T) {
	f := newFakeLib()
	c, err := open[int](f, "/Library/Gatehouse/Gatehoused.app/Contents/MacOS/gatehoused", []EventType{AuthRename, AuthUnlink},
		[]string{"/Applications", "/Library/Gatehouse"}, func(*event[int]) {})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"new_client",
		"mute_path /Library/Gatehouse/Gatehoused.app/Contents/MacOS/gatehoused 1", // ES_MUTE_PATH_TYPE_LITERAL
		"invert_muting 2",                                             // ES_MUTE_INVERSION_TYPE_TARGET_PATH
		"mute_path /Applications 2", "mute_path /Library/Gatehouse 2", // ES_MUTE_PATH_TYPE_TARGET_PREFIX
		"subscribe [6 8]"}
	if !slices.Equal(f.calls, want) {
		t.Errorf("calls\n%q\nwant\n%q", f.calls, want)
	}
	c.Close()
	c.Close()
	if got := f.calls[len(want):]; !slices.Equal(got, []string{"unsubscribe_all", "delete_client", "free"}) {
		t.Errorf("Close (twice) made %q", got)
	}
	// Without targets nothing is inverted: the exec client sees all.
	f = newFakeLib()
	if _, err := open[int](f, "/gatehoused", []EventType{AuthExec}, nil, func(*event[int]) {}); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(f.calls, func(s string) bool { return strings.HasPrefix(s, "invert") }) {
		t.Errorf("an exec client inverted its muting: %q", f.calls)
	}
}

func TestOpenFailuresSayWhatToDo(t *testing.T) {
	f := newFakeLib()
	f.result = newClientNotEntitled
	if _, err := open[int](f, "/x", []EventType{AuthExec}, nil, nil); err == nil || !strings.Contains(err.Error(), "entitlement") {
		t.Errorf("not entitled: %v", err)
	}
	if !slices.Contains(f.calls, "free") {
		t.Error("the handler was not freed after es_new_client failed")
	}
	f = newFakeLib()
	f.failAt = "invert_muting"
	if _, err := open[int](f, "/x", []EventType{AuthRename}, []string{"/Applications"}, nil); err == nil || !strings.Contains(err.Error(), "macOS 13") {
		t.Errorf("invert muting refused: %v", err)
	}
	if !slices.Contains(f.calls, "delete_client") || slices.ContainsFunc(f.calls, func(s string) bool { return strings.HasPrefix(s, "subscribe") }) {
		t.Errorf("a client whose muting failed was subscribed or kept: %q", f.calls)
	}
}

func TestAFailedLaterSubscriptionKeepsTheClient(t *testing.T) {
	// macOS 12 knows no LoginWindow session events: the second
	// subscription fails, the client and its first subscription stay.
	f := newFakeLib()
	var got []*event[int]
	c, err := open[int](f, "/x", []EventType{AuthExec, NotifyFork}, nil, func(e *event[int]) { got = append(got, e) })
	if err != nil {
		t.Fatal(err)
	}
	f.failAt = "subscribe [115 116]"
	err = c.Subscribe([]EventType{NotifyLWSessionLogout, NotifyLWSessionLock})
	if err == nil || !strings.Contains(err.Error(), "es_subscribe to event types [115 116]") {
		t.Errorf("Subscribe refused by the system: %v", err)
	}
	want := []string{"new_client", "mute_path /x 1", "subscribe [0 11]", "subscribe [115 116]"}
	if !slices.Equal(f.calls, want) {
		t.Errorf("calls\n%q\nwant\n%q", f.calls, want)
	}
	// Where the system has them, they are subscribed to; none asked for
	// makes no call (es_subscribe takes no empty list).
	f.failAt = ""
	if err := c.Subscribe([]EventType{NotifyLWSessionLogout, NotifyLWSessionLock}); err != nil {
		t.Error(err)
	}
	if err := c.Subscribe(nil); err != nil {
		t.Error(err)
	}
	if got := f.calls[len(want):]; !slices.Equal(got, []string{"subscribe [115 116]"}) {
		t.Errorf("then %q", got)
	}
	// A screen lock is a NOTIFY: handed over decoded, neither retained
	// nor answered.
	before := len(f.calls)
	msg := f.message(sampleSession(NotifyLWSessionLock, "anna"))
	f.handler(msg)
	if len(got) != 1 || got[0].Session == nil || got[0].Session.User != "anna" || f.retained[msg] != 0 || len(f.calls) != before {
		t.Errorf("screen lock: handled %d, retained %d, calls %q", len(got), f.retained[msg], f.calls[before:])
	}
}

func TestAnAuthMessageIsAnsweredOnce(t *testing.T) {
	f := newFakeLib()
	var got []*event[int]
	c, err := open[int](f, "/x", []EventType{AuthExec}, nil, func(e *event[int]) { got = append(got, e) })
	if err != nil {
		t.Fatal(err)
	}
	msg := f.message(sampleExec(7))
	f.args[msg] = []string{"/bin/ls", "-la", "", "ünï"}
	f.handler(msg)
	if len(got) != 1 || f.retained[msg] != 1 {
		t.Fatalf("handled %d, retained %d", len(got), f.retained[msg])
	}
	ev := got[0]
	if a := ev.Args(); !slices.Equal(a, []string{"/bin/ls", "-la", "", "ünï"}) {
		t.Errorf("Args = %q", a)
	}
	if err := ev.Respond(false, true); err != nil {
		t.Fatal(err)
	}
	if err := ev.Respond(true, false); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("second answer: %v", err)
	}
	responds := slices.DeleteFunc(slices.Clone(f.calls), func(s string) bool { return !strings.HasPrefix(s, "respond") })
	if want := fmt.Sprintf("respond %d result=1 cache=true", msg); len(responds) != 1 || responds[0] != want {
		t.Errorf("answers %q, want one %q", responds, want)
	}
	if f.retained[msg] != 0 {
		t.Errorf("retained %d after the answer", f.retained[msg])
	}
	if ev.Args() != nil {
		t.Error("Args read a released message")
	}
	// The deadline: the message's mach ticks past the library's now, at
	// the library's timebase.
	left := time.Duration((sampleExec(7).Deadline - 1000) * 125 / 3)
	if d := time.Until(ev.Deadline()); d > left || d < left-time.Second {
		t.Errorf("deadline in %v, want %v", d, left)
	}
	// A NOTIFY message is handled without being retained and has no answer.
	child := sampleProcess(5000, "/bin/zsh")
	n := f.message(Message{Version: 7, Process: sampleProcess(4999, "/bin/zsh"), Action: ActionNotify, Event: NotifyFork, ForkChild: &child})
	f.handler(n)
	if f.retained[n] != 0 || len(got) != 2 {
		t.Errorf("notify: retained %d, handled %d", f.retained[n], len(got))
	}
	if err := got[1].Respond(true, false); err == nil {
		t.Error("a NOTIFY message was answered")
	}
	// After Close the kernel has answered: Respond says so.
	m2 := f.message(sampleExec(7))
	f.handler(m2)
	c.Close()
	if err := got[2].Respond(true, false); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("answer after close: %v", err)
	}
}

func TestAMessageThatDoesNotDecodeIsAllowedAtOnce(t *testing.T) {
	f := newFakeLib()
	handled := 0
	c, _ := open[int](f, "/x", []EventType{AuthExec}, nil, func(*event[int]) { handled++ })
	msg := f.message(sampleExec(7))
	f.putPtr(msg, offMessageProcess, 0) // no process: undecodable
	f.handler(msg)
	if handled != 0 || c.DecodeErrors() != 1 {
		t.Errorf("handled %d, decode errors %d", handled, c.DecodeErrors())
	}
	if last := f.calls[len(f.calls)-1]; last != fmt.Sprintf("respond %d result=0 cache=false", msg) {
		t.Errorf("last call %q, want an uncached allow", last)
	}
	// A broken NOTIFY is dropped, not answered.
	child := sampleProcess(5000, "/bin/zsh")
	n := f.message(Message{Version: 7, Process: sampleProcess(1, "/sbin/launchd"), Action: ActionNotify, Event: NotifyFork, ForkChild: &child})
	f.putPtr(n, offMessageProcess, 0)
	before := len(f.calls)
	f.handler(n)
	if len(f.calls) != before {
		t.Errorf("a broken NOTIFY made calls %q", f.calls[before:])
	}
}

func TestArgsAreBounded(t *testing.T) {
	f := newFakeLib()
	var ev *event[int]
	open[int](f, "/x", []EventType{AuthExec}, nil, func(e *event[int]) { ev = e })
	msg := f.message(sampleExec(7))
	big := strings.Repeat("x", 200<<10)
	f.args[msg] = []string{"a", big, big, "b"}
	f.handler(msg)
	if a := ev.Args(); len(a) != 2 || a[1] != big {
		t.Errorf("Args kept %d arguments, want the two within 256 KiB", len(a))
	}
}
