package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/request"
)

// Request is what a blocked user asks for: to go on past a warning, with a
// justification, or with an administrator's approval. Its State is one of
// the request.State values.
type Request struct {
	ID               int64
	Created, Updated time.Time
	UID              uint32
	User             string
	PID              int32
	Kind             request.Kind
	State            request.State
	Path             string
	SHA256           string
	CDHash           string // the kernel-validated cdhash (macOS, hex); "" when none
	Dev, Ino         uint64
	Args             []string // empty reads back as nil
	Cwd              string
	TTY              string
	Rule             int
	RuleName         string
	Group            string
	PolicyID         string
	PolicyRevision   int64
	Title            string
	Body             string
	URL              string
	MinJustification int
	// Approvers is how many approvals the console needs (0: one).
	Approvers   int
	Reason      string
	WindowStart time.Time
	WindowEnd   time.Time
	DecidedBy   string
	Notified    bool
	// What the agent shows about the program (the Publisher Info panel).
	AppType, Publisher, TeamID, SigningID string
	// The offline approval challenge of an approval_offline request: the
	// machine name and request code the user reads to the help desk, and
	// the wrong response codes typed so far.
	Machine         string
	RequestCode     string
	OfflineAttempts int
}

// StateError is returned by Transition when the request is not in a state
// the change may start from. Its message is meant for the user.
type StateError struct {
	ID    int64
	State request.State // the request's current state
	To    request.State // the state asked for
}

func (e *StateError) Error() string {
	msg := fmt.Sprintf("request %d is %s; it cannot become %s", e.ID, e.State, e.To)
	switch e.State {
	case request.Answered, request.Approved:
		msg += " (it is already closed)"
	case request.Denied, request.Cancelled, request.Expired:
		msg += " (it is closed: run the program again to make a new request)"
	}
	return msg
}

const requestCols = `created, updated, uid, user_name, pid, kind, state, path, sha256, dev, ino, args, cwd, tty,
	rule, rule_name, group_name, policy_id, policy_revision, title, body, url, min_justification, reason,
	window_start, window_end, decided_by, notified, app_type, publisher, team_id, signing_id, machine,
	request_code, offline_attempts, cdhash, approvers`

// requestValues are r's values in requestCols order.
func requestValues(r *Request) ([]any, error) {
	args, err := argsValue(r.Args)
	if err != nil {
		return nil, err
	}
	// dev and ino are uint64; SQLite integers are int64, so they are stored
	// bit for bit (database/sql refuses a uint64 with the top bit set).
	return []any{nanos(r.Created), nanos(r.Updated), int64(r.UID), r.User, r.PID, r.Kind, r.State, r.Path, r.SHA256,
		int64(r.Dev), int64(r.Ino), args, r.Cwd, r.TTY, r.Rule, r.RuleName, r.Group, r.PolicyID, r.PolicyRevision,
		r.Title, r.Body, r.URL, r.MinJustification, r.Reason, nanos(r.WindowStart), nanos(r.WindowEnd),
		r.DecidedBy, r.Notified, r.AppType, r.Publisher, r.TeamID, r.SigningID, r.Machine, r.RequestCode,
		r.OfflineAttempts, r.CDHash, r.Approvers}, nil
}

func scanRequest(s rowScanner) (Request, error) {
	var (
		r                        Request
		created, updated, ws, we int64
		uid, dev, ino            int64
		args                     sql.NullString
	)
	err := s.Scan(&r.ID, &created, &updated, &uid, &r.User, &r.PID, &r.Kind, &r.State, &r.Path, &r.SHA256,
		&dev, &ino, &args, &r.Cwd, &r.TTY, &r.Rule, &r.RuleName, &r.Group, &r.PolicyID, &r.PolicyRevision,
		&r.Title, &r.Body, &r.URL, &r.MinJustification, &r.Reason, &ws, &we, &r.DecidedBy, &r.Notified,
		&r.AppType, &r.Publisher, &r.TeamID, &r.SigningID, &r.Machine, &r.RequestCode, &r.OfflineAttempts, &r.CDHash, &r.Approvers)
	if err != nil {
		return r, err
	}
	r.Created, r.Updated = fromNanos(created), fromNanos(updated)
	r.WindowStart, r.WindowEnd = fromNanos(ws), fromNanos(we)
	r.UID, r.Dev, r.Ino = uint32(uid), uint64(dev), uint64(ino)
	r.Args, err = parseArgs(args)
	return r, err
}

