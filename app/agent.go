// Package app is the per-user agent: it follows the user's requests at the
// enforcer over the local API (as that user: the daemon knows who we are
// from the socket's peer credentials), shows the dialog each blocked program
// needs, posts notifications for decisions, and relaunches what the user
// was let through. The window, the tray, notifications and process start
// are seams (UI, Tray, Notifier, Launcher) so that everything here is
// tested against a fake local API without a display; main.go at the
// repository root wires in Wails, systray and the OS notifier.
package app

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/alerts"
	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/notifications"
	"github.com/gatehouse/gatehouse/request"
)

// API is what the agent needs of the enforcer (*localapi.Client).
type API interface {
	Status(ctx context.Context) (localapi.Status, error)
	Requests(ctx context.Context, states ...request.State) ([]localapi.Request, error)
	Answer(ctx context.Context, id int64, a localapi.Answer) (localapi.AnswerResult, error)
	Changes(ctx context.Context, after uint64, wait time.Duration) (localapi.Changes, error)
	Seen(ctx context.Context, id int64) (localapi.Request, error)
	OfflineRespond(ctx context.Context, id int64, code string) (localapi.AnswerResult, error)
}

// UI is the dialog window.
type UI interface {
	// Show puts d in the window and brings the window up (on top,
	// centred); Show(nil) hides it.
	Show(d *Dialog)
}

// Tray is the menu-bar item.
type Tray interface {
	Update(s Snapshot)
}

// Launcher starts a program again as the user.
type Launcher interface {
	Launch(path string, args []string, cwd string) error
}

// Snapshot is what the tray shows.
type Snapshot struct {
	Connected      bool
	Error          string // why not connected
	PolicyRevision int64
	PolicyID       string
	// Warning is something the user should fix, once (e.g. a permission
	// the agent lacks); "" when none.
	Warning string
	Pending []localapi.Request // open requests (pending, submitted)
	Recent  []localapi.Request // recent blocks and decisions, newest first
	// Admin is the user's admin session (nil: gatehoused says nothing of
	// it).
	Admin *localapi.AdminStatus
}

// Options configure an Agent. API and UI are required.
type Options struct {
	API      API
	UI       UI
	Tray     Tray                   // nil: none
	Notifier notifications.Notifier // nil: none
	Launcher Launcher               // nil: ExecLauncher
	// Dismisser closes the system's own alert about a denied app (macOS:
	// "“X” can't be opened"); nil: none.
	Dismisser alerts.Dismisser
	// DismissAfter are the delays, after the agent learns of a deny, at
	// which it looks for that alert (default dismissRetries).
	DismissAfter []time.Duration
	Logger       *slog.Logger
	Now          func() time.Time
	// Company is the branding line of the dialogs ("Gatehouse" if empty).
	Company string
	// DialogMaxAge: a pending request older than this when the agent first
	// sees it gets no dialog (the user has moved on; it stays in the tray
	// menu until it expires). Default 2 minutes.
	DialogMaxAge time.Duration
	// AdminTick is how often the menu's admin time left is refreshed and
	// the warning before a session's end checked (default 15 s).
	AdminTick time.Duration
	// Wait is the long-poll wait (default 25 s); Backoff the first retry
	// delay after a failure, doubled up to MaxBackoff (250 ms, 5 s).
	Wait, Backoff, MaxBackoff time.Duration
}

// Agent follows one user's requests.
type Agent struct {
	opt Options
	log *slog.Logger

	mu    sync.Mutex
	queue []*Dialog               // dialogs waiting; queue[0] is shown
	known map[int64]request.State // request id -> state last handled
	// fellBack: submitted approval_offline requests whose offline codes
	// were shown because the console was not reached.
	fellBack map[int64]bool
	reqs     map[int64]localapi.Request
	snap     Snapshot
	changed  chan struct{} // kicks the sync loop (after our own answers)

	dismissWarned atomic.Bool // the missing permission was reported

	// Admin sessions (admin.go): seen running, warned of their end, told
	// of their end; started is when the agent started.
	sawAdmin, adminTold, endTold map[int64]bool
	started                      time.Time
}

