package enforcer

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/console/signed"
	"github.com/gatehouse/gatehouse/enforcer/store"
)

// ConsoleIdentity is what enrolling this machine with a console leaves for
// the daemon (`gatehouse enroll`, as root; Config.Console): the console,
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

// ConsoleDecide applies a decision of the console: only if its signature
// verifies with the keys pinned at enrollment, for this machine, for the
// policy revision the request was made under — the sync service that
// carries it is not trusted with decisions. A decision applies once (the
// request must still be submitted).
func (e *Engine) ConsoleDecide(ctx context.Context, a Actor, d ConsoleDecision) (AnswerResult, error) {
	if err := authorize(a, OpConsoleDecide, 0); err != nil {
		return AnswerResult{}, err
	}
	path := e.cfg.consolePath()
	id, err := ReadConsoleIdentity(path)
	if err != nil {
		return AnswerResult{}, invalid("this machine is not enrolled with a console (%v): gatehouse enroll URL TOKEN, as root", err)
	}
	keys := make([]ed25519.PublicKey, 0, len(id.SigningKeys))
	for _, k := range id.SigningKeys {
		keys = append(keys, k)
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
