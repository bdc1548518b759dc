package enforcer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/facts"
	"github.com/gatehouse/gatehouse/policy"
)

const (
	// CheckMaxSize is the largest file a check reads (real programs are
	// well below it; a sparse file of any size costs nothing to make).
	CheckMaxSize = 2 << 30
	// CheckTimeout bounds the time one check may take, waiting for its
	// turn included.
	CheckTimeout = 30 * time.Second
)

// CheckQuery asks what the daemon would decide for a program.
type CheckQuery struct {
	// Files are the program's open files — one, or for an app bundle the
	// three facts.Open returns — followed by one for each parent program,
	// direct parent first. The caller opened them with its own rights
	// (gatehouse check does, and passes them over the socket), so the
	// daemon reads nothing the caller could not. The daemon names each by
	// the kernel's path of the open file. They stay the caller's to close.
	Files []*os.File
	// Path and Parents name the program and its parents instead of Files;
	// only root may check by path (the daemon could read any file).
	Path    string
	Parents []string
	// Args are its arguments (without argv[0]).
	Args []string
	// User evaluates as another user ("" = the caller).
	User string
	// Sudo evaluates the program as a sudo command (type sudo): what
	// `gatehouse sudo` would be told. Its parent chain is then the
	// caller's own process and its ancestors, as the kernel names them
	// (sudo will run it below the caller), never files the caller sent.
	Sudo bool
}

// CheckResult is the decision for a CheckQuery.
type CheckResult struct {
	Subject  policy.Subject
	User     string
	Decision policy.Decision
	// Allowed is whether the program would run: the decision allows it,
	// or Grant would let it through.
	Allowed bool
	Trace   []policy.RuleTrace
	// Grant is an active grant of the user's for this very file, if any.
	Grant *store.Grant
}

// Check evaluates a program as the daemon would for the caller (or, for
// those who may, another user), from files the caller opened (see
// CheckQuery). Its work is bounded: files over CheckMaxSize are refused,
// a check ends after CheckTimeout or when ctx ends (the caller left), one
// check per user runs at a time and at most half the CPUs hash for checks
// at once, so that checks cannot slow the decisions on execs much.
func (e *Engine) Check(ctx context.Context, a Actor, q CheckQuery) (CheckResult, error) {
	if _, err := authorizeAny(a, OpCheck); err != nil {
		return CheckResult{}, err
	}
	if len(q.Args) > 4096 {
		return CheckResult{}, invalid("too many arguments (at most 4096)")
	}
	uid, user := a.UID, a.User
	groups := e.users.groupNames(a.GIDs)
	if q.User != "" && q.User != a.User {
		if err := authorize(a, OpCheckAsOther, 0); err != nil {
			return CheckResult{}, err
		}
		u, g, err := facts.LookupUser(q.User)
		if err != nil {
			return CheckResult{}, invalid("%s", err)
		}
		uid, user, groups = u, q.User, g
	}
	files := q.Files
	switch {
	case len(files) > 0 && (q.Path != "" || len(q.Parents) > 0):
		return CheckResult{}, invalid("give the program either as open files or by path, not both")
	case len(files) == 0:
		var err error
		if files, err = openByPath(a, q.Path, q.Parents); err != nil {
			return CheckResult{}, err
		}
		defer func() {
			for _, f := range files {
				f.Close()
			}
		}()
	}

	if len(files) > 3+maxAncestors {
		return CheckResult{}, invalid("too many files: a program (one, or three for an app bundle) and at most %d parents", maxAncestors)
	}

	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	releaseAll, releaseOwn, err := e.checks.acquire(ctx, a)
	if err != nil {
		return CheckResult{}, checkError(ctx, err)
	}
	// The files are read in a goroutine that keeps the user's turn until
	// its last read returns: a read that never does (a file on a FUSE
	// mount whose server does not answer) costs its user their checks,
	// not everyone's, and not a thread per attempt.
	type gathered struct {
		subj    policy.Subject
		parents []policy.Subject
		err     error
	}
	done := make(chan gathered, 1)
	go func() {
		defer releaseOwn()
		var g gathered
		g.subj, g.parents, g.err = gatherCheck(ctx, files)
		done <- g
	}()
	var g gathered
	select {
	case g = <-done:
		releaseAll()
	case <-ctx.Done():
		releaseAll()
		return CheckResult{}, checkError(ctx, ctx.Err())
	}
	if g.err != nil {
		return CheckResult{}, checkError(ctx, g.err)
	}
	subj := g.subj
	lp := e.pol.Load()
	if q.Sudo {
		subj.Type = policy.SudoCommand
		if len(g.parents) > 0 {
			return CheckResult{}, invalid("a sudo command's parents are the caller's processes: send the command's file only")
		}
		if lp.eng.Needs().Parents && a.Peer.PID > 0 {
			anc, _ := e.tasks.Ancestors(a.Peer.PID, maxAncestors-1)
			g.parents, _ = e.parentFacts(append([]Ancestor{{PID: a.Peer.PID, Exe: a.Peer.Exe}}, anc...), wantOf(lp.eng.Needs(), nil))
		}
	}
	if lp.eng.Needs().Protection {
		fi, _ := files[0].Stat()
		subj.Protection, subj.ProtectionDetail = facts.ProtectionOf(subj.Path, fi, e.admins)
	}
	f := &policy.Facts{Subject: subj, Event: policy.Exec, UID: uid, User: user, Groups: groups, Machine: e.machine,
		Parents: g.parents}
	f.Args = q.Args
	d, trace := lp.eng.Explain(f)
	res := CheckResult{Subject: subj, User: user, Decision: d, Allowed: d.Action.Allows(), Trace: trace}
	if fi, err := files[0].Stat(); err == nil {
		if sys, ok := fi.Sys().(*syscall.Stat_t); ok {
			st := statOf(sys)
			if g := e.grants.peek(uid, st.key, subj.Path, subj.SHA256, "", e.now()); g != nil {
				res.Grant = &store.Grant{ID: g.id, UID: g.uid, Path: g.path, SHA256: g.sha256, Expires: g.expires,
					UsesLeft: g.usesLeft, Origin: g.origin, Reason: g.reason, RequestID: g.requestID}
				res.Allowed = true
			}
		}
	}
	return res, nil
}

