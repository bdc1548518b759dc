package enforcer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/facts"
	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/policy"
)

// maxConns bounds concurrent local API connections, so a local user cannot
// exhaust the daemon's descriptors.
const maxConns = 128

type callerKey struct{}

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
		return nil, fmt.Errorf("another gatehoused is already listening on %s", path)
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
	return &limitListener{Listener: l, sem: make(chan struct{}, maxConns)}, nil
}

// Serve answers the local API on l until ctx is done.
func (e *Engine) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           e.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       30 * time.Second,
		MaxHeaderBytes:    16 << 10,
		ErrorLog:          slog.NewLogLogger(e.log.Handler(), slog.LevelWarn),
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			cl, err := e.peer(c)
			if err != nil {
				e.log.Warn("local API: no peer credentials; closing", "err", err)
				c.Close()
				return ctx
			}
			return context.WithValue(ctx, callerKey{}, cl)
		},
	}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	err := srv.Serve(l)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// peer reads the caller's identity from the socket.
func (e *Engine) peer(c net.Conn) (caller, error) {
	if lc, ok := c.(*limitConn); ok {
		c = lc.Conn
	}
	uc, ok := c.(*net.UnixConn)
	if !ok {
		return caller{}, fmt.Errorf("not a unix socket: %T", c)
	}
	uid, pid, err := peerCred(uc)
	if err != nil {
		return caller{}, err
	}
	return caller{uid: uid, pid: pid, user: e.users.userName(uid)}, nil
}

// Handler is the local API. Every request must carry a caller in its
// context (Serve puts the kernel's peer credentials there); one without is
// refused.
func (e *Engine) Handler() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern string, f func(http.ResponseWriter, *http.Request, caller) (any, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			c, ok := r.Context().Value(callerKey{}).(caller)
			if !ok {
				writeError(w, http.StatusForbidden, "no peer credentials")
				return
			}
			r.Body = http.MaxBytesReader(w, r.Body, localapi.MaxRequestBody)
			out, err := f(w, r, c)
			if err != nil {
				e.writeErr(w, r, c, err)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(out)
		})
	}
	v := "/" + localapi.Version
	h("GET "+v+"/status", e.apiStatus)
	h("GET "+v+"/events", e.apiEvents)
	h("GET "+v+"/requests", e.apiRequests)
	h("GET "+v+"/requests/{id}", e.apiRequest)
	h("POST "+v+"/requests/{id}/answer", e.apiAnswer)
	h("POST "+v+"/requests/{id}/seen", e.apiSeen)
	h("POST "+v+"/requests/{id}/offline", e.apiOffline)
	h("GET "+v+"/changes", e.apiChanges)
	h("POST "+v+"/requests/{id}/approve", e.apiDecide(true))
	h("POST "+v+"/requests/{id}/deny", e.apiDecide(false))
	h("GET "+v+"/grants", e.apiGrants)
	h("POST "+v+"/check", e.apiCheck)
	h("POST "+v+"/policy/reload", e.apiReload)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, v+"/") {
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

func (e *Engine) writeErr(w http.ResponseWriter, r *http.Request, c caller, err error) {
	var ue *userError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &ue):
		writeError(w, http.StatusBadRequest, ue.msg)
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", localapi.MaxRequestBody))
	case errors.Is(err, errForbidden):
		e.log.Warn("local API: refused", "uid", c.uid, "pid", c.pid, "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusForbidden, err.Error())
	case errors.Is(err, errNotFound):
		writeError(w, http.StatusNotFound, err.Error())
	default:
		e.log.Error("local API", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "internal error: "+err.Error())
	}
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
			return &userError{"empty request body; send a JSON object"}
		}
		return &userError{"bad request body: " + err.Error()}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &userError{"bad request body: data after the JSON object"}
	}
	return nil
}

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, &userError{fmt.Sprintf("request id %q is not a positive number", r.PathValue("id"))}
	}
	return id, nil
}

// Status is what GET /v1/status returns, for the caller c.
func (e *Engine) status(c caller) localapi.Status {
	lp := e.pol.Load()
	name, marks := e.source.Describe()
	return localapi.Status{
		Version: localapi.Version, Started: e.started, PolicyID: lp.eng.ID(), PolicyRevision: lp.eng.Revision(),
		PolicyPath: lp.path, PolicyLoaded: lp.loaded, PolicyError: e.PolicyError(), Source: name, FailClosed: e.cfg.FailClosed,
		Marks: marks, Counters: e.counterMap(), You: localapi.Identity{UID: c.uid, PID: c.pid, User: c.user, Root: c.root()},
	}
}

