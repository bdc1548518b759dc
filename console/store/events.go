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
	// Facts is a "program" event's facts (JSON of a policy.SubjectRecord,
	// checked by the caller): PutEvents keeps them as the machine's record
	// of the program (Programs). "" for other events.
	Facts string
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
	for _, e := range evs {
		if e.Kind != "program" || e.Facts == "" || e.SHA256 == "" {
			continue
		}
		// The newest record of a program is kept (a machine that lost its
		// own sends it again), seen first at the earliest.
		if _, err := q.exec(ctx, `INSERT INTO programs (machine_id, sha256, path, first_seen, event_id, facts)
			VALUES (?, ?, ?, ?, (SELECT id FROM events WHERE machine_id = ? AND endpoint_id = ?), ?)
			ON CONFLICT (machine_id, sha256) DO UPDATE SET path = excluded.path, facts = excluded.facts, event_id = excluded.event_id,
				first_seen = CASE WHEN programs.first_seen < excluded.first_seen THEN programs.first_seen ELSE excluded.first_seen END`,
			e.MachineID, e.SHA256, e.Path, nanos(e.Time), e.MachineID, e.EndpointID, e.Facts); err != nil {
			return 0, fmt.Errorf("store program: %w", err)
		}
	}
	return n, tx.Commit()
}

// EventFilter selects events: each field set narrows the selection (a
// machine, a user, a path containing a string, a hash, an action, a kind,
// a rule, a time range), after an id, at most Limit (default 1000, at
// most 10,000).
type EventFilter struct {
	MachineID    string
	User         string
	PathContains string
	SHA256       string
	Action       string
	Kind         string
	Rule         *int
	Since, Until time.Time
	AfterID      int64
	Limit        int
	// Newest lists the newest first (the Limit newest that match).
	Newest bool
}

// Events lists uploaded events, oldest first (Newest: newest first).
func (s *Store) Events(ctx context.Context, f EventFilter) ([]Event, error) {
	if f.Limit <= 0 || f.Limit > 10000 {
		f.Limit = 1000
	}
	q := `SELECT id, machine_id, endpoint_id, time, kind, action, allowed, rule, policy_revision, uid, user_name, path, sha256, detail FROM events WHERE id > ?`
	args := []any{f.AfterID}
	add := func(cond string, v any) {
		q += ` AND ` + cond
		args = append(args, v)
	}
	if f.MachineID != "" {
		add(`machine_id = ?`, f.MachineID)
	}
	if f.User != "" {
		add(`user_name = ?`, f.User)
	}
	if f.PathContains != "" {
		// instr/strpos, not LIKE: a % or _ typed is a character, not a
		// pattern.
		if s.pg {
			add(`strpos(path, ?) > 0`, f.PathContains)
		} else {
			add(`instr(path, ?) > 0`, f.PathContains)
		}
	}
	if f.SHA256 != "" {
		add(`sha256 = ?`, strings.ToLower(f.SHA256))
	}
	if f.Action != "" {
		add(`action = ?`, f.Action)
	}
	if f.Kind != "" {
		add(`kind = ?`, f.Kind)
	}
	if f.Rule != nil {
		add(`rule = ?`, *f.Rule)
	}
	if !f.Since.IsZero() {
		add(`time >= ?`, nanos(f.Since))
	}
	if !f.Until.IsZero() {
		add(`time < ?`, nanos(f.Until))
	}
	order := ` ORDER BY id`
	if f.Newest {
		order += ` DESC`
	}
	rows, err := s.r.query(ctx, q+order+` LIMIT ?`, append(args, f.Limit)...)
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
