package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Request is an approval request an endpoint uploaded.
type Request struct {
	ID                     int64
	MachineID              string
	EndpointID             int64 // the request's id on its machine
	Created                time.Time
	UID                    uint32
	User                   string
	Kind                   string
	Path, SHA256           string
	Facts                  string // JSON, as the endpoint sent it
	Reason                 string
	WindowStart, WindowEnd time.Time
	Rule                   int
	PolicyRevision         int64
	ApprovalsNeeded        int
	State                  string // pending, approved, denied
	Decided                time.Time
}

// Request states.
const (
	Pending  = "pending"
	Approved = "approved"
	Denied   = "denied"
)

const requestCols = `id, machine_id, endpoint_id, created, uid, user_name, kind, path, sha256, facts, reason,
	window_start, window_end, rule, policy_revision, approvals_needed, state, decided`

func scanRequest(sc interface{ Scan(...any) error }) (Request, error) {
	var r Request
	var created, ws, we, decided int64
	err := sc.Scan(&r.ID, &r.MachineID, &r.EndpointID, &created, &r.UID, &r.User, &r.Kind, &r.Path, &r.SHA256, &r.Facts, &r.Reason,
		&ws, &we, &r.Rule, &r.PolicyRevision, &r.ApprovalsNeeded, &r.State, &decided)
	r.Created, r.WindowStart, r.WindowEnd, r.Decided = fromNanos(created), fromNanos(ws), fromNanos(we), fromNanos(decided)
	return r, err
}

// PutRequest stores r (an upload) and returns its id. The same request
// uploaded again (same machine and endpoint id) is the stored one: its id
// is returned and nothing changes (created false).
func (s *Store) PutRequest(ctx context.Context, r Request) (id int64, created bool, err error) {
	if r.ApprovalsNeeded < 1 {
		r.ApprovalsNeeded = 1
	}
	q, tx, err := s.begin(ctx)
	if err != nil {
		return 0, false, err
	}
	defer tx.Rollback()
	err = q.row(ctx, `INSERT INTO requests (machine_id, endpoint_id, created, uid, user_name, kind, path, sha256, facts, reason,
		window_start, window_end, rule, policy_revision, approvals_needed, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (machine_id, endpoint_id) DO NOTHING RETURNING id`,
		r.MachineID, r.EndpointID, nanos(r.Created), r.UID, r.User, r.Kind, r.Path, r.SHA256, r.Facts, r.Reason,
		nanos(r.WindowStart), nanos(r.WindowEnd), r.Rule, r.PolicyRevision, r.ApprovalsNeeded, Pending).Scan(&id)
	if err == nil {
		// Approvers hear of it (the outbox), and the pages' queue moves.
		if err := queueNotifications(ctx, q, id); err != nil {
			return 0, false, fmt.Errorf("store request: %w", err)
		}
		if err := s.commitChange(ctx, q, tx, RequestsChanged); err != nil {
			return 0, false, fmt.Errorf("store request: %w", err)
		}
		return id, true, nil
	}
	if !errors.Is(err, sql.ErrNoRows) { // no row: stored already
		return 0, false, fmt.Errorf("store request: %w", err)
	}
	tx.Rollback()
	err = s.w.row(ctx, `SELECT id FROM requests WHERE machine_id = ? AND endpoint_id = ?`, r.MachineID, r.EndpointID).Scan(&id)
	return id, false, err
}

