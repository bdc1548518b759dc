// Package apiserver serves the local API (package localapi's contract) over
// a Unix socket: it takes each connection's identity from the kernel (peer
// credentials, per OS), routes requests, maps JSON to and from localapi's
// wire types, and maps the engine's typed errors to HTTP statuses.
//
// It holds no engine state and decides nothing: who may do what is the
// engine's (enforcer.Engine.Identify and the operations' own checks).
package apiserver

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/internal/version"
	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/policy"
	"github.com/gatehouse/gatehouse/request"
)

// Engine is what the server serves: the operations of enforcer.Engine.
type Engine interface {
	Identify(enforcer.Peer) enforcer.Actor
	Status(enforcer.Actor) (enforcer.Status, error)
	ReloadAs(enforcer.Actor) (enforcer.Status, error)
	Events(context.Context, enforcer.Actor, store.Filter) ([]store.Event, error)
	Requests(context.Context, enforcer.Actor, []request.State) ([]store.Request, error)
	Request(context.Context, enforcer.Actor, int64) (store.Request, error)
	Answer(context.Context, enforcer.Actor, int64, enforcer.Answer) (enforcer.AnswerResult, error)
	MarkSeen(context.Context, enforcer.Actor, int64) (store.Request, error)
	OfflineCode(context.Context, enforcer.Actor, int64, string) (enforcer.AnswerResult, error)
	WaitChanges(context.Context, enforcer.Actor, uint64, time.Duration) (enforcer.Changes, error)
	Decide(context.Context, enforcer.Actor, int64, bool, string) (enforcer.AnswerResult, error)
	ConsoleDecide(context.Context, enforcer.Actor, enforcer.ConsoleDecision) (enforcer.AnswerResult, error)
	ConsoleReached(context.Context, enforcer.Actor, []int64) error
	ConsoleKeys(context.Context, enforcer.Actor, [][]byte, []byte) error
	ApprovalRoute(store.Request) string
	ApplyConsolePolicy(context.Context, enforcer.Actor, enforcer.ConsolePolicy) (enforcer.Status, error)
	Grants(context.Context, enforcer.Actor) ([]store.Grant, error)
	Check(context.Context, enforcer.Actor, enforcer.CheckQuery) (enforcer.CheckResult, error)
	Sudo(context.Context, enforcer.Actor, enforcer.SudoQuery) (enforcer.SudoResult, error)
	AdminSession(context.Context, enforcer.Actor, enforcer.AdminQuery) (enforcer.AdminResult, error)
	EndAdmin(context.Context, enforcer.Actor) (enforcer.AdminResult, error)
	Authorize(context.Context, enforcer.Actor, enforcer.AuthQuery) (enforcer.AuthResult, error)
}

// Server is the local API over an Engine.
type Server struct {
	eng Engine
	log *slog.Logger

	mu     sync.Mutex
	agents map[uint32]localapi.AgentSeen // by uid: the agents that called
}

// New returns a server for eng (log nil: slog.Default()).
func New(eng Engine, log *slog.Logger) *Server {
	if log == nil {
		log = slog.Default()
	}
	return &Server{eng: eng, log: log, agents: map[uint32]localapi.AgentSeen{}}
}

// maxAgents bounds the agents remembered (one per user).
const maxAgents = 4096

// sawAgent remembers the version a's agent says it is (its User-Agent,
// AgentProgram/VERSION): informational, for the console's Computers page.
func (s *Server) sawAgent(r *http.Request, a enforcer.Actor) {
	v, ok := strings.CutPrefix(r.Header.Get("User-Agent"), localapi.AgentProgram+"/")
	if !ok {
		return
	}
	v = strings.Map(func(c rune) rune {
		if c < 0x21 || c > 0x7e {
			return -1
		}
		return c
	}, v)
	if len(v) > 64 {
		v = v[:64]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.agents[a.UID]; ok || len(s.agents) < maxAgents {
		s.agents[a.UID] = localapi.AgentSeen{UID: a.UID, User: a.User, Version: v, LastSeen: time.Now().UTC()}
	}
}

// agentsSeen lists the agents that called, by uid.
func (s *Server) agentsSeen() []localapi.AgentSeen {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Collect(maps.Values(s.agents))
	slices.SortFunc(out, func(a, b localapi.AgentSeen) int { return cmp.Compare(a.UID, b.UID) })
	return out
}

// Listen creates the local API socket: its directory is root's, the socket
// itself is open to every local user (identity comes from the kernel, not
// from file permissions).
func Listen(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create socket directory: %w", err)
	}
	// A socket left by a crashed daemon is removed; a live one is not.
	if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
		c.Close()
		return nil, fmt.Errorf("another gatehoused is already listening on %s; stop it first", path)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o666); err != nil {
		l.Close()
		return nil, fmt.Errorf("chmod socket: %w", err)
	}
	return l, nil
}

