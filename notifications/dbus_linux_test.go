//go:build linux

package notifications_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/internal/testbus"
	"github.com/gatehouse/gatehouse/notifications"
)

// These tests run against real parts: a private dbus-daemon, Xvfb and
// Debian's dunst (see internal/testbus). They set DBUS_SESSION_BUS_ADDRESS,
// so they do not run in parallel.

// session starts a bus, a display and dunst, and points the process at
// the bus.
func session(t *testing.T) (*testbus.Bus, *testbus.Display, *testbus.Dunst) {
	t.Helper()
	testbus.Need(t, "dbus-daemon", "Xvfb", "dunst")
	bus := testbus.StartBus(t)
	disp := testbus.StartXvfb(t)
	d := testbus.StartDunst(t, bus, disp)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus.Address)
	return bus, disp, d
}

func newNotifier(t *testing.T) (notifications.Notifier, *testbus.Log) {
	t.Helper()
	logs := &testbus.Log{}
	n, err := notifications.New(notifications.Options{
		AppName: "Gatehouse test",
		Logger:  slog.New(slog.NewTextHandler(logs, nil)),
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := n.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if t.Failed() {
			t.Logf("notifier log:\n%s", logs)
		}
	})
	return n, logs
}

func post(t *testing.T, n notifications.Notifier, note notifications.Notification) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testbus.Wait)
	defer cancel()
	if err := n.Post(ctx, note); err != nil {
		t.Fatalf("Post %s: %v", note.ID, err)
	}
}

func nextResponse(t *testing.T, n notifications.Notifier) notifications.Response {
	t.Helper()
	select {
	case r, ok := <-n.Responses():
		if !ok {
			t.Fatal("Responses closed")
		}
		return r
	case <-time.After(testbus.Wait):
		t.Fatalf("no response after %v", testbus.Wait)
	}
	panic("unreachable")
}

func noResponse(t *testing.T, n notifications.Notifier, d time.Duration) {
	t.Helper()
	select {
	case r := <-n.Responses():
		t.Fatalf("unexpected response %+v", r)
	case <-time.After(d):
	}
}

func request(id, title string) notifications.Notification {
	return notifications.Notification{
		ID:      id,
		Title:   title,
		Body:    "Approval for " + title,
		Actions: []notifications.Action{{Key: "approve", Label: "Approve"}, {Key: "deny", Label: "Deny"}},
		Payload: `{"request":"` + id + `"}`,
	}
}

func TestDunstAction(t *testing.T) {
	_, _, d := session(t)
	n, _ := newNotifier(t)
	if !n.Actions() {
		t.Fatal("Actions() = false with dunst, which has the actions capability")
	}
	note := request("request-42", "Zoom installer")
	post(t, n, note)
	d.WaitDisplayed(t, 1)

	d.Choose(t, note.Title, "approve")
	got := nextResponse(t, n)
	want := notifications.Response{ID: "request-42", Kind: notifications.ActionInvoked, ActionKey: "approve", Payload: note.Payload}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	// Answered notifications go away, and give no second response.
	d.WaitDisplayed(t, 0)
	noResponse(t, n, 300*time.Millisecond)
}

func TestDunstClick(t *testing.T) {
	_, _, d := session(t)
	n, _ := newNotifier(t)
	note := request("request-7", "curl")
	post(t, n, note)
	d.WaitDisplayed(t, 1)

	d.ClickFirst(t)
	got := nextResponse(t, n)
	want := notifications.Response{ID: "request-7", Kind: notifications.Clicked, ActionKey: notifications.DefaultAction, Payload: note.Payload}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
}

