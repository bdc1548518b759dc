package enforcer

import (
	"context"
	"fmt"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/policy"
	"github.com/gatehouse/gatehouse/sudoers"
)

// The life of admin sessions once granted (docs/elevation.md): which are
// running (the hot path tags their execs), their ends — at their time, at
// the user's logout or screen lock, by the user — and what an end leaves
// behind (root processes the user started, the administrators group).

// adminSession is a running admin session as the exec path sees it.
type adminSession struct {
	grant int64
	until time.Time
}

// sessionSet maps uids to their running admin sessions; it is replaced,
// never changed, so the exec path reads it without a lock.
type sessionSet map[uint32]adminSession

// endedSession is a user's last ended admin session, for the agent to tell
// them (status).
type endedSession struct {
	grant     int64
	at        time.Time
	why       string
	stillRoot []RootProcess
}

// RootProcess is a process running as root that a user started through
// sudo (its nearest ancestor not running as root is theirs).
type RootProcess struct {
	PID int32
	Exe string
	TTY string
}

// Process is one process of the machine, for the root processes an
// admin session leaves behind.
type Process struct {
	PID, PPID int32
	UID       uint32 // real
	Exe       string
	TTY       string
}

// ProcessLister is a Tasks that can list every process (Linux: /proc).
type ProcessLister interface {
	Processes() ([]Process, error)
}

// sessionState is the engine's bookkeeping of admin sessions.
type sessionState struct {
	mu    sync.Mutex // serializes syncSessions and ends
	timer *time.Timer
	ended map[uint32]endedSession
}

// endedShown is how long status reports a user's ended session.
const endedShown = 15 * time.Minute

func (e *Engine) runningSessions() sessionSet {
	if p := e.sessions.Load(); p != nil {
		return *p
	}
	return nil
}

// syncSessions ends the admin sessions whose time is up, takes leftover
// members out of the administrators group, and publishes the running
// sessions; it is called at start, every minute, at each session's start
// and end (a timer), and after every change.
func (e *Engine) syncSessions(ctx context.Context) {
	e.sess.mu.Lock()
	defer e.sess.mu.Unlock()
	e.syncSessionsLocked(ctx)
}

