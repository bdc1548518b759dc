// Package consolesync is the sync service's logic: it carries approval
// requests from gatehoused up to the console and the console's decisions
// back down. It runs unprivileged (the configured sync_user, an actor of
// its own in gatehoused), off every exec path: gatehoused never waits for
// it, and it is not trusted with decisions — gatehoused applies only what
// the console signed with the key pinned at enrollment. It keeps its place
// (the last decision applied, the requests uploaded) in a state file, so a
// restart neither loses nor repeats anything, and backs off while the
// console or gatehoused is away.
package consolesync

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/console/server"
	"github.com/gatehouse/gatehouse/console/store"
	"github.com/gatehouse/gatehouse/internal/version"
	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/request"
)

// Local is what the sync needs of gatehoused (*localapi.Client).
type Local interface {
	Requests(ctx context.Context, states ...request.State) ([]localapi.Request, error)
	Changes(ctx context.Context, after uint64, wait time.Duration) (localapi.Changes, error)
	ConsoleDecide(ctx context.Context, id int64, d localapi.ConsoleDecision) (localapi.AnswerResult, error)
	Events(ctx context.Context, f localapi.EventFilter) ([]localapi.Event, error)
	Status(ctx context.Context) (localapi.Status, error)
	ApplyConsolePolicy(ctx context.Context, p localapi.ConsolePolicy) (localapi.Status, error)
	ConsoleReached(ctx context.Context, uploaded []int64) error
	ConsoleKeys(ctx context.Context, k localapi.ConsoleKeys) error
}

// Console is what it needs of the console (*client.Client).
type Console interface {
	UploadRequest(ctx context.Context, r server.RequestUpload) (int64, error)
	Decisions(ctx context.Context, after int64, wait time.Duration) ([]server.DecisionWire, *server.KeysWire, error)
	UploadEvents(ctx context.Context, evs []server.EventWire) (int, error)
	Policy(ctx context.Context, have int64, wait time.Duration) (*server.PolicyWire, *server.KeysWire, error)
	ReportVersions(ctx context.Context, v server.VersionsReport) error
}

// Options configure a Sync.
type Options struct {
	Local   Local
	Console Console
	// State is the state file (the sync user's, 0600).
	State  string
	Logger *slog.Logger
	// Wait is the long polls' wait (default 20 s: each poll's answer tells
	// gatehoused the console is reached, which must come more often than
	// its console_fallback); Backoff the first
	// retry delay, doubled up to MaxBackoff (1 s, 30 s).
	Wait, Backoff, MaxBackoff time.Duration
	// EventsEvery is how often audit events are looked for once all are
	// uploaded (default 2 s): they come in batches, not one by one.
	EventsEvery time.Duration
	// SaveKeys keeps the console's signing keys after gatehoused took new
	// ones (a rotation), with the sync's identity; nil keeps nothing.
	SaveKeys func(keys [][]byte) error
}

// Sync carries requests and decisions.
type Sync struct {
	opt Options
	log *slog.Logger

	mu    sync.Mutex
	state state
	keys  [][]byte // the signing keys last kept (takeKeys)

	// The versions last reported to the console, and when.
	reported   string
	reportedAt time.Time
}

// state is what survives a restart.
type state struct {
	// DecisionSeq is the last console decision handed to gatehoused.
	DecisionSeq int64 `json:"decision_seq"`
	// Uploaded are the local request ids uploaded and still open.
	Uploaded []int64 `json:"uploaded"`
	// EventID is the last audit event uploaded.
	EventID int64 `json:"event_id"`
}

// New returns a sync; Run starts it.
func New(opt Options) (*Sync, error) {
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Wait == 0 {
		opt.Wait = 20 * time.Second
	}
	if opt.Backoff == 0 {
		opt.Backoff = time.Second
	}
	if opt.MaxBackoff == 0 {
		opt.MaxBackoff = 30 * time.Second
	}
	if opt.EventsEvery == 0 {
		opt.EventsEvery = 2 * time.Second
	}
	s := &Sync{opt: opt, log: opt.Logger}
	b, err := os.ReadFile(opt.State)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("sync state: %w", err)
	default:
		if err := json.Unmarshal(b, &s.state); err != nil {
			return nil, fmt.Errorf("sync state %s: %w (move it aside: the sync then uploads the open requests again, which is harmless)", opt.State, err)
		}
	}
	return s, nil
}

