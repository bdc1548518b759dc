package enforcer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/facts"
	"github.com/gatehouse/gatehouse/policy"
)

// FileOp is a file operation held by the kernel until Respond: one of those
// the source was asked to watch (macOS: anything that touches the
// applications folder or the daemon's own files). The engine decides it as
// an install, a delete or an attempt on the daemon, or lets it through.
type FileOp interface {
	// PID is the process doing it.
	PID() int32
	Facts() FileOpFacts
	// Deadline is when the kernel needs the answer; zero means none.
	Deadline() time.Time
	// Respond answers the kernel, exactly once, from any goroutine. The
	// engine never asks the kernel to cache a file operation's answer.
	Respond(allow, cache bool) error
}

// FileOpKind is what a FileOp does.
type FileOpKind uint8

const (
	FileOpUnset FileOpKind = iota
	FileRename
	FileCreate
	FileClone
	FileLink
	FileUnlink
	FileTruncate
	FileExchange
)

var fileOpNames = [...]string{"file operation", "rename", "create", "clone", "link", "unlink", "truncate", "exchangedata"}

func (k FileOpKind) String() string {
	if int(k) < len(fileOpNames) {
		return fileOpNames[k]
	}
	return fmt.Sprintf("file operation %d", uint8(k))
}

// FileOpFacts is what the kernel reported of a file operation.
type FileOpFacts struct {
	Kind FileOpKind
	// From is the existing file acted on (the renamed, cloned, linked,
	// unlinked or truncated one, exchangedata's first file); "" for
	// create. To is the path made or replaced (rename's destination,
	// create's file, a clone's or link's target, exchangedata's second
	// file); "" for unlink and truncate. Both are absolute. A path the
	// kernel cut short keeps its beginning, which is what the engine
	// looks at.
	From, To string
	// Task is the process doing it, Program its executable, and
	// SigningID, TeamID its code signature as the kernel validated it.
	Task              Task
	Program           string
	SigningID, TeamID string
	PlatformBinary    bool
	// ToExists says To names a file that exists (a rename replaces it).
	ToExists bool
}

// fileOp is called by the source for every held file operation.
func (e *Engine) fileOp(op FileOp) {
	v := &verdictOnce{ex: op}
	f := op.Facts()
	if what, ok := e.onProtectedFile(f); ok {
		e.tamperFile(v, f, what)
		return
	}
	lp := e.pol.Load()
	needs := lp.eng.Needs()
	moves := slices.DeleteFunc(classifyMove(e.cfg.ApplicationsDir, f), func(m move) bool {
		return m.event == policy.Install && !needs.Install || m.event == policy.Delete && !needs.Delete
	})
	if len(moves) == 0 {
		// Not a bundle going in or out, or nothing in the policy asks
		// about it: the kernel's own permissions decide.
		v.respond(true, false)
		return
	}
	start := time.Now()
	e.counters.moves.Add(1)
	e.deciding.Add(1)
	stop := e.watchdog(v, op.Deadline())
	go func() {
		defer e.deciding.Add(-1)
		defer stop()
		e.decideMoves(v, lp, op.PID(), f, moves, start)
	}()
}

// move is a bundle going into the applications folder or out of it.
type move struct {
	event policy.Event // Install or Delete
	// bundle is the bundle's path in the applications folder; facts is
	// where its facts are read: the source of a rename or clone into
	// the folder, the bundle itself for a delete, "" when there is
	// nothing to read yet (a new folder made in place).
	bundle, facts string
}