func (e *Engine) syncSessionsLocked(ctx context.Context) {
	now := e.now()
	ended, err := e.store.EndedGrants(ctx, store.GrantAdmin, now)
	if err != nil {
		e.log.Warn("admin sessions: read ended ones", "err", err)
	}
	for _, g := range ended {
		if err := e.endAdminLocked(ctx, g, "ended at its time"); err != nil {
			e.log.Warn("admin session end", "grant", g.ID, "err", err)
		}
	}
	gs, err := e.store.ActiveGrants(ctx, now)
	if err != nil {
		e.log.Warn("admin sessions: read running ones", "err", err)
		return
	}
	e.leaveGroup(ctx, now, gs)
	set := sessionSet{}
	var next time.Time
	soonest := func(t time.Time) {
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	for _, g := range gs {
		if g.Kind != store.GrantAdmin {
			continue
		}
		if g.NotBefore.After(now) {
			soonest(g.NotBefore)
			continue
		}
		set[g.UID] = adminSession{grant: g.ID, until: g.Expires}
		soonest(g.Expires)
	}
	old := e.runningSessions()
	for _, g := range gs {
		// A session that started since (its window began), or one this
		// run has not seen: its user joins the administrators group (a
		// member already is left as they are).
		if g.Kind == store.GrantAdmin && !g.GroupAdded && set[g.UID].grant == g.ID && old[g.UID].grant != g.ID {
			if err := e.joinGroup(ctx, &g); err != nil {
				e.log.Error("admin session started but its user is not an administrator", "grant", g.ID, "err", err)
			}
		}
	}
	e.sessions.Store(&set)
	// Agents are told only now: what status says of sessions is this set
	// (a change announced before it is published is read as no change).
	if !sameSessions(old, set) {
		e.changed()
	}
	for uid, s := range set {
		if old[uid].grant != s.grant {
			// The kernel remembers allowed files for every user: forget
			// them so the session's execs are all seen (and tagged).
			if err := e.flushKernel(); err != nil {
				e.log.Error("kernel cache not flushed at an admin session's start: some of its execs may not be tagged", "err", err)
			}
			break
		}
	}
	if e.sess.timer != nil {
		e.sess.timer.Stop()
	}
	if !next.IsZero() {
		e.sess.timer = time.AfterFunc(next.Sub(now)+50*time.Millisecond, func() { e.syncSessions(context.Background()) })
	}
}

func sameSessions(a, b sessionSet) bool {
	if len(a) != len(b) {
		return false
	}
	for uid, s := range a {
		if b[uid] != s {
			return false
		}
	}
	return true
}

// endAdminLocked ends admin session g (revoked, its drop-in removed, its
// user taken out of the administrators group if the session put them
// there), records why and what root processes it leaves, and tells their
// terminals. Under e.sess.mu.
func (e *Engine) endAdminLocked(ctx context.Context, g store.Grant, why string) error {
	if err := e.store.RevokeGrant(ctx, g.ID); err != nil {
		return err
	}
	var errs []string
	if err := sudoers.Dir(e.cfg.SudoersDir).Remove(adminName(g.ID)); err != nil {
		errs = append(errs, err.Error())
	}
	if g.GroupAdded {
		if err := e.removeFromGroup(ctx, g); err != nil {
			errs = append(errs, err.Error())
		}
	}
	left := e.rootProcesses(g.UID)
	detail := "admin session " + why
	if len(left) > 0 {
		detail += "; still running as root, started by the user: " + describeRoot(left)
	}
	if len(errs) > 0 {
		detail += "; " + strings.Join(errs, "; ")
	}
	e.record(store.Event{Kind: "admin_session", Action: "end", UID: g.UID, User: e.users.userName(g.UID), GrantID: g.ID,
		AppType: adminAppType, Detail: detail})
	if e.sess.ended == nil {
		e.sess.ended = map[uint32]endedSession{}
	}
	e.sess.ended[g.UID] = endedSession{grant: g.ID, at: e.now(), why: why, stillRoot: left}
	if *e.cfg.TTYMessages {
		var told []string
		for _, p := range left {
			if p.TTY != "" && !slices.Contains(told, p.TTY) {
				told = append(told, p.TTY)
				e.sayOnTTY(ttyMessage{tty: p.TTY, text: fmt.Sprintf(
					"\r\ngatehouse: your admin session %s; what you started as root here (%s) keeps root until it exits\r\n",
					why, describeRoot(left))})
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("admin session %d: %s", g.ID, strings.Join(errs, "; "))
	}
	return nil
}

func describeRoot(ps []RootProcess) string {
	var b strings.Builder
	for i, p := range ps {
		if i == 10 {
			fmt.Fprintf(&b, ", and %d more", len(ps)-i)
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s (pid %d)", p.Exe, p.PID)
	}
	return b.String()
}

// rootProcesses are the processes running as root whose nearest ancestor
// not running as root belongs to uid: what the user started through sudo
// and is still running. Nil when the tasks cannot list processes.
func (e *Engine) rootProcesses(uid uint32) []RootProcess {
	pl, ok := e.tasks.(ProcessLister)
	if !ok || uid == 0 {
		return nil
	}
	ps, err := pl.Processes()
	if err != nil {
		e.log.Warn("admin session end: list processes", "err", err)
		return nil
	}
	byPID := make(map[int32]Process, len(ps))
	for _, p := range ps {
		byPID[p.PID] = p
	}
	var out []RootProcess
	for _, p := range ps {
		if p.UID != 0 {
			continue
		}
		// Up through root processes to the first that is not.
		q := p
		for range maxAncestors {
			parent, ok := byPID[q.PPID]
			if !ok || parent.UID != 0 {
				if ok && parent.UID == uid {
					out = append(out, RootProcess{PID: p.PID, Exe: p.Exe, TTY: p.TTY})
				}
				break
			}
			q = parent
		}
	}
	slices.SortFunc(out, func(a, b RootProcess) int { return int(a.PID - b.PID) })
	return out
}

// sessionOf is the admin session an exec by task (pid) runs in: the
// user's own, or — for a root process — that of the user whose process
// became root (the nearest ancestor not running as root). Reading the
// chain may block: on the reader loop, deferred says to decide off it.
func (e *Engine) sessionOf(set sessionSet, task Task, pid int32, onLoop bool) (grant int64, deferred bool) {
	if s, ok := set[task.UID]; ok {
		return s.grant, false
	}
	if task.UID != 0 {
		return 0, false
	}
	if onLoop {
		return 0, true
	}
	anc, _ := e.tasks.Ancestors(pid, maxAncestors)
	for _, a := range anc {
		t, err := e.tasks.Task(a.PID)
		if err != nil {
			return 0, false
		}
		if t.UID != 0 {
			return set[t.UID].grant, false
		}
	}
	return 0, false
}

// SessionEnded ends the admin session of a user who logged out or locked
// the screen. It does not wait (the source calls it; a user name is looked
// up off its goroutine).
func (e *Engine) SessionEnded(s SessionEnd) {
	if len(e.runningSessions()) == 0 {
		return
	}
	go func() {
		uid := s.UID
		if s.User != "" {
			u, err := user.Lookup(s.User)
			if err != nil {
				e.log.Warn("session end of an unknown user", "user", s.User, "why", s.Why, "err", err)
				return
			}
			n, err := strconv.ParseUint(u.Uid, 10, 32)
			if err != nil {
				return
			}
			uid = uint32(n)
		}
		if _, ok := e.runningSessions()[uid]; !ok {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		e.sess.mu.Lock()
		defer e.sess.mu.Unlock()
		g, ok, err := e.activeAdmin(ctx, uid, e.now())
		if err != nil || !ok {
			return
		}
		if err := e.endAdminLocked(ctx, g, "ended at "+s.Why); err != nil {
			e.log.Warn("admin session end", "grant", g.ID, "err", err)
		}
		e.syncSessionsLocked(ctx)
	}()
}

// joinGroup makes g's user a member of the administrators group, where
// the platform has one, and records whether the session did.
func (e *Engine) joinGroup(ctx context.Context, g *store.Grant) error {
	if e.adminGroup == nil {
		return nil
	}
	name := e.users.userName(g.UID)
	if strings.HasPrefix(name, "#") {
		return fmt.Errorf("uid %d has no user name, which the administrators group needs", g.UID)
	}
	added, err := e.adminGroup.Add(name)
	if err != nil {
		return fmt.Errorf("make %s an administrator: %w", name, err)
	}
	if !added {
		return nil // an administrator already: never taken out
	}
	g.GroupAdded = true
	if err := e.store.SetGroupAdded(ctx, g.ID, true); err != nil {
		e.adminGroup.Remove(name)
		return err
	}
	return nil
}

func (e *Engine) removeFromGroup(ctx context.Context, g store.Grant) error {
	if e.adminGroup == nil {
		return fmt.Errorf("grant %d put its user in the administrators group, which this platform has not", g.ID)
	}
	name := e.users.userName(g.UID)
	if err := e.adminGroup.Remove(name); err != nil {
		return fmt.Errorf("take %s out of the administrators group: %w", name, err)
	}
	return e.store.SetGroupAdded(ctx, g.ID, false)
}

// leaveGroup takes out of the administrators group the users whose
// sessions ended without it (a crash between the two steps, a failed
// removal). A user whose new session runs stays in, and that session
// takes them out at its end.
func (e *Engine) leaveGroup(ctx context.Context, now time.Time, active []store.Grant) {
	if e.adminGroup == nil {
		return
	}
	gs, err := e.store.GroupLeftover(ctx, now)
	if err != nil {
		e.log.Warn("admin sessions: read leftover group members", "err", err)
		return
	}
	for _, g := range gs {
		if i := slices.IndexFunc(active, func(a store.Grant) bool { return a.Kind == store.GrantAdmin && a.UID == g.UID }); i >= 0 {
			if err := e.store.SetGroupAdded(ctx, active[i].ID, true); err == nil {
				e.store.SetGroupAdded(ctx, g.ID, false)
			}
			continue
		}
		if err := e.removeFromGroup(ctx, g); err != nil {
			e.log.Error("admin session ended but its user is still an administrator; retried every minute", "grant", g.ID, "err", err)
		}
	}
}

// AdminStatus is the caller's admin session as status reports it.
type AdminStatus struct {
	// GrantID and Until name the running session; 0 when none runs.
	GrantID int64
	Until   time.Time
	// Ended is the last session that ended in the past 15 minutes (since
	// gatehoused started); nil when none did.
	Ended *EndedAdmin
	// Offer is what the policy lets the caller ask for; nil when no
	// admin_sessions entry includes them.
	Offer *AdminOffer
}

// EndedAdmin is an admin session that ended: when, why, and what the user
// started as root that still runs.
type EndedAdmin struct {
	GrantID   int64
	At        time.Time
	Why       string
	StillRoot []RootProcess
}

// AdminOffer is the admin_sessions entry that includes a user.
type AdminOffer struct {
	Entry            string
	Require          string // "" (none), "justification", "approval", "approval_offline"
	MinJustification int
	Max, Default     time.Duration
}

func (e *Engine) adminStatus(a Actor) *AdminStatus {
	if a.Kind != ActorUser && a.Kind != ActorAgent {
		return nil
	}
	st := &AdminStatus{}
	if s, ok := e.runningSessions()[a.UID]; ok {
		st.GrantID, st.Until = s.grant, s.until
	}
	e.sess.mu.Lock()
	if x, ok := e.sess.ended[a.UID]; ok && e.now().Sub(x.at) < endedShown {
		st.Ended = &EndedAdmin{GrantID: x.grant, At: x.at, Why: x.why, StillRoot: x.stillRoot}
	}
	e.sess.mu.Unlock()
	f := &policy.Facts{User: a.User, UID: a.UID, Groups: e.users.groupNames(a.GIDs)}
	if d, ok := e.pol.Load().eng.AdminSession(f); ok {
		st.Offer = &AdminOffer{Entry: d.Name, MinJustification: d.MinJustification, Max: d.Max, Default: d.Default}
		if d.Require != policy.ActionUnset {
			st.Offer.Require = d.Require.String()
		}
	}
	return st
}
