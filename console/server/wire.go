package server

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gatehouse/gatehouse/console/store"
)

// The admin API's answers: the store's records as the pages and tools
// read them, each mapped here once.

// RequestWire is an approval request as approvers see it.
type RequestWire struct {
	ID              int64           `json:"id"`
	MachineID       string          `json:"machine_id"`
	Hostname        string          `json:"hostname"`
	EndpointID      int64           `json:"endpoint_id"`
	Created         time.Time       `json:"created"`
	UID             uint32          `json:"uid"`
	User            string          `json:"user"`
	Kind            string          `json:"kind"`
	Path            string          `json:"path"`
	SHA256          string          `json:"sha256,omitempty"`
	Facts           json.RawMessage `json:"facts,omitempty"`
	Reason          string          `json:"reason,omitempty"`
	WindowStart     time.Time       `json:"window_start,omitzero"`
	WindowEnd       time.Time       `json:"window_end,omitzero"`
	Rule            int             `json:"rule"`
	PolicyRevision  int64           `json:"policy_revision"`
	ApprovalsNeeded int             `json:"approvals_needed"`
	State           string          `json:"state"`
	Decided         time.Time       `json:"decided,omitzero"`
	Votes           []VoteWire      `json:"votes"`
}

// VoteWire is one approver's vote.
type VoteWire struct {
	Voter   string    `json:"voter"`
	Approve bool      `json:"approve"`
	Note    string    `json:"note,omitempty"`
	At      time.Time `json:"at"`
}

// MachineWire is an enrolled machine (never its escrowed secret).
type MachineWire struct {
	ID             string    `json:"id"`
	Hostname       string    `json:"hostname"`
	OfflineName    string    `json:"offline_name,omitempty"`
	Tags           []string  `json:"tags"`
	Enrolled       time.Time `json:"enrolled"`
	LastSeen       time.Time `json:"last_seen,omitzero"`
	PolicyRevision int64     `json:"policy_revision"`
	Revoked        bool      `json:"revoked"`
	Pending        int       `json:"pending"` // its requests waiting for a decision
	// What it runs, as its sync last reported ("" and none before).
	DaemonVersion string               `json:"daemon_version"`
	SyncVersion   string               `json:"sync_version"`
	Agents        []store.AgentVersion `json:"agents"`
}

// VersionsReport is POST /v1/endpoint/versions: what the machine runs —
// gatehoused's build, the sync's, and each user's agent that called
// gatehoused since it started.
type VersionsReport struct {
	Daemon string               `json:"daemon"`
	Sync   string               `json:"sync"`
	Agents []store.AgentVersion `json:"agents"`
}

// EventOut is an uploaded audit event as the admin API lists it.
type EventOut struct {
	ID             int64           `json:"id"`
	MachineID      string          `json:"machine_id"`
	EndpointID     int64           `json:"endpoint_id"`
	Time           time.Time       `json:"time"`
	Kind           string          `json:"kind"`
	Action         string          `json:"action,omitempty"`
	Allowed        bool            `json:"allowed"`
	Rule           int             `json:"rule,omitempty"`
	PolicyRevision int64           `json:"policy_revision,omitempty"`
	UID            uint32          `json:"uid"`
	User           string          `json:"user,omitempty"`
	Path           string          `json:"path,omitempty"`
	SHA256         string          `json:"sha256,omitempty"`
	Detail         json.RawMessage `json:"detail,omitempty"`
}

func rawJSON(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return nil
	}
	return json.RawMessage(s)
}

// requestsToWire maps rs with their votes and machines' hostnames.
func (s *Server) requestsToWire(ctx context.Context, rs []store.Request) ([]RequestWire, error) {
	ids := make([]int64, len(rs))
	for i, r := range rs {
		ids[i] = r.ID
	}
	votes, err := s.st.VotesOn(ctx, ids)
	if err != nil {
		return nil, err
	}
	ms, err := s.st.Machines(ctx)
	if err != nil {
		return nil, err
	}
	host := make(map[string]string, len(ms))
	for _, m := range ms {
		host[m.ID] = m.Hostname
	}
	out := make([]RequestWire, 0, len(rs))
	for _, r := range rs {
		w := RequestWire{ID: r.ID, MachineID: r.MachineID, Hostname: host[r.MachineID], EndpointID: r.EndpointID, Created: r.Created,
			UID: r.UID, User: r.User, Kind: r.Kind, Path: r.Path, SHA256: r.SHA256, Facts: rawJSON(r.Facts), Reason: r.Reason,
			WindowStart: r.WindowStart, WindowEnd: r.WindowEnd, Rule: r.Rule, PolicyRevision: r.PolicyRevision,
			ApprovalsNeeded: r.ApprovalsNeeded, State: r.State, Decided: r.Decided, Votes: []VoteWire{}}
		for _, v := range votes[r.ID] {
			w.Votes = append(w.Votes, VoteWire{Voter: v.Voter, Approve: v.Approve, Note: v.Note, At: v.At})
		}
		out = append(out, w)
	}
	return out, nil
}

func eventsToWire(evs []store.Event) []EventOut {
	out := make([]EventOut, 0, len(evs))
	for _, e := range evs {
		out = append(out, EventOut{ID: e.ID, MachineID: e.MachineID, EndpointID: e.EndpointID, Time: e.Time, Kind: e.Kind, Action: e.Action,
			Allowed: e.Allowed, Rule: e.Rule, PolicyRevision: e.PolicyRevision, UID: e.UID, User: e.User, Path: e.Path, SHA256: e.SHA256,
			Detail: rawJSON(e.Detail)})
	}
	return out
}