func (e *Engine) apiStatus(_ http.ResponseWriter, _ *http.Request, c caller) (any, error) {
	return e.status(c), nil
}

func (e *Engine) apiReload(_ http.ResponseWriter, _ *http.Request, c caller) (any, error) {
	if !c.root() {
		return nil, fmt.Errorf("only root can reload the policy: %w", errForbidden)
	}
	if err := e.Reload(); err != nil {
		return nil, &userError{err.Error()}
	}
	return e.status(c), nil
}

func (e *Engine) apiEvents(_ http.ResponseWriter, r *http.Request, c caller) (any, error) {
	q := r.URL.Query()
	f := store.Filter{Kind: q.Get("kind"), Action: q.Get("action"), PathContains: q.Get("path")}
	var err error
	if s := q.Get("after"); s != "" {
		if f.AfterID, err = strconv.ParseInt(s, 10, 64); err != nil {
			return nil, &userError{fmt.Sprintf("after=%q is not an event id", s)}
		}
	}
	if s := q.Get("since"); s != "" {
		if f.Since, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return nil, &userError{fmt.Sprintf("since=%q is not an RFC 3339 time like 2026-01-02T15:04:05Z", s)}
		}
	}
	if s := q.Get("limit"); s != "" {
		if f.Limit, err = strconv.Atoi(s); err != nil || f.Limit < 1 || f.Limit > 10000 {
			return nil, &userError{fmt.Sprintf("limit=%q must be a number from 1 to 10000", s)}
		}
	}
	if s := q.Get("uid"); s != "" {
		u, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return nil, &userError{fmt.Sprintf("uid=%q is not a user id", s)}
		}
		u32 := uint32(u)
		f.UID = &u32
	}
	if !c.root() {
		// A user sees their own events only.
		if f.UID != nil && *f.UID != c.uid {
			return nil, fmt.Errorf("only root can list other users' events: %w", errForbidden)
		}
		f.UID = &c.uid
	}
	evs, err := e.store.Events(r.Context(), f)
	if err != nil {
		return nil, err
	}
	out := make([]localapi.Event, 0, len(evs))
	for _, ev := range evs {
		out = append(out, eventToWire(ev))
	}
	return out, nil
}

var allStates = []string{localapi.StatePending, localapi.StateAnswered, localapi.StateSubmitted, localapi.StateApproved,
	localapi.StateDenied, localapi.StateCancelled, localapi.StateExpired}

func (e *Engine) apiRequests(_ http.ResponseWriter, r *http.Request, c caller) (any, error) {
	f := store.RequestFilter{States: r.URL.Query()["state"]}
	for _, s := range f.States {
		if !slices.Contains(allStates, s) {
			return nil, &userError{fmt.Sprintf("unknown state %q; use one of %s", s, strings.Join(allStates, ", "))}
		}
	}
	if !c.root() {
		f.UID = &c.uid
	}
	rs, err := e.store.ListRequests(r.Context(), f)
	if err != nil {
		return nil, err
	}
	out := make([]localapi.Request, 0, len(rs))
	for _, x := range rs {
		out = append(out, requestToWire(x))
	}
	return out, nil
}

func (e *Engine) apiRequest(_ http.ResponseWriter, r *http.Request, c caller) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	x, err := e.ownRequest(r.Context(), c, id)
	if err != nil {
		return nil, err
	}
	return requestToWire(x), nil
}

// apiSeen records that the caller's agent told the user about the
// request's current state; only the request's own user may say so.
func (e *Engine) apiSeen(_ http.ResponseWriter, r *http.Request, c caller) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	req, err := e.ownRequest(r.Context(), c, id)
	if err != nil {
		return nil, err
	}
	if req.UID != c.uid {
		return nil, fmt.Errorf("only the user who was blocked (uid %d) can mark request %d seen: %w", req.UID, id, errForbidden)
	}
	if err := e.store.MarkNotified(r.Context(), id); err != nil {
		return nil, stateErr(err)
	}
	req.Notified = true
	return requestToWire(req), nil
}

func (e *Engine) apiOffline(_ http.ResponseWriter, r *http.Request, c caller) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	var o localapi.OfflineResponse
	if err := decodeBody(r, &o); err != nil {
		return nil, err
	}
	return e.offlineRespond(r.Context(), c, id, o.Code)
}

