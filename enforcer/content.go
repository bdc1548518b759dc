package enforcer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/facts"
	"github.com/gatehouse/gatehouse/policy"
)

// contentGuard keeps the contents of a file that decide an exec (a hash
// rule, a grant, which is bound to a hash) unchanged until the exec has
// them: on Linux with read leases (content_linux.go). nil where the
// platform has none.
type contentGuard interface {
	// mustHold reports whether an allow on f's contents needs them held:
	// someone but root may write f, or its filesystem cannot be trusted
	// to say so.
	mustHold(f *os.File, st fileStat) bool
	// hold holds f and returns its facts as hash gathers them under the
	// hold. An *unheldError says why it cannot be held.
	hold(f *os.File, st fileStat, path string, want facts.Want, hash func(*os.File) (policy.Subject, error)) (contentHold, policy.Subject, error)
	// run settles the holds a writer breaks until ctx is done; killed is
	// told of each exec killed because it did not settle.
	run(ctx context.Context, killed func(path string, subj policy.Subject, tid int32))
	// held is how many files are held now.
	held() int
}

// contentHold is one file held.
type contentHold interface {
	// admit records that tid's exec is to run the held bytes, before it
	// is allowed. An error means they may have changed: deny.
	admit(tid int32) error
}

// unheldError says why a file's contents cannot be held; fs: because of
// its filesystem (unholdable_files decides), not a writer.
type unheldError struct {
	why string
	fs  bool
}

func (e *unheldError) Error() string { return "its contents cannot be held unchanged: " + e.why }

// asRead is the hold of a file decided on the bytes read, as
// unholdable_files: decide says.
type asRead struct{}

func (asRead) admit(int32) error { return nil }

// heldBytes reports whether h holds the bytes (not a decision as read).
func heldBytes(h contentHold) bool {
	_, as := h.(asRead)
	return h != nil && !as
}

// needsHold reports whether this exec must be decided on contents held
// unchanged: the policy looks at contents, or a grant names the file for
// the user (granted), and anyone but root could change it before the exec
// has the bytes.
func (e *Engine) needsHold(lp *loadedPolicy, xf *ExecFacts, st fileStat, granted bool) bool {
	if e.content == nil || xf.File == nil || !lp.eng.Needs().Content && !granted {
		return false
	}
	return e.content.mustHold(xf.File, st)
}

// decideHeld holds the file, then decides on the bytes held.
func (e *Engine) decideHeld(v *verdictOnce, lp *loadedPolicy, xf *ExecFacts, path string, st fileStat, start time.Time) bool {
	want := wantOf(lp.eng.Needs(), xf)
	hash := func(f *os.File) (policy.Subject, error) {
		e.hashes <- struct{}{}
		defer func() { <-e.hashes }()
		return e.fileFacts(f, path, want)
	}
	h, subj, err := e.content.hold(xf.File, st, path, want, hash)
	var ue *unheldError
	switch {
	case err == nil:
		return e.decide(v, lp, xf, path, st, subj, start, false, h)
	case !errors.As(err, &ue):
		e.internalError(v, "hold the contents of "+path, err)
		return true
	case ue.fs && e.cfg.UnholdableFiles == "decide":
		e.counters.contentAsRead.Add(1)
		if subj, err = hash(xf.File); err != nil {
			e.internalError(v, "gather facts of "+path, err)
			return true
		}
		return e.decide(v, lp, xf, path, st, subj, start, false, asRead{})
	}
	e.denyUnheld(v, lp, xf, path, start, ue)
	return true
}

// denyUnheld denies an exec whose contents could not be held, and
// records why.
func (e *Engine) denyUnheld(v *verdictOnce, lp *loadedPolicy, xf *ExecFacts, path string, start time.Time, ue *unheldError) {
	var task Task // for the record; unknown (0) when the task is gone
	if xf.Task != nil {
		task = *xf.Task
	} else if t, err := e.tasks.Task(v.ex.PID()); err == nil {
		task = t
	}
	if !v.respond(false, false) {
		return
	}
	e.observe(start)
	e.counters.denied.Add(1)
	if ue.fs {
		e.counters.contentUnheld.Add(1)
	} else {
		e.counters.contentBusy.Add(1)
	}
	e.record(store.Event{Kind: "exec", Action: "deny", UID: task.UID, User: e.users.userName(task.UID), PID: v.ex.PID(),
		Path: path, Detail: fmt.Sprintf("denied: an allow here rests on the file's contents, and %s", ue.Error()),
		PolicyID: lp.eng.ID(), PolicyRevision: lp.eng.Revision()})
}

// contentKilled records an exec killed to let a writer at a held file.
func (e *Engine) contentKilled(path string, subj policy.Subject, tid int32) {
	e.counters.contentKilled.Add(1)
	e.log.Warn("killed an exec of a file opened for writing before the exec had its bytes", "path", path, "pid", tid)
	e.record(store.Event{Kind: "exec", Action: "deny", PID: tid, Path: path, SHA256: subj.SHA256, AppType: subj.Type.String(),
		Detail: "killed: the file was opened for writing before the exec had the bytes decided"})
}
