package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Event is an audit event a machine uploaded.
type Event struct {
	ID             int64
	MachineID      string
	EndpointID     int64 // the event's id on its machine
	Time           time.Time
	Kind, Action   string
	Allowed        bool
	Rule           int
	PolicyRevision int64
	UID            uint32
	User           string
	Path, SHA256   string
	Detail         string // JSON
}

// eventsPerInsert bounds the rows of one INSERT: 13 parameters each stay
// far below SQLite's 32,766 and PostgreSQL's 65,535.
const eventsPerInsert = 250

// PutEvents stores evs (one machine's) in one transaction; events already
// stored (same machine and endpoint id) are skipped. It returns how many
// were new.
func (s *Store) PutEvents(ctx context.Context, evs []Event) (int, error) {
	q, tx, err := s.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	if s.pg {
		// Readers page through events by id; uploads from several nodes
		// committing out of id order could hide one from a reader who
		// has moved past its id. One upload at a time, as on SQLite.
		if _, err := q.exec(ctx, `SELECT pg_advisory_xact_lock(?)`, eventsLock); err != nil {
			return 0, fmt.Errorf("store events: %w", err)
		}
	}
	// Many rows to a statement: one round trip per chunk, not per event
	// (on PostgreSQL that is most of an upload's time).
	n := 0
	for chunk := range slices.Chunk(evs, eventsPerInsert) {
		args := make([]any, 0, len(chunk)*13)
		for _, e := range chunk {
			args = append(args, e.MachineID, e.EndpointID, nanos(e.Time), e.Kind, e.Action, e.Allowed, e.Rule, e.PolicyRevision, e.UID, e.User, e.Path, e.SHA256, e.Detail)
		}
		rows := strings.Repeat(", (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", len(chunk))[2:]
		res, err := q.exec(ctx, `INSERT INTO events (machine_id, endpoint_id, time, kind, action, allowed, rule, policy_revision, uid, user_name, path, sha256, detail)
			VALUES `+rows+` ON CONFLICT (machine_id, endpoint_id) DO NOTHING`, args...)
		if err != nil {
			return 0, fmt.Errorf("store events: %w", err)
		}
		k, err := res.RowsAffected()
		if err != nil {
			return 0, fmt.Errorf("store events: %w", err)
		}
		n += int(k)
	}
	return n, tx.Commit()
}

// EventFilter selects events: a machine ("" any), after an id, at most
// Limit (default 1000).
type EventFilter struct {
	MachineID string
	AfterID   int64
	Limit     int
}

// Events lists uploaded events, oldest first.
func (s *Store) Events(ctx context.Context, f EventFilter) ([]Event, error) {
	if f.Limit <= 0 || f.Limit > 10000 {
		f.Limit = 1000
	}
	q := `SELECT id, machine_id, endpoint_id, time, kind, action, allowed, rule, policy_revision, uid, user_name, path, sha256, detail FROM events WHERE id > ?`
	args := []any{f.AfterID}
	if f.MachineID != "" {
		q += ` AND machine_id = ?`
		args = append(args, f.MachineID)
	}
	rows, err := s.r.query(ctx, q+` ORDER BY id LIMIT ?`, append(args, f.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var t int64
		if err := rows.Scan(&e.ID, &e.MachineID, &e.EndpointID, &t, &e.Kind, &e.Action, &e.Allowed, &e.Rule, &e.PolicyRevision, &e.UID, &e.User, &e.Path, &e.SHA256, &e.Detail); err != nil {
			return nil, err
		}
		e.Time = fromNanos(t)
		out = append(out, e)
	}
	return out, rows.Err()
}
