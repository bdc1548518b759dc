package enforcer

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"runtime/debug"
	"time"

	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/examples"
	"github.com/gatehouse/gatehouse/policy"
	"github.com/gatehouse/gatehouse/policy/policyfile"
)

// BuiltinExample names the policy bundled into the binary.
const BuiltinExample = "builtin:example"

// loadedPolicy is one compiled policy and where it came from. The hot path
// reads it through an atomic pointer; a reload swaps the pointer.
type loadedPolicy struct {
	eng    *policy.Engine
	path   string
	loaded time.Time
	sum    [32]byte // of the file's bytes, to notice changes
	mtime  time.Time
}

func (e *Engine) policyPath() string {
	if e.cfg.Policy == "" {
		return BuiltinExample
	}
	return e.cfg.Policy
}

// readPolicy reads and compiles the configured policy. running says
// whether a policy is in force already (a reload), for the error's advice.
func (e *Engine) readPolicy(running bool) (*loadedPolicy, error) {
	path := e.policyPath()
	var (
		data  []byte
		mtime time.Time
		name  = path
	)
	if path == BuiltinExample {
		data, name = examples.Policy, examples.PolicyName
	} else {
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("policy file %s: %w", path, err)
		}
		mtime = fi.ModTime()
		// Within the limits lint has (policyfile.Limits): a file too
		// large is refused before it is read.
		if data, err = (policyfile.Limits{}).ReadFile(path); err != nil {
			if running {
				return nil, fmt.Errorf("%w; the previous policy stays in force", err)
			}
			return nil, err
		}
	}
	eng, _, diags := policyfile.Compile(name, data)
	if diags.HasErrors() {
		if running {
			return nil, fmt.Errorf("policy %s has errors; the previous policy stays in force:\n%v", name, diags.Err())
		}
		return nil, fmt.Errorf("policy %s has errors; fix them (gatehouse policy lint %s shows them all) and start gatehoused again:\n%v", name, name, diags.Err())
	}
	for _, d := range diags {
		e.log.Warn("policy warning", "diagnostic", d.String())
	}
	return &loadedPolicy{eng: eng, path: path, loaded: e.now(), sum: sha256.Sum256(data), mtime: mtime}, nil
}

// loadPolicy (re)loads the policy. On success it swaps it in atomically; on
// failure the running policy stays and the error is kept for status.
func (e *Engine) loadPolicy() error {
	e.reload.Lock()
	defer e.reload.Unlock()
	old := e.pol.Load()
	lp, err := e.readPolicy(old != nil)
	if err != nil {
		msg := err.Error()
		e.polErr.Store(&msg)
		if old != nil {
			e.counters.policyReloadFailures.Add(1)
			e.log.Error("policy reload failed", "err", err)
			e.record(store.Event{Kind: "policy", PolicyID: old.eng.ID(), PolicyRevision: old.eng.Revision(), Detail: "reload failed; previous policy kept: " + msg})
		}
		return err
	}
	e.polErr.Store(nil)
	if old != nil && old.sum == lp.sum {
		return nil
	}
	// The kernel forgets cached allows before the new policy becomes
	// visible (status, API), and once more after the swap for any file
	// the old policy allowed in between.
	kernelFlush := func() error { return nil }
	if old != nil {
		kernelFlush = e.flushKernel
	}
	ferr := kernelFlush()
	e.pol.Store(lp)
	if err := kernelFlush(); ferr == nil {
		ferr = err
	}
	// Parsing and compiling a large policy allocates several times its
	// compiled size (162 MB for 10,000 rules); give that back to the
	// system now rather than whenever the scavenger gets to it.
	debug.FreeOSMemory()
	st := lp.eng.Stats()
	if old == nil {
		e.log.Info("policy loaded", "path", lp.path, "id", lp.eng.ID(), "revision", lp.eng.Revision(), "rules", st.Rules, "definitions", st.Entries)
		return nil
	}
	e.counters.policyReloads.Add(1)
	// Cached facts do not depend on the policy, but a new policy is the
	// moment an administrator expects everything to be looked at afresh.
	n := e.cache.flush("policy reload")
	if ferr != nil {
		e.log.Error("kernel cache of allowed files not flushed; restart gatehoused", "err", ferr)
	} else {
		e.log.Info("kernel cache of allowed files flushed", "reason", "policy reload")
	}
	e.log.Info("policy reloaded", "path", lp.path, "id", lp.eng.ID(), "revision", lp.eng.Revision(),
		"previous_revision", old.eng.Revision(), "rules", st.Rules, "definitions", st.Entries)
	e.log.Info("fact cache flushed", "reason", "policy reload", "entries", n)
	e.record(store.Event{Kind: "policy", PolicyID: lp.eng.ID(), PolicyRevision: lp.eng.Revision(),
		Detail: fmt.Sprintf("policy loaded from %s (was revision %d)", lp.path, old.eng.Revision())})
	return nil
}

// flushKernel makes the kernel forget the allows it cached (nothing
// before the source runs, or for a source that caches none).
func (e *Engine) flushKernel() error {
	if b := e.source.Load(); b != nil {
		if f, ok := b.Source.(CacheFlusher); ok {
			return f.FlushCache()
		}
	}
	return nil
}

// Reload loads the policy file again now (SIGHUP, the API).
func (e *Engine) Reload() error { return e.loadPolicy() }

// watchPolicy reloads the policy file when it changes. Polling stat every
// ReloadInterval is cheap, works across editors that replace the file and
// across bind mounts, and needs no extra descriptors.
func (e *Engine) watchPolicy(ctx context.Context) {
	if e.policyPath() == BuiltinExample || e.cfg.ReloadInterval <= 0 {
		return
	}
	t := time.NewTicker(e.cfg.ReloadInterval.D())
	defer t.Stop()
	var lastErrMtime time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fi, err := os.Stat(e.policyPath())
		if err != nil {
			continue // a missing file keeps the running policy; status shows nothing new
		}
		cur := e.pol.Load()
		if fi.ModTime().Equal(cur.mtime) || fi.ModTime().Equal(lastErrMtime) {
			continue
		}
		if err := e.loadPolicy(); err != nil {
			lastErrMtime = fi.ModTime() // report a broken file once, not every tick
			continue
		}
		lastErrMtime = time.Time{}
		// An unchanged file with a new mtime: remember the mtime.
		if lp := e.pol.Load(); lp == cur {
			cp := *cur
			cp.mtime = fi.ModTime()
			e.pol.CompareAndSwap(cur, &cp)
		}
	}
}

// PolicyError is the error of the last failed load, "" when it loaded.
func (e *Engine) PolicyError() string {
	if p := e.polErr.Load(); p != nil {
		return *p
	}
	return ""
}