// gatherCheck reads the facts of a check's files: the program's, then its
// parents'.
func gatherCheck(ctx context.Context, files []*os.File) (policy.Subject, []policy.Subject, error) {
	name, err := fdPath(files[0])
	if err != nil {
		return policy.Subject{}, nil, fmt.Errorf("path of the program's descriptor: %w", err)
	}
	subj, used, err := facts.FromFiles(ctx, files, name, CheckMaxSize)
	if err != nil {
		return policy.Subject{}, nil, err
	}
	rest := files[used:]
	if len(rest) > maxAncestors {
		return policy.Subject{}, nil, fmt.Errorf("too many parents (at most %d)", maxAncestors)
	}
	var parents []policy.Subject
	for i, pf := range rest {
		pname, err := fdPath(pf)
		if err != nil {
			return policy.Subject{}, nil, fmt.Errorf("path of parent %d's descriptor: %w", i+1, err)
		}
		ps, n, err := facts.FromFiles(ctx, rest[i:i+1], pname, CheckMaxSize)
		if err == nil && n != 1 {
			err = fmt.Errorf("%s is a directory; a parent is a program file", pname)
		}
		if err != nil {
			return policy.Subject{}, nil, fmt.Errorf("parent %s: %w", pname, err)
		}
		parents = append(parents, ps)
	}
	return subj, parents, nil
}

// openByPath opens the program and parents root named by path, as the CLI
// would: without blocking, refusing pipes and devices.
func openByPath(a Actor, path string, parents []string) ([]*os.File, error) {
	if a.Kind != ActorRoot {
		return nil, forbidden("only root may check a program by path: open the program and send its descriptor (gatehouse check does so; update it if it is older than this daemon)")
	}
	if !filepath.IsAbs(path) {
		return nil, invalid("path %q is not absolute; give the full path of the program", path)
	}
	if len(parents) > maxAncestors {
		return nil, invalid("too many parents (at most %d)", maxAncestors)
	}
	for _, p := range parents {
		if !filepath.IsAbs(p) {
			return nil, invalid("parent %q is not absolute; give the full path of each parent program", p)
		}
	}
	var files []*os.File
	fail := func(err error) ([]*os.File, error) {
		for _, f := range files {
			f.Close()
		}
		return nil, err
	}
	for i, p := range append([]string{path}, parents...) {
		fs, err := facts.Open(p)
		if err != nil {
			if i > 0 {
				err = fmt.Errorf("parent %s: %w", p, err)
			}
			return fail(invalid("%s", err))
		}
		if i > 0 && len(fs.List) != 1 {
			fs.Close()
			return fail(invalid("parent %s is a directory; a parent is a program file", p))
		}
		files = append(files, fs.List...)
	}
	return files, nil
}

// checkError says why a check stopped: its time ran out, the caller left,
// or the files could not be read (the caller's to fix).
func checkError(ctx context.Context, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return invalid("the check took longer than %v and was stopped: the file is too large or too slow to read", CheckTimeout)
	case ctx.Err() != nil:
		return invalid("the check was stopped: %v", ctx.Err())
	}
	return invalid("%s", err)
}

// checkSlots bounds the work of checks: one at a time per user, and at
// most a few at once in all. Root is counted in the total, not per user.
type checkSlots struct {
	all chan struct{}
	mu  sync.Mutex
	own map[uint32]chan struct{}
}

func newCheckSlots() *checkSlots {
	return &checkSlots{all: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)/2)), own: map[uint32]chan struct{}{}}
}

// acquire waits for a's turn, or until ctx ends. The caller releases the
// shared turn and the user's own separately.
func (s *checkSlots) acquire(ctx context.Context, a Actor) (releaseAll, releaseOwn func(), err error) {
	var own chan struct{}
	if a.Kind != ActorRoot {
		s.mu.Lock()
		if own = s.own[a.UID]; own == nil {
			own = make(chan struct{}, 1)
			s.own[a.UID] = own
		}
		s.mu.Unlock()
		select {
		case own <- struct{}{}:
		case <-ctx.Done():
			return nil, nil, fmt.Errorf("waiting for your previous check to end: %w", ctx.Err())
		}
	}
	select {
	case s.all <- struct{}{}:
	case <-ctx.Done():
		if own != nil {
			<-own
		}
		return nil, nil, fmt.Errorf("waiting for other checks to end: %w", ctx.Err())
	}
	var once sync.Once
	return func() { once.Do(func() { <-s.all }) }, func() {
		if own != nil {
			<-own
		}
	}, nil
}