type actorKey struct{}

// WithActor returns ctx carrying the caller a. Serve does this for every
// connection from the kernel's peer credentials; tests and in-process
// callers of Handler do it themselves. Nothing a client sends can.
func WithActor(ctx context.Context, a enforcer.Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// Serve answers the local API on l until ctx is done, and removes the
// socket when it returns.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	defer os.Remove(l.Addr().String())
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			// The gate identified the caller when it admitted the
			// connection.
			if gc, ok := c.(*conn); ok {
				return context.WithValue(WithActor(ctx, gc.actor), filesKey{}, fileSource(gc))
			}
			return ctx
		},
	}
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-done:
			return
		}
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	err := srv.Serve(newGate(l, s))
	close(done)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Handler is the local API. Every request must carry a caller in its
// context (Serve puts the kernel's peer credentials there); one without is
// refused.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	hLimit := func(pattern string, limit int64, f func(*http.Request, enforcer.Actor) (any, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			a, ok := r.Context().Value(actorKey{}).(enforcer.Actor)
			if !ok {
				writeError(w, http.StatusForbidden, "no peer credentials")
				return
			}
			s.sawAgent(r, a)
			r.Body = http.MaxBytesReader(w, r.Body, limit)
			if fs, ok := r.Context().Value(filesKey{}).(fileSource); ok {
				defer fs.drop() // descriptors the request did not take
			}
			out, err := f(r, a)
			if err != nil {
				s.writeErr(w, r, a, err)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(out)
		})
	}
	h := func(pattern string, f func(*http.Request, enforcer.Actor) (any, error)) {
		hLimit(pattern, localapi.MaxRequestBody, f)
	}
	v := "/" + localapi.Version
	h("GET "+v+"/status", s.status)
	h("GET "+v+"/events", s.events)
	h("GET "+v+"/requests", s.requests)
	h("GET "+v+"/requests/{id}", s.request)
	h("POST "+v+"/requests/{id}/answer", s.answer)
	h("POST "+v+"/requests/{id}/seen", s.seen)
	h("POST "+v+"/requests/{id}/offline", s.offline)
	h("GET "+v+"/changes", s.changes)
	h("POST "+v+"/requests/{id}/approve", s.decide(true))
	h("POST "+v+"/requests/{id}/deny", s.decide(false))
	h("POST "+v+"/requests/{id}/console-decision", s.consoleDecide)
	h("POST "+v+"/console/reached", s.consoleReached)
	h("POST "+v+"/console/signing-keys", s.consoleKeys)
	h("GET "+v+"/grants", s.grants)
	h("POST "+v+"/check", s.check)
	h("POST "+v+"/sudo", s.sudo)
	h("POST "+v+"/admin-session", s.adminSession)
	h("DELETE "+v+"/admin-session", s.endAdminSession)
	h("POST "+v+"/authorize", s.authorize)
	h("POST "+v+"/policy/reload", s.reload)
	hLimit("POST "+v+"/policy/console", localapi.MaxPolicyBody, s.consolePolicy)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if len(r.URL.Path) < len(v)+1 || r.URL.Path[:len(v)+1] != v+"/" {
			writeError(w, http.StatusNotFound, fmt.Sprintf("unknown API version or path %q; this gatehoused speaks %s", r.URL.Path, localapi.Version))
			return
		}
		writeError(w, http.StatusNotFound, fmt.Sprintf("no such endpoint: %s %s", r.Method, r.URL.Path))
	})
	return mux
}

func writeError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(localapi.Error{Error: msg})
}