// classifyMove says which bundles f puts into apps or takes out: none, one,
// or two (a bundle renamed to another bundle's name is the delete of the
// first and the install of the second). A bundle is a folder NAME.app
// directly in apps.
//
// Deleting a bundle is renaming it anywhere else (Finder's trash is a
// rename into ~/.Trash), removing it, or removing, moving out or
// replacing anything inside it: rm -r empties the folder before it
// removes it, and a replaced executable is the bundle gone. Installing one
// is making, renaming, cloning or linking something to its name, or
// swapping contents with it. Writing new files inside a bundle (as a copy
// into the folder does, after the install of its folder) is neither.
func classifyMove(apps string, f FileOpFacts) []move {
	if apps == "" {
		return nil
	}
	fromBundle, _ := bundleOf(apps, f.From)
	toBundle, toTop := bundleOf(apps, f.To)
	var out []move
	del := func(b string) { out = append(out, move{event: policy.Delete, bundle: b, facts: b}) }
	switch f.Kind {
	case FileRename, FileExchange:
		if fromBundle != "" && fromBundle != toBundle {
			del(fromBundle)
		}
		if toTop {
			out = append(out, move{event: policy.Install, bundle: toBundle, facts: f.From})
		} else if toBundle != "" && toBundle != fromBundle && (f.Kind == FileExchange || f.ToExists) {
			// A file inside another bundle replaced or swapped away.
			del(toBundle)
		}
	case FileClone, FileLink:
		if toTop {
			out = append(out, move{event: policy.Install, bundle: toBundle, facts: f.From})
		}
	case FileCreate:
		if toTop {
			out = append(out, move{event: policy.Install, bundle: toBundle})
		}
	case FileUnlink, FileTruncate:
		if fromBundle != "" {
			del(fromBundle)
		}
	}
	return out
}

// bundleOf returns the bundle in apps that path is or is inside ("" if
// none), and whether path is the bundle itself.
func bundleOf(apps, path string) (bundle string, top bool) {
	rest, ok := strings.CutPrefix(path, strings.TrimSuffix(apps, "/")+"/")
	if !ok || rest == "" {
		return "", false
	}
	name, below, _ := strings.Cut(rest, "/")
	if !strings.HasSuffix(name, ".app") || name == ".app" {
		return "", false
	}
	return filepath.Join(apps, name), below == ""
}

// decideMoves decides each move in turn and answers: allowed when every
// one is. A move after a denied one is not decided.
func (e *Engine) decideMoves(v *verdictOnce, lp *loadedPolicy, pid int32, f FileOpFacts, moves []move, start time.Time) {
	needs := lp.eng.Needs()
	base := policy.Facts{UID: f.Task.UID, User: e.users.userName(f.Task.UID),
		Groups: e.users.groupNames(f.Task.GIDs), Machine: e.machine}
	var parentsWhy string
	if needs.Parents {
		base.Parents, parentsWhy = e.parents(pid, needs)
		base.Unavailable.Parents = parentsWhy != ""
	}
	type decided struct {
		mv   move
		subj policy.Subject
		why  string
		d    policy.Decision
	}
	var out []decided
	allow := true
	for _, mv := range moves {
		subj, why := e.moveFacts(mv)
		pf := base
		pf.Subject, pf.Event = subj, mv.event
		d := lp.eng.Evaluate(&pf)
		out = append(out, decided{mv, subj, why, d})
		if !d.Action.Allows() {
			allow = false
			break
		}
	}
	v.respond(allow, false)
	e.observe(start)
	if allow {
		e.counters.allowed.Add(1)
	} else {
		e.counters.denied.Add(1)
	}
	for _, o := range out {
		e.recordMove(pid, f, o.mv, o.subj, o.why, parentsWhy, o.d, &base)
	}
}

// recordMove records one decided move and tells the user of a deny that
// asks for it.
func (e *Engine) recordMove(pid int32, f FileOpFacts, mv move, subj policy.Subject, why, parentsWhy string, d policy.Decision, base *policy.Facts) {
	allow := d.Action.Allows()
	if !d.Audit && allow {
		return
	}
	detail := fmt.Sprintf("%s %s", f.Kind, describeOp(f))
	if f.Program != "" {
		detail += " by " + f.Program
	}
	if why != "" {
		detail += "; " + why
	}
	if parentsWhy != "" {
		detail += "; decided without the parent chain: " + parentsWhy
	}
	e.record(store.Event{Kind: mv.event.String(), Action: d.Action.String(), Allowed: allow, Rule: d.Rule, RuleName: d.RuleName,
		Group: d.Group, PolicyID: d.PolicyID, PolicyRevision: d.Revision, UID: f.Task.UID, User: base.User, PID: pid,
		Path: mv.bundle, SHA256: subj.SHA256, AppType: subj.Type.String(), Source: subj.Source, Detail: detail})
	if !allow && (d.Action == policy.DenyNotify || d.Action == policy.DenyMessage) {
		pf := *base
		pf.Subject, pf.Event = subj, mv.event
		e.requests.enqueue(pendingRequest{uid: f.Task.UID, user: base.User, pid: pid, kind: requestKind(d.Action),
			path: mv.bundle, subj: subj, decision: d, msg: d.Message.Render(&d, &pf)})
	}
}

