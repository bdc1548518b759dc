package enforcer

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/facts"
	"github.com/gatehouse/gatehouse/offline"
	"github.com/gatehouse/gatehouse/policy"
)

// maxAncestors bounds the parent chain gathered per exec.
const maxAncestors = 32

// Engine decides executions. Create it with New, start it with Run.
type Engine struct {
	contact consoleContact // what the sync last said (ApprovalRoute)
	cfg     Config
	log     *slog.Logger
	now     func() time.Time
	tasks   Tasks
	store   *store.Store
	audit   *store.AuditWriter
	machine string
	started time.Time
	boot    string // random per start: tells agents the daemon restarted

	// source is the event source Run serves, set once when Run starts
	// (status and the kernel-cache flush read it; nil before).
	source atomic.Pointer[sourceBox]

	// offline is the machine's secret for offline approval codes; zero
	// when it could not be loaded (approval_offline then works as
	// approval, and the reason is logged at start).
	offline offline.Secret

	pol    atomic.Pointer[loadedPolicy]
	polErr atomic.Pointer[string]
	reload sync.Mutex // serializes policy loads
	// consolePolicy serializes policies applied from the console.
	consolePolicy sync.Mutex

	cache     *factCache
	bundles   bundleFacts // facts of bundles being installed or deleted
	peerCode  PeerCode
	grants    *grantTable
	users     *userCache
	admins    *facts.Admins // for the protected criterion
	hashes    chan struct{} // semaphore: concurrent hashing of new files
	argsSem   chan struct{} // semaphore: argv reads in flight
	checks    *checkSlots   // bounds the work of Check
	watchdogs sync.Pool     // *watchdogTimer
	content   contentGuard  // holds contents decided on; nil: none
	programs  *programs     // recorded once each (programs.go); nil: program_facts off

	// sessions are the running admin sessions (sessions.go); adminGroup
	// the platform's administrators group (nil: none).
	sessions   atomic.Pointer[sessionSet]
	sess       sessionState
	adminGroup AdminGroup

	requests *requestQueue
	changes  *changeFeed
	tty      chan ttyMessage
	uses     chan int64 // grant ids whose use count must be written

	counters   counters
	withoutLog everyMinute  // decisions made without facts a rule needed
	deciding   atomic.Int64 // execs taken and not yet recorded
	wg         sync.WaitGroup
}

// Options are what New needs besides the configuration.
type Options struct {
	// Tasks reads what an exec's source does not report (/proc on Linux).
	Tasks  Tasks
	Store  *store.Store
	Logger *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// HoldContents: the source's descriptors are the kernel's open files
	// of the execs (fanotify), which the engine may hold unchanged while
	// it decides on their contents (docs/enforcer.md).
	HoldContents bool
	// PeerCode names local API peers' executables and signatures where the
	// socket gives only an audit token (macOS); nil elsewhere.
	PeerCode PeerCode
	// AdminGroup is the platform's administrators group for admin
	// sessions (macOS: admin through Directory Services); nil: none, the
	// sudoers drop-in alone (Linux).
	AdminGroup AdminGroup
}

// AdminGroup adds users to the administrators group and takes them out.
type AdminGroup interface {
	// Add makes user a member; added is false when it was one already (it
	// is then never removed by the session's end).
	Add(user string) (added bool, err error)
	// Remove takes user out; not being a member is no error.
	Remove(user string) error
}

// New builds an engine and loads the policy named in cfg. A policy that
// does not load is an error here (a running engine keeps its old policy
// instead), so start-up fails before any filesystem is watched. The engine
// decides nothing until Run is given a source.
func New(cfg Config, opt Options) (*Engine, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if len(cfg.CodeSigningRoots) > 0 {
		roots, err := facts.ReadRoots(cfg.CodeSigningRoots)
		if err != nil {
			return nil, fmt.Errorf("code_signing_roots: %w", err)
		}
		facts.TrustCodeSigningRoots(roots)
	}
	e := &Engine{
		cfg:        cfg,
		log:        opt.Logger,
		now:        opt.Now,
		tasks:      opt.Tasks,
		store:      opt.Store,
		machine:    facts.Machine(),
		cache:      newFactCache(cfg.CacheEntries),
		peerCode:   opt.PeerCode,
		adminGroup: opt.AdminGroup,
		grants:     newGrantTable(),
		hashes:     make(chan struct{}, cfg.HashWorkers),
		checks:     newCheckSlots(),
		argsSem:    make(chan struct{}, argsReaders),
		tty:        make(chan ttyMessage, 256),
		uses:       make(chan int64, 4096),
	}
	if e.log == nil {
		e.log = slog.Default()
	}
	if e.now == nil {
		e.now = time.Now
	}
	e.started = e.now()
	if opt.HoldContents {
		e.content = newContentGuards(e.now)
	}
	e.boot = newBootID()
	if sec, err := offline.LoadOrCreateSecret(cfg.offlineSecretPath()); err != nil {
		e.log.Error("offline approval codes unavailable; approval_offline rules work as approval", "err", err)
	} else {
		e.offline = sec
	}
	e.users = newUserCache(e.now)
	e.admins = facts.NewAdmins(cfg.AdminGroups)
	if err := e.loadPolicy(); err != nil {
		return nil, err
	}
	if err := e.loadPrograms(); err != nil {
		return nil, fmt.Errorf("load the programs recorded: %w", err)
	}
	e.audit = store.NewAuditWriter(e.store, store.AuditConfig{Queue: cfg.AuditQueue, FlushEvery: store.AuditFlushEvery,
		Policy: e.policyInForce, Logger: e.log, RunFile: cfg.auditRunPath()})
	e.requests = newRequestQueue(e)
	e.changes = newChangeFeed()
	grants, err := e.store.ActiveGrants(context.Background(), e.now())
	if err != nil {
		return nil, fmt.Errorf("load grants: %w", err)
	}
	for _, g := range grants {
		if g.Kind != store.GrantExec { // a sudo command's or an admin session's: a drop-in, not an exec grant
			continue
		}
		e.grants.add(grantFromStore(g))
	}
	e.log.Info("grants loaded", "count", len(grants))
	return e, nil
}