// New returns an agent; Run starts it.
func New(opt Options) *Agent {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Launcher == nil {
		opt.Launcher = ExecLauncher{}
	}
	if opt.DismissAfter == nil {
		opt.DismissAfter = dismissRetries
	}
	if opt.Company == "" {
		opt.Company = "Gatehouse"
	}
	if opt.DialogMaxAge == 0 {
		opt.DialogMaxAge = 2 * time.Minute
	}
	if opt.AdminTick == 0 {
		opt.AdminTick = 15 * time.Second
	}
	if opt.Wait == 0 {
		opt.Wait = 25 * time.Second
	}
	if opt.Backoff == 0 {
		opt.Backoff = 250 * time.Millisecond
	}
	if opt.MaxBackoff == 0 {
		opt.MaxBackoff = 5 * time.Second
	}
	return &Agent{opt: opt, log: opt.Logger, known: map[int64]request.State{}, fellBack: map[int64]bool{},
		reqs: map[int64]localapi.Request{}, changed: make(chan struct{}, 1),
		sawAdmin: map[int64]bool{}, adminTold: map[int64]bool{}, endTold: map[int64]bool{}, started: opt.Now()}
}

// Run follows the enforcer until ctx ends. It never gives up: while the
// daemon is unreachable the tray shows why and the agent retries with
// backoff.
func (a *Agent) Run(ctx context.Context) error {
	if a.opt.Notifier != nil {
		go a.notificationResponses(ctx)
	}
	go a.adminClock(ctx, a.opt.AdminTick)
	var (
		seq     uint64
		boot    string
		backoff = a.opt.Backoff
		wait    time.Duration // 0 the first time: learn the sequence number at once
	)
	for ctx.Err() == nil {
		ch, err := a.opt.API.Changes(ctx, seq, wait)
		if err == nil {
			// Also after a reload: the menu shows the current revision.
			err = a.connected(ctx)
		}
		if err == nil {
			err = a.sync(ctx)
		}
		if err == nil {
			a.adminTick(ctx)
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			a.disconnected(err)
			wait = 0
			select {
			case <-ctx.Done():
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, a.opt.MaxBackoff)
			continue
		}
		backoff = a.opt.Backoff
		if ch.Boot != boot {
			if boot != "" {
				a.log.Info("gatehoused restarted; catching up")
			}
			boot = ch.Boot
		}
		seq, wait = ch.Seq, a.opt.Wait
		// Our own answers change requests too: look again at once rather
		// than waiting for the long poll to return.
		select {
		case <-a.changed:
			wait = 0
		default:
		}
	}
	return nil
}

func (a *Agent) connected(ctx context.Context) error {
	st, err := a.opt.API.Status(ctx)
	if err != nil {
		return err
	}
	a.mu.Lock()
	was := a.snap.Connected
	a.snap.Connected, a.snap.Error = true, ""
	a.snap.PolicyID, a.snap.PolicyRevision = st.PolicyID, st.PolicyRevision
	a.snap.Admin = st.Admin
	a.mu.Unlock()
	if !was {
		a.log.Info("connected to gatehoused", "policy", st.PolicyID, "revision", st.PolicyRevision, "as", st.You.User)
	}
	return nil
}

func (a *Agent) disconnected(err error) {
	a.mu.Lock()
	was := a.snap.Connected || a.snap.Error == ""
	a.snap.Connected, a.snap.Error = false, err.Error()
	snap := a.snapshotLocked()
	a.mu.Unlock()
	if was {
		a.log.Warn("not connected to gatehoused; retrying", "err", err)
	}
	if a.opt.Tray != nil {
		a.opt.Tray.Update(snap)
	}
}

// kick makes Run look at the requests again without waiting.
func (a *Agent) kick() {
	select {
	case a.changed <- struct{}{}:
	default:
	}
}