// apiChanges waits for a change to the requests (see localapi.Changes).
func (e *Engine) apiChanges(_ http.ResponseWriter, r *http.Request, _ caller) (any, error) {
	q := r.URL.Query()
	var after uint64
	if s := q.Get("after"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return nil, &userError{fmt.Sprintf("after=%q is not a sequence number; pass the seq of the previous answer, or 0", s)}
		}
		after = n
	}
	wait := 25 * time.Second
	if s := q.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 || d > localapi.MaxChangesWait {
			return nil, &userError{fmt.Sprintf("wait=%q is not a duration between 0s and %v", s, localapi.MaxChangesWait)}
		}
		wait = d
	}
	seq := e.changes.wait(r.Context(), after, wait)
	return localapi.Changes{Seq: seq, Boot: e.boot}, nil
}

func (e *Engine) apiAnswer(_ http.ResponseWriter, r *http.Request, c caller) (any, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	var a localapi.Answer
	if err := decodeBody(r, &a); err != nil {
		return nil, err
	}
	return e.answer(r.Context(), c, id, a)
}

func (e *Engine) apiDecide(approve bool) func(http.ResponseWriter, *http.Request, caller) (any, error) {
	return func(_ http.ResponseWriter, r *http.Request, c caller) (any, error) {
		id, err := pathID(r)
		if err != nil {
			return nil, err
		}
		var d localapi.Decide
		if err := decodeBody(r, &d); err != nil {
			return nil, err
		}
		if len(d.Note) > 1000 {
			return nil, &userError{"the note is longer than 1000 bytes"}
		}
		return e.decideRequest(r.Context(), c, id, approve, strings.TrimSpace(d.Note))
	}
}

func (e *Engine) apiGrants(_ http.ResponseWriter, r *http.Request, c caller) (any, error) {
	var uid *uint32
	if !c.root() {
		uid = &c.uid
	}
	gs, err := e.store.Grants(r.Context(), uid)
	if err != nil {
		return nil, err
	}
	now := e.now()
	out := []localapi.Grant{}
	for _, g := range gs {
		if g.Revoked || g.UsesLeft == 0 || now.After(g.Expires) {
			continue
		}
		out = append(out, grantToWire(g))
	}
	return out, nil
}

// apiCheck evaluates a program as the daemon would for the caller (or, for
// root, another user). A user may only check files they could read
// themselves, so the daemon's root access does not reveal hashes or the
// existence of files the user cannot see.
func (e *Engine) apiCheck(_ http.ResponseWriter, r *http.Request, c caller) (any, error) {
	var ch localapi.Check
	if err := decodeBody(r, &ch); err != nil {
		return nil, err
	}
	if !filepath.IsAbs(ch.Path) {
		return nil, &userError{fmt.Sprintf("path %q is not absolute; give the full path of the program", ch.Path)}
	}
	if len(ch.Args) > 4096 || len(ch.Parents) > maxAncestors {
		return nil, &userError{"too many arguments or parents"}
	}
	uid, user := c.uid, c.user
	callerGIDs := groupIDs(c.uid)
	groups := e.users.groupNames(callerGIDs)
	if ch.User != "" && ch.User != c.user {
		if !c.root() {
			return nil, fmt.Errorf("only root can check as another user: %w", errForbidden)
		}
		u, g, err := facts.LookupUser(ch.User)
		if err != nil {
			return nil, &userError{err.Error()}
		}
		uid, user, groups = u, ch.User, g
	}
	paths := append([]string{ch.Path}, ch.Parents...)
	if !c.root() {
		for _, p := range paths {
			if !mayRead(c.uid, callerGIDs, p) {
				return nil, fmt.Errorf("you cannot read %s, so you cannot check it: %w", p, errForbidden)
			}
		}
	}
	for _, p := range paths {
		// Only what could be executed: a device or FIFO would have the
		// daemon hash forever or block.
		if fi, err := os.Stat(p); err == nil && !fi.Mode().IsRegular() && !fi.IsDir() {
			return nil, &userError{fmt.Sprintf("%s is not a regular file or an app bundle", p)}
		}
	}
	subj, err := facts.Program(ch.Path)
	if err != nil {
		return nil, &userError{err.Error()}
	}
	f := &policy.Facts{Subject: subj, Event: policy.Exec, UID: uid, User: user, Groups: groups, Machine: e.machine}
	f.Args = ch.Args
	for _, p := range ch.Parents {
		ps, err := facts.Program(p)
		if err != nil {
			return nil, &userError{fmt.Sprintf("parent %s: %v", p, err)}
		}
		f.Parents = append(f.Parents, ps)
	}
	lp := e.pol.Load()
	d, trace := lp.eng.Explain(f)
	res := localapi.CheckResult{Path: subj.Path, AppType: subj.Type.String(), SHA256: subj.SHA256, User: user,
		Action: d.Action.String(), Allowed: d.Action.Allows(), Rule: d.Rule, RuleName: d.RuleName, Group: d.Group,
		PolicyID: d.PolicyID, PolicyRevision: d.Revision}
	for _, t := range trace {
		res.Trace = append(res.Trace, traceLine(t))
	}
	if fi, err := os.Stat(ch.Path); err == nil {
		if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
			st := statOf(sys)
			if g := e.grants.peek(uid, st.key, subj.Path, subj.SHA256, e.now()); g != nil {
				w := grantToWire(store.Grant{ID: g.id, UID: g.uid, Path: g.path, SHA256: g.sha256, Expires: g.expires,
					UsesLeft: g.usesLeft, Origin: g.origin, Reason: g.reason, RequestID: g.requestID})
				res.Grant = &w
				res.Allowed = true
			}
		}
	}
	return res, nil
}