// badRequest is a request the server itself could not read (a malformed
// number, body or time); the engine never saw it.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func badf(format string, args ...any) error { return &badRequest{fmt.Sprintf(format, args...)} }

// statusOf maps an error to its HTTP status. A conflict (the request was
// answered or closed meanwhile) is a 400 like other refusals the user can
// act on, as it has been since v1; clients tell them apart by message.
func statusOf(err error) int {
	var br *badRequest
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &br), errors.Is(err, enforcer.ErrInvalid), errors.Is(err, enforcer.ErrConflict):
		return http.StatusBadRequest
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, enforcer.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, enforcer.ErrNotFound):
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

func (s *Server) writeErr(w http.ResponseWriter, r *http.Request, a enforcer.Actor, err error) {
	code := statusOf(err)
	msg := err.Error()
	switch code {
	case http.StatusRequestEntityTooLarge:
		msg = fmt.Sprintf("request body larger than %d bytes", localapi.MaxRequestBody)
	case http.StatusForbidden:
		s.log.Warn("local API: refused", "actor", a.String(), "method", r.Method, "path", r.URL.Path, "err", err)
	case http.StatusInternalServerError:
		s.log.Error("local API", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error: " + msg
	}
	writeError(w, code, msg)
}

// decodeBody reads one JSON object, strictly: unknown fields and trailing
// data are errors a client author can act on.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return badf("empty request body; send a JSON object")
		}
		return badf("bad request body: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badf("bad request body: data after the JSON object")
	}
	return nil
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, badf("request id %q is not a positive number", r.PathValue("id"))
	}
	return id, nil
}

func (s *Server) status(_ *http.Request, a enforcer.Actor) (any, error) {
	st, err := s.eng.Status(a)
	if err != nil {
		return nil, err
	}
	out := statusToWire(st)
	out.DaemonVersion = version.String()
	if a.Kind == enforcer.ActorRoot || a.Kind == enforcer.ActorConsoleSync {
		out.Agents = s.agentsSeen()
	}
	return out, nil
}

func (s *Server) reload(_ *http.Request, a enforcer.Actor) (any, error) {
	st, err := s.eng.ReloadAs(a)
	if err != nil {
		return nil, err
	}
	return statusToWire(st), nil
}

func (s *Server) events(r *http.Request, a enforcer.Actor) (any, error) {
	q := r.URL.Query()
	f := store.Filter{Kind: q.Get("kind"), Action: q.Get("action"), PathContains: q.Get("path")}
	var err error
	if v := q.Get("after"); v != "" {
		if f.AfterID, err = strconv.ParseInt(v, 10, 64); err != nil {
			return nil, badf("after=%q is not an event id", v)
		}
	}
	if v := q.Get("since"); v != "" {
		if f.Since, err = time.Parse(time.RFC3339Nano, v); err != nil {
			return nil, badf("since=%q is not an RFC 3339 time like 2026-01-02T15:04:05Z", v)
		}
	}
	if v := q.Get("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 {
			return nil, badf("limit=%q must be a number from 1 to 10000", v)
		}
	}
	if v := q.Get("uid"); v != "" {
		u, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, badf("uid=%q is not a user id", v)
		}
		u32 := uint32(u)
		f.UID = &u32
	}
	evs, err := s.eng.Events(r.Context(), a, f)
	if err != nil {
		return nil, err
	}
	out := make([]localapi.Event, 0, len(evs))
	for _, ev := range evs {
		out = append(out, eventToWire(ev))
	}
	return out, nil
}

func (s *Server) requests(r *http.Request, a enforcer.Actor) (any, error) {
	var states []request.State
	for _, v := range r.URL.Query()["state"] {
		states = append(states, request.State(v))
	}
	rs, err := s.eng.Requests(r.Context(), a, states)
	if err != nil {
		return nil, err
	}
	out := make([]localapi.Request, 0, len(rs))
	for _, x := range rs {
		out = append(out, s.requestToWire(x))
	}
	return out, nil
}

func (s *Server) request(r *http.Request, a enforcer.Actor) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	x, err := s.eng.Request(r.Context(), a, id)
	if err != nil {
		return nil, err
	}
	return s.requestToWire(x), nil
}

func (s *Server) seen(r *http.Request, a enforcer.Actor) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	x, err := s.eng.MarkSeen(r.Context(), a, id)
	if err != nil {
		return nil, err
	}
	return s.requestToWire(x), nil
}