// GetRequest returns request id.
func (s *Store) GetRequest(ctx context.Context, id int64) (Request, error) {
	r, err := scanRequest(s.r.row(ctx, `SELECT `+requestCols+` FROM requests WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Request{}, fmt.Errorf("request %d: %w", id, ErrNotFound)
	}
	return r, err
}

// Requests lists the requests in state ("" for all), newest first.
func (s *Store) Requests(ctx context.Context, state string) ([]Request, error) {
	q := `SELECT ` + requestCols + ` FROM requests`
	var args []any
	if state != "" {
		q += ` WHERE state = ?`
		args = append(args, state)
	}
	rows, err := s.r.query(ctx, q+` ORDER BY id DESC LIMIT 1000`, args...)
	if err != nil {
		return nil, fmt.Errorf("list requests: %w", err)
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("list requests: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Vote is one approver's say on a request.
type Vote struct {
	Voter   string
	Approve bool
	Note    string
	At      time.Time // when it was cast (stored votes)
	// WindowStart and WindowEnd narrow the request's window (an approval
	// only); zero keeps it.
	WindowStart, WindowEnd time.Time
}

// Decision is what a machine receives about one of its requests, in the
// order of Seq, with the console's signature over it.
type Decision struct {
	Seq                    int64
	MachineID              string
	RequestID, EndpointID  int64
	Approve                bool
	WindowStart, WindowEnd time.Time
	PolicyRevision         int64
	DecidedBy, Note        string
	At                     time.Time
	Signature              []byte
}

// CastVote records v on request id in one transaction: one deny denies; N
// approvals (the request's ApprovalsNeeded, the same person counting once)
// approve; then the decision is stored for the machine, signed by sign
// (which sees every field but Seq and Signature). It returns the request
// as it now is and the decision, if this vote made one.
func (s *Store) CastVote(ctx context.Context, id int64, v Vote, now time.Time, sign func(*Decision) []byte) (Request, *Decision, error) {
	q, tx, err := s.begin(ctx)
	if err != nil {
		return Request{}, nil, err
	}
	defer tx.Rollback()
	// Locked (PostgreSQL): two approvers voting at once on two nodes are
	// counted one after the other, so the second sees the first's vote.
	r, err := scanRequest(q.row(ctx, `SELECT `+requestCols+` FROM requests WHERE id = ?`+q.forUpdate(), id))
	if errors.Is(err, sql.ErrNoRows) {
		return Request{}, nil, fmt.Errorf("request %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Request{}, nil, err
	}
	if r.State != Pending {
		return r, nil, fmt.Errorf("request %d is %s: %w", id, r.State, ErrDecided)
	}
	var n int
	if err := q.row(ctx, `SELECT count(*) FROM votes WHERE request_id = ? AND voter = ?`, id, v.Voter).Scan(&n); err != nil {
		return r, nil, err
	}
	if n > 0 {
		return r, nil, fmt.Errorf("request %d: %w", id, ErrVoted)
	}
	if _, err := q.exec(ctx, `INSERT INTO votes (request_id, voter, approve, note, at) VALUES (?, ?, ?, ?, ?)`, id, v.Voter, v.Approve, v.Note, nanos(now)); err != nil {
		return r, nil, fmt.Errorf("vote: %w", err)
	}
	word := "deny"
	if v.Approve {
		word = "approve"
	}
	if err := audit(ctx, q, now, v.Voter, "vote", fmt.Sprintf("%s request %d (machine %s, %s): %s", word, id, r.MachineID, r.Path, v.Note)); err != nil {
		return r, nil, err
	}
	var approvals int
	if err := q.row(ctx, `SELECT count(*) FROM votes WHERE request_id = ? AND approve = TRUE`, id).Scan(&approvals); err != nil {
		return r, nil, err
	}
	var d *Decision
	switch {
	case !v.Approve:
		r.State = Denied
	case approvals >= r.ApprovalsNeeded:
		r.State = Approved
	}
	if r.State != Pending {
		r.Decided = now
		d = &Decision{MachineID: r.MachineID, RequestID: r.ID, EndpointID: r.EndpointID, Approve: r.State == Approved,
			WindowStart: r.WindowStart, WindowEnd: r.WindowEnd, PolicyRevision: r.PolicyRevision, DecidedBy: v.Voter, Note: v.Note, At: now}
		if d.Approve && !v.WindowStart.IsZero() {
			d.WindowStart = v.WindowStart
		}
		if d.Approve && !v.WindowEnd.IsZero() {
			d.WindowEnd = v.WindowEnd
		}
		d.Signature = sign(d)
		if _, err := q.exec(ctx, `UPDATE requests SET state = ?, decided = ? WHERE id = ?`, r.State, nanos(now), id); err != nil {
			return r, nil, err
		}
		// A machine reads its decisions in seq order from where it got to,
		// so they must commit in that order: on PostgreSQL the machine's
		// row is locked until this one commits, or a decision given a
		// lower seq on another node could commit after a higher one was
		// read, and never be seen.
		if _, err := q.exec(ctx, `SELECT id FROM machines WHERE id = ?`+q.forUpdate(), d.MachineID); err != nil {
			return r, nil, err
		}
		err := q.row(ctx, `INSERT INTO decisions (machine_id, request_id, endpoint_id, approve, window_start, window_end, decided_by, note, at, signature)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`, d.MachineID, d.RequestID, d.EndpointID, d.Approve, nanos(d.WindowStart), nanos(d.WindowEnd), d.DecidedBy, d.Note, nanos(now), d.Signature).Scan(&d.Seq)
		if err != nil {
			return r, nil, fmt.Errorf("store decision: %w", err)
		}
		if err := announce(ctx, q, d.MachineID); err != nil {
			return r, nil, err
		}
	}
	if err := announce(ctx, q, RequestsChanged); err != nil {
		return r, nil, err
	}
	if err := tx.Commit(); err != nil {
		return r, nil, err
	}
	if d != nil {
		s.changed(d.MachineID)
	}
	s.changed(RequestsChanged)
	return r, d, nil
}

// Votes lists the votes on request id, in order.
func (s *Store) Votes(ctx context.Context, id int64) ([]Vote, error) {
	vs, err := s.VotesOn(ctx, []int64{id})
	return vs[id], err
}

// VotesOn lists the votes on each of requests ids, in order.
func (s *Store) VotesOn(ctx context.Context, ids []int64) (map[int64][]Vote, error) {
	out := map[int64][]Vote{}
	for chunk := range slices.Chunk(ids, 500) {
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		rows, err := s.r.query(ctx, `SELECT request_id, voter, approve, note, at FROM votes WHERE request_id IN (`+strings.Repeat(", ?", len(chunk))[2:]+`) ORDER BY at, voter`, args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var v Vote
			var id, at int64
			if err := rows.Scan(&id, &v.Voter, &v.Approve, &v.Note, &at); err != nil {
				rows.Close()
				return nil, err
			}
			v.At = fromNanos(at)
			out[id] = append(out[id], v)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Decisions returns machine's decisions after seq, oldest first, at most
// limit.
func (s *Store) Decisions(ctx context.Context, machine string, after int64, limit int) ([]Decision, error) {
	rows, err := s.r.query(ctx, `SELECT d.seq, d.machine_id, d.request_id, d.endpoint_id, d.approve, d.window_start, d.window_end,
		r.policy_revision, d.decided_by, d.note, d.at, d.signature
		FROM decisions d JOIN requests r ON r.id = d.request_id WHERE d.machine_id = ? AND d.seq > ? ORDER BY d.seq LIMIT ?`, machine, after, limit)
	if err != nil {
		return nil, fmt.Errorf("list decisions: %w", err)
	}
	defer rows.Close()
	var out []Decision
	for rows.Next() {
		var d Decision
		var ws, we, at int64
		if err := rows.Scan(&d.Seq, &d.MachineID, &d.RequestID, &d.EndpointID, &d.Approve, &ws, &we, &d.PolicyRevision, &d.DecidedBy, &d.Note, &at, &d.Signature); err != nil {
			return nil, err
		}
		d.WindowStart, d.WindowEnd, d.At = fromNanos(ws), fromNanos(we), fromNanos(at)
		out = append(out, d)
	}
	return out, rows.Err()
}