func traceLine(t policy.RuleTrace) string {
	var b strings.Builder
	fmt.Fprintf(&b, "rule %d", t.Rule)
	if t.Name != "" {
		fmt.Fprintf(&b, " %q", t.Name)
	}
	fmt.Fprintf(&b, " (%s, group %s): ", t.Action, t.Group)
	switch {
	case t.Matched:
		b.WriteString("matched")
	case t.OutOfScope != "":
		b.WriteString("not for this user: " + t.OutOfScope)
	default:
		var why []string
		for _, d := range t.Definitions {
			why = append(why, fmt.Sprintf("definition %d: %s", d.Definition, strings.Join(d.Failed, "; ")))
		}
		b.WriteString("no match")
		if len(why) > 0 {
			b.WriteString(" — " + strings.Join(why, " | "))
		}
	}
	return b.String()
}

// mayRead reports whether uid (with groups gids) could open path for
// reading, judged by mode bits along the path (ACLs are not consulted, so
// this errs towards refusing).
func mayRead(uid uint32, gids []uint32, path string) bool {
	allowed := func(fi os.FileInfo, bit os.FileMode) bool {
		sys, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return false
		}
		m := fi.Mode().Perm()
		switch {
		case sys.Uid == uid:
			return m&(bit<<6) != 0
		case slices.Contains(gids, sys.Gid):
			return m&(bit<<3) != 0
		}
		return m&bit != 0
	}
	clean := filepath.Clean(path)
	dir := filepath.Dir(clean)
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || !allowed(fi, 1) {
			return false
		}
		if d == "/" {
			break
		}
	}
	fi, err := os.Stat(clean)
	return err == nil && (fi.IsDir() || allowed(fi, 4))
}

func eventToWire(ev store.Event) localapi.Event {
	return localapi.Event{ID: ev.ID, Time: ev.Time, Kind: ev.Kind, Action: ev.Action, Allowed: ev.Allowed, Rule: ev.Rule,
		RuleName: ev.RuleName, Group: ev.Group, PolicyID: ev.PolicyID, PolicyRevision: ev.PolicyRevision, UID: ev.UID,
		User: ev.User, PID: ev.PID, Path: ev.Path, SHA256: ev.SHA256, Args: ev.Args, Parent: ev.Parent, AppType: ev.AppType,
		Source: ev.Source, Reason: ev.Reason, GrantID: ev.GrantID, RequestID: ev.RequestID, Count: ev.Count, Detail: ev.Detail}
}

// limitListener refuses connections beyond its capacity rather than
// letting them pile up.
type limitListener struct {
	net.Listener
	sem     chan struct{}
	refused atomic.Uint64
	warned  atomic.Int64 // unix seconds of the last warning
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.sem <- struct{}{}:
			return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
		default:
			c.Close()
			n := l.refused.Add(1)
			if now := time.Now().Unix(); now-l.warned.Load() >= 10 {
				l.warned.Store(now)
				slog.Warn("local API: too many connections; refusing new ones", "max", maxConns, "refused_total", n)
			}
		}
	}
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