func (s *Server) offline(r *http.Request, a enforcer.Actor) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	var o localapi.OfflineResponse
	if err := decodeBody(r, &o); err != nil {
		return nil, err
	}
	return s.answerToWire(s.eng.OfflineCode(r.Context(), a, id, o.Code))
}

// changes waits for a change to the requests (see localapi.Changes).
func (s *Server) changes(r *http.Request, a enforcer.Actor) (any, error) {
	q := r.URL.Query()
	var after uint64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, badf("after=%q is not a sequence number; pass the seq of the previous answer, or 0", v)
		}
		after = n
	}
	wait := 25 * time.Second
	if v := q.Get("wait"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return nil, badf("wait=%q is not a duration between 0s and %v", v, localapi.MaxChangesWait)
		}
		wait = d
	}
	c, err := s.eng.WaitChanges(r.Context(), a, after, wait)
	if err != nil {
		return nil, err
	}
	return localapi.Changes{Seq: c.Seq, Boot: c.Boot}, nil
}

func (s *Server) answer(r *http.Request, a enforcer.Actor) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	var in localapi.Answer
	if err := decodeBody(r, &in); err != nil {
		return nil, err
	}
	return s.answerToWire(s.eng.Answer(r.Context(), a, id, enforcer.Answer{Cancel: in.Cancel, Reason: in.Reason,
		WindowStart: in.WindowStart, WindowEnd: in.WindowEnd}))
}

func (s *Server) consolePolicy(r *http.Request, a enforcer.Actor) (any, error) {
	var p localapi.ConsolePolicy
	if err := decodeBody(r, &p); err != nil {
		return nil, err
	}
	st, err := s.eng.ApplyConsolePolicy(r.Context(), a, enforcer.ConsolePolicy{Revision: p.Revision, Body: p.Body, Signature: p.Signature})
	if err != nil {
		return nil, err
	}
	return statusToWire(st), nil
}

func (s *Server) consoleDecide(r *http.Request, a enforcer.Actor) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	var d localapi.ConsoleDecision
	if err := decodeBody(r, &d); err != nil {
		return nil, err
	}
	return s.answerToWire(s.eng.ConsoleDecide(r.Context(), a, enforcer.ConsoleDecision{RequestID: id, Approve: d.Approve,
		WindowStart: d.WindowStart, WindowEnd: d.WindowEnd, PolicyRevision: d.PolicyRevision, DecidedBy: d.DecidedBy, Note: d.Note, Signature: d.Signature}))
}

func (s *Server) consoleKeys(r *http.Request, a enforcer.Actor) (any, error) {
	var k localapi.ConsoleKeys
	if err := decodeBody(r, &k); err != nil {
		return nil, err
	}
	return struct{}{}, s.eng.ConsoleKeys(r.Context(), a, k.Keys, k.Signature)
}

func (s *Server) consoleReached(r *http.Request, a enforcer.Actor) (any, error) {
	var c localapi.ConsoleReached
	if err := decodeBody(r, &c); err != nil {
		return nil, err
	}
	return struct{}{}, s.eng.ConsoleReached(r.Context(), a, c.Uploaded)
}

func (s *Server) decide(approve bool) func(*http.Request, enforcer.Actor) (any, error) {
	return func(r *http.Request, a enforcer.Actor) (any, error) {
		id, err := pathID(r)
		if err != nil {
			return nil, err
		}
		var d localapi.Decide
		if err := decodeBody(r, &d); err != nil {
			return nil, err
		}
		return s.answerToWire(s.eng.Decide(r.Context(), a, id, approve, d.Note))
	}
}

func (s *Server) grants(r *http.Request, a enforcer.Actor) (any, error) {
	gs, err := s.eng.Grants(r.Context(), a)
	if err != nil {
		return nil, err
	}
	out := make([]localapi.Grant, 0, len(gs))
	for _, g := range gs {
		out = append(out, grantToWire(g))
	}
	return out, nil
}

