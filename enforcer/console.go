package enforcer

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/console/signed"
	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/policy/policyfile"
)

// ConsoleIdentity is what enrolling this machine with a console leaves for
// the daemon (`gatehoused enroll`, as root; Config.Console): the console,
// the machine's id there, and the console's signing keys, which every
// decision the sync service carries must verify with.
type ConsoleIdentity struct {
	URL         string   `json:"url"`
	MachineID   string   `json:"machine_id"`
	SigningKeys [][]byte `json:"signing_keys"`
}

// ConsoleDecision is a decision the console made and signed, as the sync
// service hands it over.
type ConsoleDecision struct {
	RequestID              int64
	Approve                bool
	WindowStart, WindowEnd time.Time
	// PolicyRevision is the revision the request was made under, as the
	// console signed it.
	PolicyRevision  int64
	DecidedBy, Note string
	Signature       []byte
}

// ConsoleFile is the console enrollment file.
func (c *Config) ConsoleFile() string { return c.consolePath() }

// OfflineSecretFile is the machine's offline secret.
func (c *Config) OfflineSecretFile() string { return c.offlineSecretPath() }

// consolePath is the console enrollment file.
func (c *Config) consolePath() string {
	if c.Console != "" {
		return c.Console
	}
	return filepath.Join(filepath.Dir(c.Database), "console.json")
}

// ReadConsoleIdentity reads an enrollment file.
func ReadConsoleIdentity(path string) (ConsoleIdentity, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return ConsoleIdentity{}, err
	}
	var id ConsoleIdentity
	if err := json.Unmarshal(b, &id); err != nil {
		return ConsoleIdentity{}, fmt.Errorf("%s: %w", path, err)
	}
	if id.MachineID == "" || len(id.SigningKeys) == 0 {
		return ConsoleIdentity{}, fmt.Errorf("%s names no machine id or no signing key: enroll again", path)
	}
	return id, nil
}