// AddRequest stores r (its ID is ignored) and returns its new ID. An empty
// State means pending.
func (s *Store) AddRequest(ctx context.Context, r Request) (int64, error) {
	if r.State == "" {
		r.State = request.Pending
	}
	if !r.State.Valid() {
		return 0, fmt.Errorf("add request: unknown state %q", r.State)
	}
	vals, err := requestValues(&r)
	if err != nil {
		return 0, fmt.Errorf("add request: %w", err)
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO requests (`+requestCols+`) VALUES (`+placeholders(len(vals))+`)`, vals...)
	if err != nil {
		return 0, fmt.Errorf("add request: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("add request: %w", err)
	}
	return id, nil
}

// GetRequest returns request id, or an error wrapping ErrNotFound.
func (s *Store) GetRequest(ctx context.Context, id int64) (Request, error) {
	return getRequest(ctx, s.r, id)
}

// querier is *sql.DB or *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func getRequest(ctx context.Context, q querier, id int64) (Request, error) {
	r, err := scanRequest(q.QueryRowContext(ctx, `SELECT id, `+requestCols+` FROM requests WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Request{}, fmt.Errorf("request %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Request{}, fmt.Errorf("get request %d: %w", id, err)
	}
	return r, nil
}

// RequestFilter selects requests. Zero fields do not filter.
type RequestFilter struct {
	UID    *uint32
	States []request.State // any of these
	Limit  int             // <= 0 means 500
}

// ListRequests returns the requests f selects, newest first.
func (s *Store) ListRequests(ctx context.Context, f RequestFilter) ([]Request, error) {
	q := `SELECT id, ` + requestCols + ` FROM requests WHERE 1 = 1`
	var args []any
	if f.UID != nil {
		q += ` AND uid = ?`
		args = append(args, int64(*f.UID))
	}
	if len(f.States) > 0 {
		q += ` AND state IN (` + placeholders(len(f.States)) + `)`
		for _, st := range f.States {
			args = append(args, st)
		}
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 500
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	return queryRequests(ctx, s.r, "list requests", q, args...)
}

// rowsQuerier is *sql.DB or *sql.Tx.
type rowsQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func queryRequests(ctx context.Context, q rowsQuerier, what, query string, args ...any) ([]Request, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []Request
	for rows.Next() {
		r, err := scanRequest(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// Transition moves request id from one of the states in from to the state
// to (clearing Notified), in one transaction: the state is checked inside it, so of two
// concurrent Transitions from the same state exactly one wins. mutate, if
// not nil, is applied to the row first (it runs while the write lock is
// held: keep it quick); it may change any field but ID, State and Updated.
// It returns the new row. A request in another state gives a *StateError,
// an unknown id an error wrapping ErrNotFound.
func (s *Store) Transition(ctx context.Context, id int64, from []request.State, to request.State, mutate func(*Request)) (Request, error) {
	if !to.Valid() {
		return Request{}, fmt.Errorf("request %d: unknown state %q", id, to)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return Request{}, fmt.Errorf("change request %d: %w", id, err)
	}
	defer tx.Rollback()
	r, err := getRequest(ctx, tx, id)
	if err != nil {
		return Request{}, err
	}
	if !slices.Contains(from, r.State) {
		return Request{}, &StateError{ID: id, State: r.State, To: to}
	}
	// Notified is about the state the user was told of: a new state is
	// news again.
	r.Notified = false
	if mutate != nil {
		mutate(&r)
	}
	r.ID, r.State, r.Updated = id, to, time.Now()
	vals, err := requestValues(&r)
	if err != nil {
		return Request{}, fmt.Errorf("change request %d: %w", id, err)
	}
	_, err = tx.ExecContext(ctx, `UPDATE requests SET (`+requestCols+`) = (`+placeholders(len(vals))+`) WHERE id = ?`,
		append(vals, id)...)
	if err != nil {
		return Request{}, fmt.Errorf("change request %d: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return Request{}, fmt.Errorf("change request %d: %w", id, err)
	}
	return r, nil
}

// ExpireRequests moves pending and submitted requests created before
// before to "expired" and returns them as they now are.
func (s *Store) ExpireRequests(ctx context.Context, before time.Time) ([]Request, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("expire requests: %w", err)
	}
	defer tx.Rollback()
	open := []any{request.Pending, request.Submitted, nanos(before)}
	rs, err := queryRequests(ctx, tx, "expire requests",
		`SELECT id, `+requestCols+` FROM requests WHERE state IN (?, ?) AND created < ? ORDER BY id`, open...)
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, nil
	}
	now := time.Now()
	_, err = tx.ExecContext(ctx, `UPDATE requests SET state = ?, updated = ? WHERE state IN (?, ?) AND created < ?`,
		append([]any{request.Expired, nanos(now)}, open...)...)
	if err != nil {
		return nil, fmt.Errorf("expire requests: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("expire requests: %w", err)
	}
	for i := range rs {
		rs[i].State, rs[i].Updated = request.Expired, now
	}
	return rs, nil
}

// MarkNotified records that the user was told about request id.
func (s *Store) MarkNotified(ctx context.Context, id int64) error {
	res, err := s.w.ExecContext(ctx, `UPDATE requests SET notified = 1 WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("mark request %d notified: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("mark request %d notified: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("request %d: %w", id, ErrNotFound)
	}
	return nil
}

// ReserveOfflineAttempt counts one more offline response code entered for
// request id, if it has had fewer than max, and returns how many it had
// before. It is called before a code is compared, so every comparison is
// counted, also of codes entered at the same moment: of N concurrent
// entries at most max get ok. ok is false when the request already had max
// (or does not exist).
func (s *Store) ReserveOfflineAttempt(ctx context.Context, id int64, max int) (before int, ok bool, err error) {
	var n int
	err = s.w.QueryRowContext(ctx, `UPDATE requests SET offline_attempts = offline_attempts + 1
		WHERE id = ? AND offline_attempts < ? RETURNING offline_attempts`, id, max).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("count offline attempt of request %d: %w", id, err)
	}
	return n - 1, true, nil
}

// RequestCodeUsed reports whether a request created since since has the
// offline request code code.
func (s *Store) RequestCodeUsed(ctx context.Context, code string, since time.Time) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM requests WHERE request_code = ? AND created >= ?`, code, nanos(since)).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up request code: %w", err)
	}
	return n > 0, nil
}