func (s *Server) check(r *http.Request, a enforcer.Actor) (any, error) {
	var ch localapi.Check
	if err := decodeBody(r, &ch); err != nil {
		return nil, err
	}
	q := enforcer.CheckQuery{Path: ch.Path, Args: ch.Args, Parents: ch.Parents, User: ch.User}
	files, err := takeFiles(r, ch.Files)
	if err != nil {
		return nil, err
	}
	defer closeAll(files)
	q.Files = files
	res, err := s.eng.Check(r.Context(), a, q)
	if err != nil {
		return nil, err
	}
	return checkToWire(res), nil
}

func (s *Server) adminSession(r *http.Request, a enforcer.Actor) (any, error) {
	var q localapi.AdminSession
	if err := decodeBody(r, &q); err != nil {
		return nil, err
	}
	var d time.Duration
	if q.For != "" {
		var err error
		if d, err = time.ParseDuration(q.For); err != nil || d <= 0 {
			return nil, badf("for %q is not a length of time; write it like 15m or 1h", q.For)
		}
	}
	res, err := s.eng.AdminSession(r.Context(), a, enforcer.AdminQuery{For: d, Reason: q.Reason})
	return adminToWire(res), err
}

func (s *Server) endAdminSession(r *http.Request, a enforcer.Actor) (any, error) {
	res, err := s.eng.EndAdmin(r.Context(), a)
	return adminToWire(res), err
}

func (s *Server) authorize(r *http.Request, a enforcer.Actor) (any, error) {
	var q localapi.Authorize
	if err := decodeBody(r, &q); err != nil {
		return nil, err
	}
	res, err := s.eng.Authorize(r.Context(), a, enforcer.AuthQuery{Right: q.Right, PID: q.PID, UID: q.UID})
	if err != nil {
		return nil, err
	}
	d := res.Decision
	return localapi.AuthorizeResult{Verdict: string(res.Verdict), Action: d.Action.String(), Rule: d.Rule, RuleName: d.RuleName,
		Program: res.Subject.Path, GrantID: res.GrantID, Title: res.Message.Title}, nil
}

func adminToWire(res enforcer.AdminResult) localapi.AdminSessionResult {
	out := localapi.AdminSessionResult{Outcome: string(res.Outcome), Entry: res.Entry.Name, Until: res.Until, GrantID: res.GrantID,
		RequestID: res.RequestID, MinJustification: res.MinJustification}
	if res.Entry.Max > 0 {
		out.Max = res.Entry.Max.String()
	}
	if res.Entry.Require != policy.ActionUnset {
		out.Require = res.Entry.Require.String()
	}
	return out
}

// takeFiles takes the n descriptors the request says it carries.
func takeFiles(r *http.Request, n int) ([]*os.File, error) {
	if n < 0 || n > maxFiles {
		return nil, badf("files=%d: a request carries from 1 to %d descriptors", n, maxFiles)
	}
	if n == 0 {
		return nil, nil
	}
	fs, ok := r.Context().Value(filesKey{}).(fileSource)
	if !ok {
		return nil, badf("the request says %d descriptors and this connection cannot carry any", n)
	}
	return fs.take(n)
}

func closeAll(files []*os.File) {
	for _, f := range files {
		f.Close()
	}
}

func (s *Server) sudo(r *http.Request, a enforcer.Actor) (any, error) {
	var q localapi.Sudo
	if err := decodeBody(r, &q); err != nil {
		return nil, err
	}
	if q.Files < 1 {
		return nil, badf("send the command's open file with the request (gatehouse sudo does)")
	}
	files, err := takeFiles(r, q.Files)
	if err != nil {
		return nil, err
	}
	defer closeAll(files)
	res, err := s.eng.Sudo(r.Context(), a, enforcer.SudoQuery{Files: files, Args: q.Args, Reason: q.Reason})
	if err != nil {
		return nil, err
	}
	d := res.Decision
	out := localapi.SudoResult{Outcome: string(res.Outcome), Path: res.Path, Action: d.Action.String(), Rule: d.Rule, RuleName: d.RuleName,
		Title: res.Message.Title, Body: res.Message.Body, URL: res.Message.URL, MinJustification: res.MinJustification,
		RequestID: res.RequestID, GrantID: res.GrantID, Until: res.Until, Machine: res.Machine, RequestCode: res.RequestCode}
	if d.Require != policy.ActionUnset {
		out.Require = d.Require.String()
	}
	return out, nil
}