// WriteConsoleIdentity writes an enrollment file (0644: it holds no
// secret), replacing the old one whole.
func WriteConsoleIdentity(path string, id ConsoleIdentity) error {
	b, err := json.MarshalIndent(id, "", "  ")
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// ConsoleKeys takes the console's signing keys from now on, announced
// during a rotation: only if a key pinned now signed them (the sync that
// carries them is not trusted); the same keys again are a no-op.
func (e *Engine) ConsoleKeys(ctx context.Context, a Actor, keys [][]byte, sig []byte) error {
	if err := authorize(a, OpConsoleDecide, 0); err != nil {
		return err
	}
	id, pinned, err := e.consoleKeys()
	if err != nil {
		return err
	}
	if len(keys) == 0 || len(keys) > 4 {
		return invalid("the console's signing keys: %d keys, want 1 to 4", len(keys))
	}
	for _, k := range keys {
		if len(k) != ed25519.PublicKeySize {
			return invalid("the console's signing keys: one is not an Ed25519 public key")
		}
	}
	if !signed.Verify(pinned, sig, signed.KindSigningKeys, signed.SigningKeysFields(keys)...) {
		e.record(store.Event{Kind: "tamper", Action: "deny", UID: a.UID, User: a.User, PID: a.Peer.PID,
			Detail: fmt.Sprintf("console signing keys not signed by a key pinned at enrollment, from %s: refused", a)})
		return invalid("the console's new signing keys are not signed by a key pinned at enrollment: refused")
	}
	if slices.EqualFunc(keys, id.SigningKeys, bytes.Equal) {
		return nil
	}
	id.SigningKeys = keys
	if err := WriteConsoleIdentity(e.cfg.consolePath(), id); err != nil {
		return fmt.Errorf("keep the console's new signing keys: %w", err)
	}
	e.record(store.Event{Kind: "daemon", UID: a.UID, User: a.User, PID: a.Peer.PID,
		Detail: fmt.Sprintf("the console rotated its signing key: %d keys pinned now, from %s", len(keys), a)})
	e.log.Info("console signing keys rotated", "keys", len(keys))
	return nil
}

// consoleKeys reads what enrolling pinned: the machine's identity and the
// console's signing keys.
func (e *Engine) consoleKeys() (ConsoleIdentity, []ed25519.PublicKey, error) {
	id, err := ReadConsoleIdentity(e.cfg.consolePath())
	if err != nil {
		return ConsoleIdentity{}, nil, invalid("this machine is not enrolled with a console (%v): sudo gatehoused enroll URL TOKEN", err)
	}
	keys := make([]ed25519.PublicKey, 0, len(id.SigningKeys))
	for _, k := range id.SigningKeys {
		keys = append(keys, k)
	}
	return id, keys, nil
}

// ConsoleDecide applies a decision of the console: only if its signature
// verifies with the keys pinned at enrollment, for this machine, for the
// policy revision the request was made under — the sync service that
// carries it is not trusted with decisions. A decision applies once (the
// request must still be submitted).
func (e *Engine) ConsoleDecide(ctx context.Context, a Actor, d ConsoleDecision) (AnswerResult, error) {
	if err := authorize(a, OpConsoleDecide, 0); err != nil {
		return AnswerResult{}, err
	}
	id, keys, err := e.consoleKeys()
	if err != nil {
		return AnswerResult{}, err
	}
	fields := signed.DecisionFields(id.MachineID, d.RequestID, d.Approve, d.WindowStart, d.WindowEnd, d.PolicyRevision)
	if !signed.Verify(keys, d.Signature, signed.KindDecision, fields...) {
		e.record(store.Event{Kind: "tamper", Action: "deny", UID: a.UID, User: a.User, PID: a.Peer.PID, RequestID: d.RequestID,
			Detail: fmt.Sprintf("a console decision on request %d whose signature does not verify with the keys pinned at enrollment, from %s: refused", d.RequestID, a)})
		return AnswerResult{}, invalid("the decision's signature does not verify with the console's keys pinned at enrollment: refused")
	}
	r, err := e.store.GetRequest(ctx, d.RequestID)
	if err != nil {
		return AnswerResult{}, stateErr(err)
	}
	if r.PolicyRevision != d.PolicyRevision {
		return AnswerResult{}, invalid("the decision was signed for policy revision %d, and request %d was made under revision %d: refused", d.PolicyRevision, r.ID, r.PolicyRevision)
	}
	if len(d.DecidedBy) > maxNote || len(d.Note) > maxNote {
		return AnswerResult{}, invalid("the decision's approver or note is longer than %d bytes", maxNote)
	}
	by := "console: " + strings.TrimSpace(d.DecidedBy)
	if n := strings.TrimSpace(d.Note); n != "" {
		by += ": " + n
	}
	return e.applyDecision(ctx, r.ID, d.Approve, by, d.WindowStart, d.WindowEnd)
}

// ConsolePolicy is a policy the console assigned this machine and signed,
// as the sync service hands it over.
type ConsolePolicy struct {
	Revision  int64
	Body      []byte
	Signature []byte
}

// maxConsolePolicy bounds a policy from the console.
const maxConsolePolicy = 16 << 20

// ApplyConsolePolicy makes p the running policy: only if its signature
// verifies with the keys pinned at enrollment for this machine, it
// compiles, its document carries the signed revision, and that revision is
// newer than the one running (an older policy, validly signed once, is not
// taken again); the same revision is a no-op. It is written to the policy
// file and loaded as any reload; on any failure the running policy stays.
func (e *Engine) ApplyConsolePolicy(ctx context.Context, a Actor, p ConsolePolicy) (Status, error) {
	if err := authorize(a, OpConsoleDecide, 0); err != nil {
		return Status{}, err
	}
	id, keys, err := e.consoleKeys()
	if err != nil {
		return Status{}, err
	}
	if len(p.Body) > maxConsolePolicy {
		return Status{}, invalid("the console's policy is over %d bytes", maxConsolePolicy)
	}
	if !signed.Verify(keys, p.Signature, signed.KindPolicy, signed.PolicyFields(id.MachineID, p.Revision, sha256.Sum256(p.Body))...) {
		e.record(store.Event{Kind: "tamper", Action: "deny", UID: a.UID, User: a.User, PID: a.Peer.PID, PolicyRevision: p.Revision,
			Detail: fmt.Sprintf("a console policy (revision %d) whose signature does not verify with the keys pinned at enrollment, from %s: refused", p.Revision, a)})
		return Status{}, invalid("the policy's signature does not verify with the console's keys pinned at enrollment: refused")
	}
	eng, _, diags := policyfile.Compile("console policy", p.Body)
	if diags.HasErrors() {
		return Status{}, invalid("the console's policy revision %d does not compile here; the running policy stays:\n%v", p.Revision, diags.Err())
	}
	if eng.Revision() != p.Revision {
		return Status{}, invalid("the console signed revision %d, but the policy says revision %d: refused", p.Revision, eng.Revision())
	}
	// One console policy at a time: the revision checked is the one
	// replaced (loadPolicy takes the reload lock itself).
	e.consolePolicy.Lock()
	defer e.consolePolicy.Unlock()
	running := e.pol.Load().eng.Revision()
	switch {
	case p.Revision == running:
		return e.status(a), nil
	case p.Revision < running:
		return Status{}, invalid("the console's policy revision %d is older than the running revision %d: refused (an older policy is never taken again)", p.Revision, running)
	}
	path := e.cfg.Policy
	if path == "" || strings.HasPrefix(path, "builtin:") {
		return Status{}, invalid("gatehoused runs the bundled example policy; set policy: FILE in gatehoused.yaml to receive the console's")
	}
	tmp := path + ".console.tmp"
	if err := os.WriteFile(tmp, p.Body, 0o644); err != nil {
		return Status{}, fmt.Errorf("write the console's policy: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return Status{}, fmt.Errorf("write the console's policy: %w", err)
	}
	if err := e.loadPolicy(); err != nil {
		return Status{}, invalid("%v", err)
	}
	e.log.Info("policy from the console applied", "revision", p.Revision, "previous_revision", running)
	return e.status(a), nil
}