// save writes the state atomically (temp file, rename).
func (s *Sync) saveLocked() error {
	b, _ := json.Marshal(s.state)
	tmp := s.opt.State + ".tmp"
	if err := os.MkdirAll(filepath.Dir(s.opt.State), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, s.opt.State)
}

// Run carries requests up and decisions down until ctx ends.
func (s *Sync) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(4)
	go func() { defer wg.Done(); s.loop(ctx, "upload requests", s.uploadOnce) }()
	go func() { defer wg.Done(); s.loop(ctx, "apply decisions", s.decisionsOnce) }()
	go func() { defer wg.Done(); s.loop(ctx, "upload audit events", s.eventsOnce) }()
	go func() { defer wg.Done(); s.loop(ctx, "apply policies", s.policyOnce) }()
	wg.Wait()
	return nil
}

// loop runs step until ctx ends, backing off after failures.
func (s *Sync) loop(ctx context.Context, what string, step func(context.Context) error) {
	backoff := s.opt.Backoff
	for ctx.Err() == nil {
		if err := step(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			s.log.Warn("sync: retrying", "what", what, "in", backoff, "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, s.opt.MaxBackoff)
			continue
		}
		backoff = s.opt.Backoff
	}
}

// uploadable is a request the console decides: an approval the user
// submitted.
func uploadable(r localapi.Request) bool {
	return r.State == request.Submitted && (r.Kind == request.Approval || r.Kind == request.ApprovalOffline)
}

// uploadOnce uploads what is submitted and not yet uploaded, then waits
// for gatehoused's requests to change.
func (s *Sync) uploadOnce(ctx context.Context) error {
	ch, err := s.opt.Local.Changes(ctx, 0, 0) // the current sequence
	if err != nil {
		return err
	}
	rs, err := s.opt.Local.Requests(ctx, request.Submitted)
	if err != nil {
		return err
	}
	open := map[int64]bool{}
	for _, r := range rs {
		if !uploadable(r) {
			continue
		}
		open[r.ID] = true
		s.mu.Lock()
		done := slices.Contains(s.state.Uploaded, r.ID)
		s.mu.Unlock()
		if done {
			continue
		}
		if _, err := s.opt.Console.UploadRequest(ctx, upload(r)); err != nil {
			return fmt.Errorf("upload request %d: %w", r.ID, err)
		}
		s.log.Info("sync: request uploaded", "request", r.ID, "path", r.Path, "user", r.User)
		s.mu.Lock()
		s.state.Uploaded = append(s.state.Uploaded, r.ID)
		err := s.saveLocked()
		s.mu.Unlock()
		if err != nil {
			return fmt.Errorf("save sync state: %w", err)
		}
		s.reached(ctx)
	}
	// Forget the ones no longer open: the list stays the open requests.
	s.mu.Lock()
	kept := slices.DeleteFunc(slices.Clone(s.state.Uploaded), func(id int64) bool { return !open[id] })
	if len(kept) != len(s.state.Uploaded) {
		s.state.Uploaded = kept
		s.saveLocked()
	}
	s.mu.Unlock()
	_, err = s.opt.Local.Changes(ctx, ch.Seq, s.opt.Wait)
	return err
}

// takeKeys hands gatehoused the console's signing keys a reply announced
// (a rotation), before what they sign, and keeps them with the identity
// once it took them. nil: none announced.
func (s *Sync) takeKeys(ctx context.Context, k *server.KeysWire) error {
	if k == nil {
		return nil
	}
	if err := s.opt.Local.ConsoleKeys(ctx, localapi.ConsoleKeys{Keys: k.Keys, Signature: k.Signature}); err != nil {
		return fmt.Errorf("hand gatehoused the console's new signing keys: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if slices.EqualFunc(k.Keys, s.keys, bytes.Equal) {
		return nil
	}
	if s.opt.SaveKeys != nil {
		if err := s.opt.SaveKeys(k.Keys); err != nil {
			return fmt.Errorf("keep the console's new signing keys: %w", err)
		}
	}
	s.keys = k.Keys
	s.log.Info("sync: the console rotated its signing key; gatehoused has the new one", "keys", len(k.Keys))
	return nil
}

// reached tells gatehoused the console answered just now and which
// requests are on it: its approval_offline requests go to the console
// while this keeps coming, and fall back to the offline codes when it
// stops (console_fallback). Not being able to say so is no reason to stop.
func (s *Sync) reached(ctx context.Context) {
	s.mu.Lock()
	up := slices.Clone(s.state.Uploaded)
	s.mu.Unlock()
	if err := s.opt.Local.ConsoleReached(ctx, up); err != nil && ctx.Err() == nil {
		s.log.Warn("sync: could not tell gatehoused the console is reached", "err", err)
	}
}

func upload(r localapi.Request) server.RequestUpload {
	facts, _ := json.Marshal(map[string]any{"app_type": r.AppType, "publisher": r.Publisher, "team_id": r.TeamID,
		"signing_id": r.SigningID, "args": r.Args, "cwd": r.Cwd, "machine": r.Machine})
	return server.RequestUpload{EndpointID: r.ID, Created: r.Created, UID: r.UID, User: r.User, Kind: string(r.Kind), Path: r.Path,
		SHA256: r.SHA256, Facts: facts, Reason: r.Reason, WindowStart: r.WindowStart, WindowEnd: r.WindowEnd, Rule: r.Rule,
		PolicyRevision: r.PolicyRevision, ApprovalsNeeded: r.Approvers}
}

// decisionsOnce waits for the console's next decisions and hands each to
// gatehoused, saving its place after each.
func (s *Sync) decisionsOnce(ctx context.Context) error {
	s.mu.Lock()
	after := s.state.DecisionSeq
	s.mu.Unlock()
	ds, keys, err := s.opt.Console.Decisions(ctx, after, s.opt.Wait)
	if err != nil {
		return err
	}
	s.reached(ctx)
	if err := s.takeKeys(ctx, keys); err != nil {
		return err
	}
	for _, d := range ds {
		_, err := s.opt.Local.ConsoleDecide(ctx, d.EndpointID, localapi.ConsoleDecision{Approve: d.Approve, WindowStart: d.WindowStart,
			WindowEnd: d.WindowEnd, PolicyRevision: d.PolicyRevision, DecidedBy: d.DecidedBy, Note: d.Note, Signature: d.Signature})
		var ae *localapi.APIError
		switch {
		case err == nil:
			s.log.Info("sync: decision applied", "request", d.EndpointID, "approve", d.Approve, "by", d.DecidedBy)
		case errors.As(err, &ae) && ae.Status < 500:
			// gatehoused refused it for good (decided meanwhile, a
			// signature that does not verify): nothing to retry.
			s.log.Warn("sync: gatehoused refused a decision", "request", d.EndpointID, "err", err)
		default:
			return fmt.Errorf("hand decision %d to gatehoused: %w", d.Seq, err)
		}
		s.mu.Lock()
		s.state.DecisionSeq = d.Seq
		err = s.saveLocked()
		s.mu.Unlock()
		if err != nil {
			return fmt.Errorf("save sync state: %w", err)
		}
	}
	return nil
}

// eventBatch bounds one upload of audit events.
const eventBatch = 500

// eventsOnce uploads the audit events after the last one uploaded, a batch
// at a time, at least once each (the console keeps one copy of each), and
// saves its place after each batch; with none new it waits EventsEvery.
func (s *Sync) eventsOnce(ctx context.Context) error {
	s.mu.Lock()
	after := s.state.EventID
	s.mu.Unlock()
	evs, err := s.opt.Local.Events(ctx, localapi.EventFilter{AfterID: after, Limit: eventBatch})
	if err != nil {
		return err
	}
	if len(evs) == 0 {
		select {
		case <-ctx.Done():
		case <-time.After(s.opt.EventsEvery):
		}
		return nil
	}
	wire := make([]server.EventWire, 0, len(evs))
	for _, e := range evs {
		detail, _ := json.Marshal(map[string]any{"rule_name": e.RuleName, "group": e.Group, "policy_id": e.PolicyID, "pid": e.PID,
			"args": e.Args, "groups": e.Groups, "parent": e.Parent, "parents": e.Parents, "app_type": e.AppType, "source": e.Source, "reason": e.Reason, "grant_id": e.GrantID,
			"request_id": e.RequestID, "count": e.Count, "detail": e.Detail, "session": e.Session})
		wire = append(wire, server.EventWire{ID: e.ID, Time: e.Time, Kind: e.Kind, Action: e.Action, Allowed: e.Allowed, Rule: e.Rule,
			PolicyRevision: e.PolicyRevision, UID: e.UID, User: e.User, Path: e.Path, SHA256: e.SHA256, Detail: detail})
	}
	if _, err := s.opt.Console.UploadEvents(ctx, wire); err != nil {
		return err
	}
	s.reached(ctx)
	s.mu.Lock()
	s.state.EventID = evs[len(evs)-1].ID
	err = s.saveLocked()
	s.mu.Unlock()
	return err
}

// versionsEvery is how often the versions are reported again unchanged
// (the agents' last-seen times move on).
const versionsEvery = time.Hour

// reportVersions tells the console what the machine runs (gatehoused, this
// sync, each user's agent) when it changed or an hour after the last
// report. A console that cannot take it (older than the report) is told
// again at the next change; nothing else waits for it.
func (s *Sync) reportVersions(ctx context.Context, st localapi.Status) {
	v := server.VersionsReport{Daemon: st.DaemonVersion, Sync: version.String(), Agents: []store.AgentVersion{}}
	key := v.Daemon + "\x00" + v.Sync
	for _, a := range st.Agents {
		v.Agents = append(v.Agents, store.AgentVersion{User: a.User, Version: a.Version, LastSeen: a.LastSeen})
		key += "\x00" + a.User + "=" + a.Version
	}
	if key == s.reported && time.Since(s.reportedAt) < versionsEvery {
		return
	}
	if err := s.opt.Console.ReportVersions(ctx, v); err != nil {
		s.log.Warn("sync: the console did not take the versions this machine runs", "err", err)
	}
	s.reported, s.reportedAt = key, time.Now()
}

// policyOnce waits for a policy newer than the one gatehoused runs and
// hands it over; gatehoused verifies it again and refuses an older one.
func (s *Sync) policyOnce(ctx context.Context) error {
	st, err := s.opt.Local.Status(ctx)
	if err != nil {
		return err
	}
	s.reportVersions(ctx, st)
	p, keys, err := s.opt.Console.Policy(ctx, st.PolicyRevision, s.opt.Wait)
	if err != nil {
		return err
	}
	s.reached(ctx)
	if err := s.takeKeys(ctx, keys); err != nil {
		return err
	}
	if p == nil {
		return nil
	}
	after, err := s.opt.Local.ApplyConsolePolicy(ctx, localapi.ConsolePolicy{Revision: p.Revision, Body: p.Body, Signature: p.Signature})
	var ae *localapi.APIError
	switch {
	case err == nil:
		s.log.Info("sync: policy applied", "policy", p.Name, "revision", after.PolicyRevision)
	case errors.As(err, &ae) && ae.Status < 500:
		// Refused for good (it does not compile here, an older revision):
		// said once per revision, then the next poll waits for a newer.
		s.log.Error("sync: gatehoused refused the console's policy", "policy", p.Name, "revision", p.Revision, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(s.opt.MaxBackoff):
		}
		return nil
	default:
		return err
	}
	return nil
}