func describeOp(f FileOpFacts) string {
	switch {
	case f.From != "" && f.To != "":
		return f.From + " to " + f.To
	case f.From != "":
		return f.From
	}
	return f.To
}

// moveFacts are the facts of the bundle mv moves: read from where it is
// now, with its path the one in the applications folder. What cannot be
// read is left out, and why says so (for the record and explain): the
// decision is then made on the bundle's path and type.
func (e *Engine) moveFacts(mv move) (subj policy.Subject, why string) {
	subj = policy.Subject{Type: policy.Bundle, Path: mv.bundle}
	if mv.facts == "" {
		return subj, "nothing was inside yet: decided by its path"
	}
	got, err := e.bundles.facts(mv.facts)
	if err != nil {
		return subj, fmt.Sprintf("its facts could not be read (%v): decided by its path", err)
	}
	got.Path, got.Type = mv.bundle, policy.Bundle
	return got, ""
}

// onProtectedFile says whether f changes one of the daemon's own files
// (Config.ProtectFiles), and how, for the record.
func (e *Engine) onProtectedFile(f FileOpFacts) (string, bool) {
	for _, p := range []string{f.From, f.To} {
		if p == "" {
			continue
		}
		for _, root := range e.cfg.ProtectFiles {
			if p == root || strings.HasPrefix(p, strings.TrimSuffix(root, "/")+"/") {
				return fmt.Sprintf("%s %s", f.Kind, describeOp(f)), true
			}
		}
	}
	return "", false
}

// tamperFile answers a change to the daemon's own files: refused unless
// the daemon's updater makes it, and recorded either way. An administrator
// uninstalls by stopping the daemon first (docs/macos.md), which launchd
// may always do.
func (e *Engine) tamperFile(v *verdictOnce, f FileOpFacts, what string) {
	updater := e.cfg.UpdaterTeamID != "" && f.TeamID == e.cfg.UpdaterTeamID && f.SigningID == e.cfg.UpdaterSigningID
	v.respond(updater, false)
	if updater {
		what += " (the updater)"
	}
	e.tamper(TamperAttempt{PID: v.ex.PID(), UID: f.Task.UID, Program: f.Program, What: what, Refused: !updater})
}

// bundleFacts caches the facts of bundles being moved: rm -r of a bundle
// asks once per file inside it, and a bundle's facts hash its main
// executable. An entry is keyed by the bundle folder and lives while its
// identity and change time (which changes when Contents is removed or
// replaced) stay the same, and at most a minute.
type bundleFacts struct {
	mu sync.Mutex
	m  map[string]bundleEntry
}

type bundleEntry struct {
	id   fileStat
	at   time.Time
	subj policy.Subject
}

const (
	bundleFactsTTL = time.Minute
	bundleFactsMax = 256
)

func (c *bundleFacts) facts(path string) (policy.Subject, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return policy.Subject{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return policy.Subject{}, errors.New("no file identity")
	}
	id := statOf(st)
	now := time.Now()
	c.mu.Lock()
	en, hit := c.m[path]
	c.mu.Unlock()
	if hit && en.id.key == id.key && en.id.stamp.ctimeNs == id.stamp.ctimeNs && now.Sub(en.at) < bundleFactsTTL {
		return en.subj, nil
	}
	subj, err := facts.Program(path)
	if err != nil {
		return policy.Subject{}, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= bundleFactsMax {
		c.m = map[string]bundleEntry{}
	}
	c.m[path] = bundleEntry{id: id, at: now, subj: subj}
	c.mu.Unlock()
	return subj, nil
}
