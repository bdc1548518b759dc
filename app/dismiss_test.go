package app

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/alerts"
	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/request"
)

// fakeDismisser records what it was asked to dismiss; the alert shows up
// after noAlert tries, or never is allowed when refuse is set.
type fakeDismisser struct {
	mu      sync.Mutex
	calls   []string
	noAlert int
	refuse  bool
}

func (f *fakeDismisser) Dismiss(_ context.Context, app string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, app)
	switch {
	case f.refuse:
		return alerts.ErrNotPermitted
	case f.noAlert > 0:
		f.noAlert--
		return alerts.ErrNoAlert
	}
	return nil
}

func (f *fakeDismisser) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

func dismissRig(t *testing.T, d *fakeDismisser) *rig {
	t.Helper()
	r := &rig{api: newFakeAPI(), ui: newFakeUI(), launch: &fakeLauncher{}, tray: &fakeTray{}}
	r.agent = New(Options{API: r.api, UI: r.ui, Tray: r.tray, Launcher: r.launch, Dismisser: d,
		DismissAfter: []time.Duration{0, 10 * time.Millisecond, 10 * time.Millisecond}, Wait: 2 * time.Second, Backoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.agent.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return r
}

// A bundle denied while LaunchServices started it: the system's alert is
// looked for until it shows (here on the second look), once per request,
// whatever else happens to the request.
func TestTheSystemsAlertAboutADeniedAppIsDismissedOnce(t *testing.T) {
	d := &fakeDismisser{noAlert: 1}
	r := dismissRig(t, d)
	r.api.add(localapi.Request{ID: 1, Kind: request.Justification, Path: "/Applications/Tool.app/Contents/MacOS/Tool", AppType: "bundle"})
	r.ui.next(t)
	waitUntil(t, "the alert dismissed", func() bool { return len(d.got()) == 2 })
	r.api.set(1, func(q *localapi.Request) { q.Title = "changed" }) // seen again, same state
	r.api.add(localapi.Request{ID: 2, Kind: request.DenyNotify, Path: "/usr/local/bin/tool"})
	time.Sleep(100 * time.Millisecond)
	if got := d.got(); !slices.Equal(got, []string{"Tool", "Tool"}) {
		t.Errorf("Dismiss calls %q, want Tool looked for twice and nothing else", got)
	}
}

// Started from a terminal, or a command-line tool: macOS shows no alert,
// so nothing is looked for.
func TestNoAlertIsLookedForWithoutLaunchServices(t *testing.T) {
	d := &fakeDismisser{}
	r := dismissRig(t, d)
	r.api.add(localapi.Request{ID: 1, Kind: request.DenyMessage, Path: "/Applications/Tool.app/Contents/MacOS/Tool", Terminal: true})
	r.api.add(localapi.Request{ID: 2, Kind: request.DenyMessage, Path: "/opt/bin/tool"})
	r.ui.next(t)
	time.Sleep(100 * time.Millisecond)
	if got := d.got(); len(got) != 0 {
		t.Errorf("Dismiss called for %q", got)
	}
}

// Automation not allowed: nothing is pressed, and the user is told once.
func TestAMissingPermissionIsSaidOnce(t *testing.T) {
	d := &fakeDismisser{refuse: true}
	r := dismissRig(t, d)
	r.api.add(localapi.Request{ID: 1, Kind: request.DenyMessage, Path: "/Applications/A.app/Contents/MacOS/A"})
	r.api.add(localapi.Request{ID: 2, Kind: request.DenyMessage, Path: "/Applications/B.app/Contents/MacOS/B"})
	waitUntil(t, "the warning in the menu", func() bool { return strings.Contains(TrayStatus(r.tray.snapshot()), "control System Events") })
	waitUntil(t, "both looked for", func() bool { return len(d.got()) == 2 })
	if got := d.got(); !slices.Contains(got, "A") || !slices.Contains(got, "B") {
		t.Errorf("Dismiss calls %q: a refusal is not retried, a later deny still tries", got)
	}
}