func TestDunstDismissAndRemove(t *testing.T) {
	_, _, d := session(t)
	n, _ := newNotifier(t)
	post(t, n, request("a", "First"))
	post(t, n, request("b", "Second"))
	d.WaitDisplayed(t, 2)

	ctx, cancel := context.WithTimeout(context.Background(), testbus.Wait)
	defer cancel()
	if err := n.Remove(ctx, "a"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	d.WaitDisplayed(t, 1)
	if h := d.History(t); len(h) != 1 || h[0].Summary != "First" {
		t.Errorf("history after Remove = %+v, want First only", h)
	}
	if err := n.Remove(ctx, "a"); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if err := n.Remove(ctx, "never-posted"); err != nil {
		t.Errorf("Remove of an unknown ID: %v", err)
	}

	d.CloseLast(t)
	got := nextResponse(t, n)
	want := notifications.Response{ID: "b", Kind: notifications.Dismissed, Payload: `{"request":"b"}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	noResponse(t, n, 300*time.Millisecond) // Remove gave none for "a"
}

func TestDunstReplace(t *testing.T) {
	_, _, d := session(t)
	n, _ := newNotifier(t)
	first := request("request-1", "Installer")
	post(t, n, first)
	second := first
	second.Body, second.Payload = "Approved: open it again", "second"
	second.Actions = nil
	post(t, n, second)
	d.WaitDisplayed(t, 1)

	d.CloseLast(t)
	got := nextResponse(t, n)
	want := notifications.Response{ID: "request-1", Kind: notifications.Dismissed, Payload: "second"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	if h := d.History(t); len(h) != 1 || h[0].Body != second.Body {
		t.Errorf("history = %+v, want the second body only", h)
	}
}

func TestDunstExpired(t *testing.T) {
	testbus.Need(t, "dbus-daemon", "Xvfb", "dunst")
	bus := testbus.StartBus(t)
	// Notifications of normal urgency time out after a second.
	d := testbus.StartDunstWith(t, bus, testbus.StartXvfb(t), "[urgency_normal]\n    timeout = 1\n")
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus.Address)
	n, _ := newNotifier(t)
	post(t, n, request("x", "Expiring"))
	got := nextResponse(t, n)
	want := notifications.Response{ID: "x", Kind: notifications.Expired, Payload: `{"request":"x"}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	d.WaitDisplayed(t, 0)
}

func TestDunstUntrustedText(t *testing.T) {
	_, _, d := session(t)
	n, _ := newNotifier(t)
	note := notifications.Notification{
		ID:      "evil",
		Title:   "Title\u202eexe.txt\x00",
		Body:    "a & <b>bold</b>\x00\xff<a href='x'>",
		Actions: []notifications.Action{{Key: "ok", Label: "\xfe<i>OK</i>"}},
	}
	post(t, n, note)
	d.WaitDisplayed(t, 1)
	d.CloseLast(t)
	nextResponse(t, n)
	h := d.History(t)
	if len(h) != 1 {
		t.Fatalf("history = %+v", h)
	}
	want := testbus.Entry{
		ID:      h[0].ID,
		Summary: "Titleexe.txt ",
		Body:    "a &amp; &lt;b&gt;bold&lt;/b&gt; \uFFFD&lt;a href='x'&gt;",
		AppName: "Gatehouse test",
	}
	if diff := cmp.Diff(want, h[0]); diff != "" {
		t.Errorf("what dunst got (-want +got):\n%s", diff)
	}
}

func TestServerRestart(t *testing.T) {
	bus, disp, d := session(t)
	n, _ := newNotifier(t)
	post(t, n, request("old", "Before restart"))
	d.WaitDisplayed(t, 1)

	d.Stop()
	got := nextResponse(t, n)
	if got.ID != "old" || got.Kind != notifications.Closed {
		t.Errorf("after the server died: response %+v, want old closed", got)
	}

	d2 := testbus.StartDunst(t, bus, disp)
	post(t, n, request("new", "After restart"))
	d2.WaitDisplayed(t, 1)
	if !n.Actions() {
		t.Error("Actions() = false after the server came back")
	}
	d2.Choose(t, "After restart", "deny")
	if got := nextResponse(t, n); got.ID != "new" || got.ActionKey != "deny" {
		t.Errorf("response from the new server = %+v, want new/deny", got)
	}
}

func TestBusGoesAway(t *testing.T) {
	bus, _, d := session(t)
	n, _ := newNotifier(t)
	post(t, n, request("before", "Before"))
	d.WaitDisplayed(t, 1)

	bus.Stop()
	got := nextResponse(t, n)
	if got.ID != "before" || got.Kind != notifications.Closed {
		t.Errorf("after the bus went away: response %+v, want before closed", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	err := n.Post(ctx, request("during", "During"))
	if err == nil {
		t.Fatal("Post with the bus gone succeeded")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Post with the bus gone waited for its deadline (%v): %v", time.Since(start), err)
	}
	t.Logf("Post with the bus gone: %v after %v", err, time.Since(start))
	if n.Actions() {
		t.Error("Actions() = true with no bus")
	}

	// A new session: the next Post reconnects.
	_, _, d2 := session(t)
	post(t, n, request("after", "After"))
	d2.WaitDisplayed(t, 1)
	d2.ClickFirst(t)
	if got := nextResponse(t, n); got.ID != "after" || got.Kind != notifications.Clicked {
		t.Errorf("response after reconnecting = %+v, want after clicked", got)
	}
}

func TestFallbackWithoutActions(t *testing.T) {
	bus := testbus.StartBus(t)
	srv := testbus.StartPlainServer(t, bus, "body", "body-markup")
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus.Address)
	n, logs := newNotifier(t)
	if n.Actions() {
		t.Fatal("Actions() = true with a server without the actions capability")
	}
	post(t, n, request("r1", "No buttons <here>"))
	note := request("r2", "Second")
	note.Body = "x < y"
	post(t, n, note)
	got := srv.WaitReceived(t, 2)
	if got[0].Summary != "No buttons <here>" || len(got[0].Actions) != 0 {
		t.Errorf("server got %+v, want the title and no actions", got[0])
	}
	if got[1].Body != "x &lt; y" {
		t.Errorf("body = %q, want it escaped for body-markup", got[1].Body)
	}
	if c := strings.Count(logs.String(), "clicks and buttons are unavailable"); c != 1 {
		t.Errorf("logged the missing clicks %d times, want once; log:\n%s", c, logs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), testbus.Wait)
	defer cancel()
	if err := n.Remove(ctx, "r1"); err != nil {
		t.Errorf("Remove in fallback: %v", err)
	}
	noResponse(t, n, 200*time.Millisecond)
}

func TestNoServerThenDunst(t *testing.T) {
	testbus.Need(t, "dbus-daemon", "Xvfb", "dunst")
	bus := testbus.StartBus(t)
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus.Address)
	n, _ := newNotifier(t)
	if n.Actions() {
		t.Fatal("Actions() = true with no server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), testbus.Wait)
	defer cancel()
	if err := n.Post(ctx, request("lost", "Nobody")); err == nil {
		t.Error("Post with no notification server succeeded")
	} else {
		t.Logf("Post with no server: %v", err)
	}

	// The server starts after the agent, as at login.
	d := testbus.StartDunst(t, bus, testbus.StartXvfb(t))
	post(t, n, request("found", "Somebody"))
	d.WaitDisplayed(t, 1)
	if !n.Actions() {
		t.Error("Actions() = false once dunst is up")
	}
}

func TestPostAfterClose(t *testing.T) {
	session(t)
	n, _ := newNotifier(t)
	if err := n.Close(); err != nil {
		t.Fatal(err)
	}
	if err := n.Post(context.Background(), request("late", "Late")); !errors.Is(err, notifications.ErrClosed) {
		t.Errorf("Post after Close = %v, want ErrClosed", err)
	}
	if _, ok := <-n.Responses(); ok {
		t.Error("Responses not closed after Close")
	}
}

// BenchmarkPostDunst measures Post → dunst → reply: one Notify round trip
// that replaces the same notification.
func BenchmarkPostDunst(b *testing.B) {
	testbus.Need(b, "dbus-daemon", "Xvfb", "dunst")
	bus := testbus.StartBus(b)
	testbus.StartDunst(b, bus, testbus.StartXvfb(b))
	b.Setenv("DBUS_SESSION_BUS_ADDRESS", bus.Address)
	n, err := notifications.New(notifications.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	note := request("bench", "Benchmark")
	ctx := context.Background()
	for b.Loop() {
		if err := n.Post(ctx, note); err != nil {
			b.Fatal(err)
		}
	}
}