// sourceBox holds the Source behind an atomic pointer.
type sourceBox struct{ Source }

// Run serves executions from src until ctx is done, then answers
// everything outstanding, flushes the audit log and returns. It is called
// once.
func (e *Engine) Run(ctx context.Context, src Source) error {
	if !e.source.CompareAndSwap(nil, &sourceBox{src}) {
		return errors.New("engine: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.background(ctx)
	name, marks := src.Describe()
	e.log.Info("enforcer running", "source", name, "marks", marks, "policy", e.pol.Load().eng.ID(),
		"revision", e.pol.Load().eng.Revision(), "fail_closed", e.cfg.FailClosed)
	e.record(store.Event{Kind: "daemon", Detail: fmt.Sprintf("started: source %s, marks %s", name, strings.Join(marks, ", "))})
	err := src.Run(ctx, Handler{Exec: e.handle, FileOp: e.fileOp, FileWritten: e.FileWritten, Undecided: e.undecided, Tamper: e.tamper,
		SessionEnded: e.SessionEnded, AuthorizationSeen: e.authorizationSeen})
	cancel()
	e.wg.Wait()
	e.sess.mu.Lock()
	if e.sess.timer != nil {
		e.sess.timer.Stop()
	}
	e.sess.mu.Unlock()
	closeCtx, done := context.WithTimeout(context.Background(), 10*time.Second)
	defer done()
	e.record(store.Event{Kind: "daemon", Detail: "stopped"})
	if cerr := e.audit.Close(closeCtx); cerr != nil {
		e.log.Error("flush audit events", "err", cerr)
	}
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// background starts the engine's writer goroutines.
func (e *Engine) background(ctx context.Context) {
	run := func(f func(context.Context)) {
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			f(ctx)
		}()
	}
	run(e.requests.run)
	run(e.writeTTY)
	run(e.writeGrantUses)
	run(e.maintain)
	run(e.watchPolicy)
	if e.content != nil {
		run(func(ctx context.Context) { e.content.run(ctx, e.contentKilled) })
	}
	if e.programs != nil {
		run(e.recordPrograms)
	}
}

// verdictOnce makes sure an Exec is answered exactly once, whichever of the
// decision and the watchdog comes first.
type verdictOnce struct {
	ex   held
	done atomic.Bool
}

// held is what the kernel holds until it is answered: an Exec or a FileOp.
type held interface {
	PID() int32
	Respond(allow, cache bool) error
}

func (v *verdictOnce) respond(allow, cache bool) bool {
	if !v.done.CompareAndSwap(false, true) {
		return false
	}
	if err := v.ex.Respond(allow, cache); err != nil {
		slog.Default().Warn("respond to kernel", "err", err)
	}
	return true
}

// handle is called by the source for every held exec.
func (e *Engine) handle(ex Exec) {
	start := time.Now()
	e.counters.execs.Add(1)
	e.deciding.Add(1) // until the decision is recorded (FlushAudit waits)
	v := &verdictOnce{ex: ex}
	xf := ex.Facts()
	st, path, err := fileOf(&xf)
	if err != nil {
		e.internalError(v, "exec event", err)
		e.deciding.Add(-1)
		return
	}
	// One policy for the whole decision: the facts gathered must be the
	// ones it needs (SHA-1 only if it has a SHA-1 criterion), even when a
	// reload lands meanwhile.
	lp := e.pol.Load()
	want := wantOf(lp.eng.Needs(), &xf)
	if subj, ok := e.cache.get(st.key, st.stamp); ok && facts.Gathered(subj, want) {
		e.counters.cacheHits.Add(1)
		// Decided on the reader loop, unless the decision needs the
		// arguments or the parent chain: reading them waits for the task
		// to be parked in execve (milliseconds on a busy machine) and can
		// block, so such a decision is made again on a goroutine of its
		// own, and the loop goes on with the next exec.
		stop := e.watchdog(v, ex.Deadline())
		if !e.decide(v, lp, &xf, path, st, subj, start, true, nil) {
			go e.decideOffLoop(v, lp, xf, path, st, subj, start, stop)
			return
		}
		stop()
		e.deciding.Add(-1)
		return
	}
	// A file seen for the first time (or changed): hash it off the reader
	// loop so other execs are not held up, under the decision budget.
	e.counters.cacheMisses.Add(1)
	stop := e.watchdog(v, ex.Deadline())
	// xf goes by value: captured, it would move to the heap on every exec,
	// cache hits included.
	go func(xf ExecFacts) {
		defer e.deciding.Add(-1)
		defer stop()
		if lp.eng.Needs().Content && e.content != nil && xf.File != nil && e.content.mustHold(xf.File, st) {
			// Hashed once, under the hold (decideHeld).
			e.decide(v, lp, &xf, path, st, policy.Subject{}, start, false, nil)
			return
		}
		e.hashes <- struct{}{}
		subj, err := e.execFileFacts(xf.File, path, st, want)
		<-e.hashes
		if err != nil {
			e.internalError(v, "gather facts of "+path, err)
			return
		}
		if e.cache.put(st.key, st.stamp, subj) {
			e.log.Info("fact cache flushed", "reason", "full", "max", e.cfg.CacheEntries)
		}
		e.decide(v, lp, &xf, path, st, subj, start, false, nil)
	}(xf)
}

// decideOffLoop decides an exec the reader loop left because it needs
// facts that take time to read; stop disarms its watchdog.
func (e *Engine) decideOffLoop(v *verdictOnce, lp *loadedPolicy, xf ExecFacts, path string, st fileStat, subj policy.Subject, start time.Time, stop func()) {
	defer e.deciding.Add(-1)
	defer stop()
	e.decide(v, lp, &xf, path, st, subj, start, false, nil)
}

// fileOf is the executed file's identity and path: what the source
// reported, the rest read from its descriptor.
func fileOf(xf *ExecFacts) (fileStat, string, error) {
	if xf.File == nil && (xf.Stat == nil || xf.Path == "") {
		return fileStat{}, "", errors.New("the source gave no descriptor, and not both a path and a stat")
	}
	var st fileStat
	if xf.Stat != nil {
		st = statFromKernel(*xf.Stat)
	} else {
		var err error
		if st, err = stat(xf.File); err != nil {
			return st, "", fmt.Errorf("stat: %w", err)
		}
	}
	if xf.Path != "" {
		return st, xf.Path, nil
	}
	path, err := fdPath(xf.File)
	if err != nil {
		return st, "", fmt.Errorf("path of exec fd: %w", err)
	}
	return st, path, nil
}

// execFileFacts gathers the facts of the file being executed: from the
// kernel's descriptor, or — for a source without one — from path opened
// now, refused unless it is still the file the kernel stat'ed (same
// device, inode, size and times): hashing a replacement would put its
// facts in the cache under the original's identity.
func (e *Engine) execFileFacts(f *os.File, path string, st fileStat, want facts.Want) (policy.Subject, error) {
	if f == nil {
		var err error
		if f, err = facts.OpenRead(path); err != nil {
			return policy.Subject{}, err
		}
		defer f.Close()
		now, err := stat(f)
		if err != nil {
			return policy.Subject{}, err
		}
		if now.key != st.key || now.stamp != st.stamp {
			return policy.Subject{}, fmt.Errorf("%s changed or was replaced between the exec and its check", path)
		}
	}
	return e.fileFacts(f, path, want)
}

// fileFacts gathers the facts of an opened program: SHA-1 and the code
// signature only if wanted.
func (e *Engine) fileFacts(f *os.File, path string, want facts.Want) (policy.Subject, error) {
	return facts.FileWant(f, path, want)
}

// wantOf is what of a program's costly facts the policy needs: SHA-1, and
// its code signature (publisher, team and signing ids) unless the kernel
// reported the ids and the policy looks at nothing else of it. With the
// kernel's cdhash (xf, nil for a parent), the signature on disk must be
// the one the kernel validated, and its pages are not hashed again.
func wantOf(n policy.Needs, xf *ExecFacts) facts.Want {
	w := facts.Want{SHA1: n.SHA1, Signature: n.Signature}
	if w.Signature && xf != nil && xf.CDHash != "" {
		var cd [20]byte
		if b, err := hex.DecodeString(xf.CDHash); err == nil && len(b) == len(cd) {
			copy(cd[:], b)
			w.KernelCDHash = &cd
		}
	}
	return w
}

// watchdog answers by itself when the decision budget (or the kernel's
// deadline, less a margin) runs out. The returned func disarms it.
//
// Its timers are reused (a timer per exec was a tenth of the daemon's
// CPU on the held path): one goes back to the pool only when Stop says it
// never fired for this decision, so a late callback can never answer the
// next decision that timer watches.
func (e *Engine) watchdog(v *verdictOnce, deadline time.Time) func() {
	budget := e.cfg.DecisionBudget.D()
	if !deadline.IsZero() {
		if left := time.Until(deadline) * 8 / 10; left < budget {
			budget = left
		}
	}
	w, _ := e.watchdogs.Get().(*watchdogTimer)
	if w == nil {
		w = &watchdogTimer{pool: &e.watchdogs}
		w.t = time.AfterFunc(time.Hour, func() { e.budgetExceeded(w.v.Load(), w.budget.Load()) })
		w.t.Stop()
	}
	w.v.Store(v)
	w.budget.Store(int64(budget))
	w.t.Reset(budget)
	return w.disarm
}

// watchdogTimer is one reusable watchdog.
type watchdogTimer struct {
	t      *time.Timer
	v      atomic.Pointer[verdictOnce]
	budget atomic.Int64
	pool   *sync.Pool
}

func (w *watchdogTimer) disarm() {
	if w.t.Stop() {
		w.v.Store(nil)
		w.pool.Put(w)
	}
}

// budgetExceeded answers v by itself (a watchdog fired).
func (e *Engine) budgetExceeded(v *verdictOnce, budget int64) {
	if v == nil {
		return
	}
	allow := !e.cfg.FailClosed
	if v.respond(allow, false) {
		e.counters.timeouts.Add(1)
		b := time.Duration(budget)
		e.log.Warn("decision budget exceeded; answered by itself", "budget", b, "allowed", allow)
		e.record(store.Event{Kind: "daemon", Allowed: allow, Detail: fmt.Sprintf("decision budget %v exceeded; answered %s", b, allowWord(allow))})
	}
}

func allowWord(allow bool) string {
	if allow {
		return "allow"
	}
	return "deny"
}

// internalError answers per fail_closed and records why.
func (e *Engine) internalError(v *verdictOnce, what string, err error) {
	allow := !e.cfg.FailClosed
	if v.respond(allow, false) {
		e.counters.internalErrors.Add(1)
		e.log.Warn("internal error; answered by itself", "what", what, "err", err, "allowed", allow)
		e.record(store.Event{Kind: "daemon", Allowed: allow, Detail: fmt.Sprintf("%s: %v; answered %s", what, err, allowWord(allow))})
	}
}

// decide evaluates grants and policy and answers.
// start is when the event arrived; the latency recorded runs from there
// to the answer (hashing of a new file included).
//
// On the reader loop (onLoop) it reads nothing that waits on the task:
// when the decision or its record needs the arguments (not in xf) or the
// parent chain, it returns false having done nothing that counts — no
// answer, no grant use, no record — with the task it read put in xf, to
// be called again off the loop. Otherwise it returns true.
//
// hold is the file's contents held unchanged (subj was gathered under
// it), nil when they are not. A decision that needs them held and has no
// hold is made again by decideHeld.
func (e *Engine) decide(v *verdictOnce, lp *loadedPolicy, xf *ExecFacts, path string, st fileStat, subj policy.Subject, start time.Time, onLoop bool, hold contentHold) bool {
	pid := v.ex.PID()
	// The task doing the exec (uid, groups, terminal: two /proc files,
	// ~20 µs) is read only when the decision or its record needs it: a
	// grant on the file, a rule scoped to users, an audit event, a deny.
	var task Task
	haveTask := xf.Task != nil
	if haveTask {
		task = *xf.Task
	}
	var taskErr error
	readTask := func() bool {
		if !haveTask && taskErr == nil {
			if task, taskErr = e.tasks.Task(pid); taskErr == nil {
				haveTask = true
			}
		}
		return haveTask
	}
	taskFailed := func() bool {
		// The task is gone (killed while held) or /proc is unreadable.
		e.internalError(v, fmt.Sprintf("read task %d", pid), taskErr)
		return true
	}
	// offLoop hands the decision over, keeping the task if it was read.
	offLoop := func() bool {
		if haveTask && xf.Task == nil {
			t := task
			xf.Task = &t
		}
		return false
	}
	grantsHere := e.grants.any() && e.grants.onFile(st.key)
	if grantsHere && !readTask() {
		return taskFailed()
	}
	if hold == nil && e.needsHold(lp, xf, st, grantsHere && e.grants.names(task.UID, st.key, path)) {
		// The bytes decided must be the bytes that run (a writer could
		// change them before the exec has them): hold the file, off the
		// loop (it may be hashed again).
		offLoop()
		if onLoop {
			return false
		}
		return e.decideHeld(v, lp, xf, path, st, start)
	}
	if hold != nil {
		if err := hold.admit(pid); err != nil {
			ue, ok := errors.AsType[*unheldError](err)
			if !ok {
				ue = &unheldError{why: err.Error()}
			}
			offLoop()
			e.denyUnheld(v, lp, xf, path, start, ue)
			return true
		}
	}
	slowArgs := onLoop && !xf.HaveArgs
	subj.Path = path
	// Signing facts the kernel verified for this exec replace what was
	// read from the file.
	if xf.TeamID != "" || xf.SigningID != "" {
		subj.TeamID, subj.SigningID = xf.TeamID, xf.SigningID
	}
	f := &policy.Facts{Subject: subj, Event: policy.Exec, Machine: e.machine}
	userSet, userFailed := false, false
	setUser := func() bool {
		if !userSet && readTask() {
			userSet = true
			f.UID = task.UID
			f.User = e.users.userName(task.UID)
			f.Groups = e.users.groupNames(task.GIDs)
		}
		return userSet
	}
	argsRead := false
	var argsWhy, parentsWhy string // why they could not be had; "" when they were
	readArgs := func() {
		if argsRead {
			return
		}
		argsRead = true
		argv := xf.Args
		if !xf.HaveArgs {
			argv, argsWhy = e.execArgs(pid)
		}
		if len(argv) > 0 {
			f.Args = argv[1:]
		}
	}
	// Arguments and the parent chain cost tens to hundreds of microseconds
	// to read; they are gathered only when a definition that could match
	// looks at them (EvaluateLazy), and the arguments again for the record
	// of a deny. What cannot be had is said so (f.Unavailable), and the
	// policy decides it by the rule's action: never an allow for want of
	// it.
	parentsRead := false
	deferred := false // on the loop: a fact is needed that must be read off it
	load := func(_ *policy.Facts, n policy.Needs) {
		if n.User && !setUser() {
			userFailed = true
		}
		// The parent chain and the folders above the file (stats, and
		// owner lookups through NSS) may block: read off the loop.
		if deferred || slowArgs && n.Args || onLoop && (n.Parents || n.Protection) {
			deferred = true // the decision made without it is not used
			return
		}
		if n.Args {
			readArgs()
			f.Unavailable.Args = argsWhy != ""
		}
		if n.Parents && !parentsRead {
			parentsRead = true
			f.Parents, parentsWhy = e.parents(pid, lp.eng.Needs())
			f.Unavailable.Parents = parentsWhy != ""
		}
		if n.Protection {
			// Read now, for this exec: the folders above a file change
			// without the file, so this is never cached.
			var fi os.FileInfo
			if xf.File != nil {
				fi, _ = xf.File.Stat()
			}
			f.Protection, f.ProtectionDetail = facts.ProtectionOf(path, fi, e.admins)
		}
	}

	// While admin sessions run, every exec of theirs is recorded with the
	// session (sessions.go), and the kernel remembers no allows.
	var session int64
	sessions := e.runningSessions()
	if len(sessions) > 0 {
		if !readTask() {
			return taskFailed()
		}
		var later bool
		if session, later = e.sessionOf(sessions, task, pid, onLoop); later {
			return offLoop()
		}
	}

	now := e.now()
	var g *grant
	switch {
	case !grantsHere:
	case !slowArgs:
		setUser()
		g = e.grants.use(task.UID, st.key, path, subj.SHA256, xf.CDHash, now)
	case e.grants.peek(task.UID, st.key, path, subj.SHA256, xf.CDHash, now) != nil:
		// The grant's record carries the arguments. (One made after the
		// look waits for the next exec.)
		return offLoop()
	}
	if g != nil {
		// A grant is used rarely: its record carries the arguments (read
		// while the task is still held in execve).
		readArgs()
		v.respond(true, false)
		e.counters.allowed.Add(1)
		e.counters.grantsUsed.Add(1)
		if heldBytes(hold) {
			e.counters.contentHeld.Add(1)
		}
		e.observe(start)
		if g.usesLeft >= 0 {
			select {
			case e.uses <- g.id:
			default:
				e.log.Warn("grant use queue full; the stored count catches up at the next use", "grant", g.id)
			}
		}
		e.record(store.Event{Kind: "exec", Action: "allow", Allowed: true, UID: task.UID, User: f.User, PID: pid,
			Path: path, SHA256: subj.SHA256, AppType: subj.Type.String(), Source: subj.Source, Args: f.Args,
			GrantID: g.id, RequestID: g.requestID, Reason: g.reason, Detail: "allowed by grant (" + string(g.origin) + ")",
			PolicyID: lp.eng.ID(), PolicyRevision: lp.eng.Revision(), Session: session})
		return true
	}

	d, cacheable := lp.eng.EvaluateLazy(f, load)
	if userFailed {
		return taskFailed()
	}
	if deferred || slowArgs && !argsRead && !d.Action.Allows() {
		// A deny's record carries the arguments too.
		return offLoop()
	}
	// A record, a request or a terminal message names the user: read
	// while the task is still held.
	if (d.Audit || !d.Action.Allows() || d.Unavailable.Args || d.Unavailable.Parents || session != 0) && !setUser() {
		return taskFailed()
	}
	// The kernel may remember a plain allow that nothing about the user
	// or the process could change (and not the download source, an
	// attribute that changes without the contents).
	// Nor one on contents held for this exec alone.
	cacheable = cacheable && hold == nil && !lp.eng.Needs().Source && *e.cfg.KernelCache && len(sessions) == 0
	allow := d.Action.Allows()
	if !allow {
		// The arguments are gone once the exec fails: read them first.
		readArgs()
	}
	var cwd string
	if d.Action.Interactive() {
		if cwd = xf.Cwd; cwd == "" {
			cwd = e.tasks.Cwd(pid) // for the relaunch
		}
	}
	// A program's first exec: its record names the user and the whole
	// parent chain, read while the task is held (a denied one is gone
	// right after the answer). ~110 µs, once per program (programs.go).
	var firstAnc []Ancestor
	first := e.programs != nil && e.programs.unseen(subj.SHA256)
	if first {
		setUser()
		firstAnc, _ = e.tasks.Ancestors(pid, maxAncestors)
	}
	v.respond(allow, cacheable)
	e.observe(start)
	if allow {
		e.counters.allowed.Add(1)
		if heldBytes(hold) {
			e.counters.contentHeld.Add(1)
		}
	} else {
		e.counters.denied.Add(1)
	}
	var without string // for the record: what the decision was made without
	if d.Unavailable.Args || d.Unavailable.Parents {
		without = e.decidedWithout(d, pid, path, argsWhy, parentsWhy)
	}

	recorded := d.Audit || !allow || without != "" || session != 0
	if recorded || first {
		if xf.OriginalPath != "" {
			without = strings.TrimPrefix(without+"; run translocated, the original is "+xf.OriginalPath, "; ")
		}
		ev := store.Event{Kind: "exec", Action: d.Action.String(), Allowed: allow, Rule: d.Rule, RuleName: d.RuleName,
			Group: d.Group, PolicyID: d.PolicyID, PolicyRevision: d.Revision, UID: task.UID, User: f.User, Groups: f.Groups, PID: pid,
			Path: path, SHA256: subj.SHA256, AppType: subj.Type.String(), Source: subj.Source, Args: f.Args, Detail: without,
			Session: session}
		// The chain's paths when the decision read it; otherwise the
		// nearest parent (15 µs; the whole chain of a shell's child costs
		// 110 µs, too much for every audited exec): the console joins the
		// rest from the parent's own first record (what-if).
		if len(f.Parents) > 0 {
			for _, p := range f.Parents {
				ev.Parents = append(ev.Parents, p.Path)
			}
			ev.Parent = ev.Parents[0]
		} else if len(firstAnc) > 0 { // read already, for the first record
			ev.Parent = firstAnc[0].Exe
		} else if a, err := e.tasks.Ancestors(pid, 1); err == nil && len(a) > 0 {
			ev.Parent = a[0].Exe
		}
		if recorded {
			e.record(ev)
		}
		if first {
			e.sawProgram(ev, st, subj, firstAnc)
		}
	}
	if allow {
		return true
	}
	msg := d.Message.Render(&d, f)
	p := pendingRequest{
		uid: task.UID, user: f.User, pid: pid, kind: requestKind(d.Action), path: path, subj: subj,
		key: st.key, cdhash: xf.CDHash, args: f.Args, cwd: cwd, tty: task.TTY, decision: d, msg: msg,
	}
	switch {
	case d.Action.Interactive():
		// The request writer tells the terminal how to answer.
		e.requests.enqueue(p)
		return true
	case d.Action == policy.DenyMessage || d.Action == policy.DenyNotify:
		// A notice for the user's agent (the denied dialog or a
		// notification); the terminal gets the deny text below.
		p.tty = ""
		e.requests.enqueue(p)
	}
	if task.TTY != "" && *e.cfg.TTYMessages {
		e.sayOnTTY(ttyMessage{tty: task.TTY, text: denyText(path, d, msg)})
	}
	return true
}

// argsWait bounds the wait for a blocked task's arguments (off the reader
// loop): proc.ExecArgs waits up to 250 ms for a task on a busy machine to
// be parked in execve, and the task's owner decides where argv points —
// memory backed by a FUSE file whose server never answers makes the read
// block. The read then runs on in its goroutine (at most argsReaders of
// them) and the exec is decided without arguments.
const (
	argsWait    = 300 * time.Millisecond
	argsReaders = 16
)

// execArgs reads the argv of the task held in execve; when it cannot,
// why says so (and argv is what was read, for the record).
func (e *Engine) execArgs(pid int32) (argv []string, why string) {
	select {
	case e.argsSem <- struct{}{}:
	default:
		e.counters.argsUnavailable.Add(1)
		return nil, fmt.Sprintf("%d argument reads already in flight", argsReaders)
	}
	type result struct {
		argv []string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		defer func() { <-e.argsSem }()
		argv, err := e.tasks.ExecArgs(pid)
		ch <- result{argv, err}
	}()
	t := time.NewTimer(argsWait)
	defer t.Stop()
	select {
	case r := <-ch:
		if r.err != nil {
			e.counters.argsUnavailable.Add(1)
			return r.argv, r.err.Error()
		}
		return r.argv, ""
	case <-t.C:
		e.counters.argsUnavailable.Add(1)
		return nil, fmt.Sprintf("not read within %v", argsWait)
	}
}

// parents gathers the facts of the parent chain of pid. Ancestors comes
// from /proc alone; the facts of each ancestor's executable need it opened
// and, the first time, hashed — which for a file on FUSE can block for as
// long as its server likes. That part runs in its own goroutine (at most
// argsReaders at once, sharing the argv readers' budget); after
// parentsWait the chain is used with paths only, and the goroutine goes on
// to fill the facts cache for next time.
//
// why says what is missing when the chain cannot decide the policy's
// parent criteria: it could not be read whole, or it has only paths and
// the policy looks at more of a parent (Needs.ParentFacts).
const parentsWait = 100 * time.Millisecond

func (e *Engine) parents(pid int32, needs policy.Needs) (chain []policy.Subject, why string) {
	anc, err := e.tasks.Ancestors(pid, maxAncestors)
	if err != nil {
		why = fmt.Sprintf("parent chain read %d of its processes: %v", len(anc), err)
		if len(anc) == 0 {
			return nil, why
		}
	}
	pathsOnly := func(what string) ([]policy.Subject, string) {
		e.counters.parentsPathsOnly.Add(1)
		out := make([]policy.Subject, 0, len(anc))
		for _, a := range anc {
			out = append(out, policy.Subject{Path: a.Exe, Type: policy.Binary})
		}
		if why == "" && needs.ParentFacts {
			why = "only the paths of the parent chain: its programs' facts were " + what
		}
		return out, why
	}
	select {
	case e.argsSem <- struct{}{}:
	default:
		return pathsOnly(fmt.Sprintf("not read, %d reads already in flight", argsReaders))
	}
	type result struct {
		chain    []policy.Subject
		complete bool
	}
	ch := make(chan result, 1)
	go func() {
		defer func() { <-e.argsSem }()
		chain, complete := e.parentFacts(anc, wantOf(needs, nil))
		ch <- result{chain, complete}
	}()
	t := time.NewTimer(parentsWait)
	defer t.Stop()
	select {
	case r := <-ch:
		if why == "" && !r.complete && needs.ParentFacts {
			why = "the facts of a program of the parent chain could not be read"
		}
		return r.chain, why
	case <-t.C:
		e.log.Warn("facts of the parent chain not gathered in time; deciding on their paths", "pid", pid, "waited", parentsWait)
		return pathsOnly(fmt.Sprintf("not gathered within %v", parentsWait))
	}
}

// parentFacts gathers the facts of each ancestor's program; complete is
// false when one (other than a kernel thread's, which has none) could not
// be read, and it then has its path only.
func (e *Engine) parentFacts(anc []Ancestor, want facts.Want) (out []policy.Subject, complete bool) {
	out = make([]policy.Subject, 0, len(anc))
	complete = true
	for _, a := range anc {
		s := policy.Subject{Path: a.Exe, Type: policy.Binary}
		read := false
		if f, err := e.tasks.OpenExe(a.PID); err == nil {
			if st, err := stat(f); err == nil {
				if c, ok := e.cache.get(st.key, st.stamp); ok && facts.Gathered(c, want) {
					s, read = c, true
				} else if c, err := e.fileFacts(f, a.Exe, want); err == nil {
					e.cache.put(st.key, st.stamp, c)
					s, read = c, true
				}
			}
			f.Close()
		}
		complete = complete && (read || a.Exe == "")
		s.Path = a.Exe
		out = append(out, s)
	}
	return out, complete
}

// decidedWithout counts and logs a decision made without the arguments or
// the parent chain (d.Unavailable), and returns what the audit event says
// of it.
func (e *Engine) decidedWithout(d policy.Decision, pid int32, path, argsWhy, parentsWhy string) string {
	var what []string
	if d.Unavailable.Args {
		e.counters.decidedWithoutArgs.Add(1)
		what = append(what, "arguments not read ("+argsWhy+")")
	}
	if d.Unavailable.Parents {
		e.counters.decidedWithoutParents.Add(1)
		what = append(what, "parent chain not read ("+parentsWhy+")")
	}
	detail := strings.Join(what, "; ") + "; decided without them: a rule that needs them matches if it denies, is skipped if it allows"
	if n, ok := e.withoutLog.take(e.now()); ok {
		e.log.Warn("exec decided without facts a rule needs", "pid", pid, "path", path, "action", d.Action.String(), "rule", d.Rule,
			"detail", detail, "also_since_last", n)
	}
	return detail
}

// everyMinute lets a message through at once, then at most once a minute,
// counting the ones it holds back.
type everyMinute struct {
	mu   sync.Mutex
	last time.Time
	held int
}

// take reports whether to log now, and how many were held back since the
// last time.
func (r *everyMinute) take(now time.Time) (held int, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.last.IsZero() && now.Sub(r.last) < time.Minute {
		r.held++
		return 0, false
	}
	held, r.held, r.last = r.held, 0, now
	return held, true
}

func (e *Engine) observe(start time.Time) {
	e.counters.latency.observe(time.Since(start))
}

// FlushAudit writes the queued audit events now (for a test, or a caller
// about to read them back); the hot path never waits for it.
//
// It first waits for the decisions under way to be recorded (the kernel is
// answered before the event is queued), for at most flushWaitDecisions:
// so once it returns, the events of every exec answered before the call
// are written, unless execs never stop coming.
func (e *Engine) FlushAudit(ctx context.Context) error {
	deadline := time.Now().Add(flushWaitDecisions)
	for e.deciding.Load() > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(time.Millisecond)
	}
	return e.audit.Flush(ctx)
}

// flushWaitDecisions bounds how long FlushAudit waits for decisions under
// way.
const flushWaitDecisions = 2 * time.Second

// record queues an audit event; it never blocks. An event that no rule
// decided (a timeout, an internal error, a request's later life, the
// daemon's own) names the policy in force when it happened; its rule is 0
// and its detail says what happened instead.
func (e *Engine) record(ev store.Event) {
	if ev.Time.IsZero() {
		ev.Time = e.now()
	}
	if ev.PolicyID == "" {
		ev.PolicyID, ev.PolicyRevision = e.policyInForce()
	}
	if !e.audit.Enqueue(ev) {
		e.counters.auditDropped.Add(1)
	}
}

// policyInForce is the id and revision of the policy in force ("" and 0
// before the first load).
func (e *Engine) policyInForce() (string, int64) {
	if lp := e.pol.Load(); lp != nil {
		return lp.eng.ID(), lp.eng.Revision()
	}
	return "", 0
}

// fileStat is what one fstat tells about the exec'd file.
type fileStat struct {
	key   fileKey
	stamp fileStamp
	// sealed: only root can write the file (owned by root, and neither
	// its group nor others may write), so no user can change the bytes
	// decided before the exec has them.
	sealed bool
}

// sealedMode reports whether a file of owner uid and mode is writable by
// root alone. With an access control list the group bits are its mask,
// which bounds every named user and group.
func sealedMode(uid uint32, mode uint32) bool { return uid == 0 && mode&0o022 == 0 }

// statFromKernel is the engine's form of a stat a source reported.
func statFromKernel(s FileStat) fileStat {
	return fileStat{key: fileKey{s.Dev, s.Ino}, stamp: fileStamp{size: s.Size, mtimeNs: s.MtimeNs, ctimeNs: s.CtimeNs}}
}

func stat(f *os.File) (fileStat, error) {
	fi, err := f.Stat()
	if err != nil {
		return fileStat{}, err
	}
	sys, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileStat{}, errors.New("no stat_t")
	}
	return statOf(sys), nil
}

func grantFromStore(g store.Grant) *grant {
	return &grant{
		id: g.ID, uid: g.UID, path: g.Path, key: fileKey{g.Dev, g.Ino}, sha256: g.SHA256, cdhash: g.CDHash,
		notBefore: g.NotBefore, expires: g.Expires, usesLeft: g.UsesLeft, reason: g.Reason, origin: g.Origin, requestID: g.RequestID,
	}
}

// FileWritten forgets the cached facts of a file closed after writing. The
// stamp check (size, mtime, ctime) already catches most changes; this also
// catches a rewrite within one timestamp tick.
func (e *Engine) FileWritten(dev, ino uint64) {
	if dev == 0 && ino == 0 {
		n := e.cache.flush("write events lost")
		e.log.Warn("fact cache flushed", "reason", "write events lost", "entries", n)
		return
	}
	if e.cache.remove(fileKey{dev, ino}) {
		e.counters.cacheEvictions.Add(1)
		e.log.Debug("fact cache entry dropped", "reason", "file written", "dev", dev, "ino", ino)
	}
}