// sync reads the user's requests and acts on what is new.
func (a *Agent) sync(ctx context.Context) error {
	rs, err := a.opt.API.Requests(ctx)
	if err != nil {
		return err
	}
	now := a.opt.Now()
	var show bool
	// Notifications are posted after the lock is released (they talk to
	// the notification server and the enforcer).
	var blocked, decided, dismiss []localapi.Request
	a.mu.Lock()
	a.reqs = make(map[int64]localapi.Request, len(rs))
	a.snap.Pending, a.snap.Recent = nil, nil
	// rs is newest first; the menu lists the latest closed requests.
	for _, r := range rs {
		a.reqs[r.ID] = r
		switch {
		case r.State.Open():
			if !r.Kind.Notice() {
				a.snap.Pending = append(a.snap.Pending, r)
			}
		case len(a.snap.Recent) < 10:
			a.snap.Recent = append(a.snap.Recent, r)
		}
	}
	// Oldest first, so dialogs queue in the order the programs were blocked.
	for _, r := range slices.Backward(rs) {
		if r.Kind == request.ApprovalOffline && r.State == request.Submitted && r.Route == request.RouteOffline &&
			!a.fellBack[r.ID] && now.Sub(r.Created) <= a.opt.DialogMaxAge {
			// Sent to the console, which has not been reached since: the
			// offline codes, once, so the help desk can answer instead.
			a.fellBack[r.ID] = true
			a.queue = append(a.queue, a.dialogFor(r))
			show = show || len(a.queue) == 1
		}
		if a.known[r.ID] == r.State {
			continue
		}
		a.known[r.ID] = r.State
		fresh := now.Sub(r.Created) <= a.opt.DialogMaxAge
		if r.State == request.Pending && fresh {
			dismiss = append(dismiss, r)
		}
		switch {
		case r.State == request.Pending && r.Kind == request.DenyNotify:
			// A notification (if it is news) and nothing else.
			blocked = append(blocked, r)
		case r.State == request.Pending && dialogKind(r.Kind) != "":
			if fresh {
				a.queue = append(a.queue, a.dialogFor(r))
				show = show || len(a.queue) == 1
			}
		case r.Notified:
			// The user was told of this state before (by an earlier run).
		case r.State == request.Submitted, r.State == request.Approved, r.State == request.Denied:
			decided = append(decided, r)
		}
		if !r.State.Open() {
			a.dropLocked(r.ID)
		}
	}
	snap := a.snapshotLocked()
	var cur *Dialog
	if len(a.queue) > 0 {
		cur = a.queue[0]
	}
	a.mu.Unlock()
	if show && cur != nil {
		a.log.Debug("showing dialog", "request", cur.RequestID, "kind", cur.Kind)
		a.opt.UI.Show(cur)
	}
	for _, r := range dismiss {
		a.dismissAlert(ctx, r)
	}
	for _, r := range blocked {
		a.blockedNotice(ctx, r, now.Sub(r.Created) <= a.opt.DialogMaxAge)
	}
	for _, r := range decided {
		a.decisionNotice(ctx, r)
	}
	if a.opt.Tray != nil {
		a.opt.Tray.Update(snap)
	}
	return nil
}

// dropLocked removes request id's dialog from the queue if it is not the
// one on screen (a dialog on screen stays until the user closes it: its
// buttons then report that the request was closed elsewhere).
func (a *Agent) dropLocked(id int64) {
	for i := 1; i < len(a.queue); i++ {
		if a.queue[i].RequestID == id {
			a.queue = append(a.queue[:i], a.queue[i+1:]...)
			return
		}
	}
}

func (a *Agent) snapshotLocked() Snapshot {
	s := a.snap
	s.Pending = append([]localapi.Request(nil), s.Pending...)
	s.Recent = append([]localapi.Request(nil), s.Recent...)
	if s.Admin != nil {
		ad := *s.Admin
		s.Admin = &ad
	}
	return s
}

// dialogKind maps a request kind to the dialog that answers it.
func dialogKind(kind request.Kind) string {
	switch kind {
	case request.Warning:
		return DialogWarning
	case request.Justification:
		return DialogJustification
	case request.Approval:
		return DialogApproval
	case request.ApprovalOffline:
		return DialogApprovalOffline
	case request.DenyMessage:
		return DialogDenied
	}
	return ""
}

func (a *Agent) dialogFor(r localapi.Request) *Dialog {
	d := &Dialog{
		RequestID: r.ID, Kind: dialogKind(r.Kind), Title: r.Title, Body: r.Body, URL: r.URL,
		Company: a.opt.Company, MinJustification: r.MinJustification, State: r.State,
		Program: Program{Name: programName(r.Path), Path: r.Path, SHA256: r.SHA256, Publisher: r.Publisher,
			TeamID: r.TeamID, SigningID: r.SigningID, AppType: r.AppType, Args: r.Args, Terminal: r.Terminal},
	}
	if d.Title == "" {
		d.Title = defaultTitle(d.Kind, d.Program.Name)
	}
	if r.Kind == request.ApprovalOffline && (r.RequestCode == "" || r.Route == request.RouteConsole) {
		// The daemon has no offline secret, or the console answers: a
		// plain approval request (the console decides it).
		d.Kind = DialogApproval
	}
	if d.Kind == DialogApprovalOffline {
		d.Computer, d.RequestCode, d.PolicyRevision = r.Machine, r.RequestCode, r.PolicyRevision
	}
	return d
}

func programName(path string) string {
	name := filepath.Base(path)
	// An app bundle's executable: name the bundle.
	if i := strings.Index(path, ".app/Contents/MacOS/"); i >= 0 {
		name = strings.TrimSuffix(filepath.Base(path[:i+4]), ".app")
	}
	return name
}

func defaultTitle(kind, name string) string {
	switch kind {
	case DialogWarning:
		return name + " needs your confirmation"
	case DialogJustification:
		return name + " needs a reason to run"
	case DialogApproval, DialogApprovalOffline:
		return name + " needs approval"
	}
	return name + " is not allowed"
}

// current returns the dialog on screen, or nil.
func (a *Agent) current() *Dialog {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.queue) == 0 {
		return nil
	}
	return a.queue[0]
}

// next closes the dialog of request id and shows the next one, if any.
func (a *Agent) next(id int64) {
	a.mu.Lock()
	if len(a.queue) > 0 && a.queue[0].RequestID == id {
		a.queue = a.queue[1:]
	}
	var cur *Dialog
	if len(a.queue) > 0 {
		cur = a.queue[0]
	}
	a.mu.Unlock()
	a.opt.UI.Show(cur)
}

// request returns the last known state of request id.
func (a *Agent) request(id int64) (localapi.Request, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.reqs[id]
	return r, ok
}

// errText turns an API error into what the dialog shows: the daemon's
// own message, or what to do when it is not running.
func errText(err error) error {
	var nr *localapi.NotRunningError
	if errors.As(err, &nr) {
		return errors.New("Gatehouse is not running on this computer, so the request could not be sent. Try again later or contact your IT department.")
	}
	return err
}

func requestNotificationID(id int64) string { return "request-" + strconv.FormatInt(id, 10) }

func requestIDFromNotification(id string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimPrefix(id, "request-"), 10, 64)
	return n, err == nil && strings.HasPrefix(id, "request-") && n > 0
}

// dismissRetries are when, by default, the agent looks for the system's alert about a
// denied app after it learns of the deny: the alert may come up a little
// after the daemon's answer reaches the agent. Bounded: after the last,
// the agent leaves it.
var dismissRetries = []time.Duration{0, 300 * time.Millisecond, time.Second, 2 * time.Second}

// dismissAlert closes the system's alert about r's program (macOS: "“X”
// can't be opened"), for an app bundle started without a terminal (from
// Finder, the Dock, `open`: LaunchServices shows that alert; a terminal
// gets the daemon's message instead). It runs on its own goroutine, for
// a few seconds at most. A missing permission is said once, in the log and
// the menu.
func (a *Agent) dismissAlert(ctx context.Context, r localapi.Request) {
	name, ok := alerts.AppName(r.Path)
	if a.opt.Dismisser == nil || r.Terminal || !ok {
		return
	}
	go func() {
		for _, d := range a.opt.DismissAfter {
			select {
			case <-ctx.Done():
				return
			case <-time.After(d):
			}
			err := a.opt.Dismisser.Dismiss(ctx, name)
			switch {
			case err == nil:
				a.log.Debug("dismissed the system's alert", "request", r.ID, "app", name)
				return
			case errors.Is(err, alerts.ErrNoAlert):
				continue
			case errors.Is(err, alerts.ErrNotPermitted):
				if a.dismissWarned.CompareAndSwap(false, true) {
					a.log.Warn("cannot close the system's \"can't be opened\" alerts", "err", err)
					a.mu.Lock()
					a.snap.Warning = "Allow Gatehouse to control System Events to close macOS's \"can't be opened\" alerts (see docs/agent.md)"
					snap := a.snapshotLocked()
					a.mu.Unlock()
					if a.opt.Tray != nil {
						a.opt.Tray.Update(snap)
					}
				}
				return
			case errors.Is(err, errors.ErrUnsupported):
				return
			default:
				a.log.Warn("closing the system's alert failed", "request", r.ID, "app", name, "err", err)
				return
			}
		}
	}()
}
