package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/request"
)

// Event is one audit record: a decision, a request or grant change, or
// something the daemon did.
type Event struct {
	ID             int64 // assigned by the store; ascending, never reused
	Time           time.Time
	Kind           string // "exec", "program", "request", "grant", "daemon", "dropped", "unwritten", "unclean_stop", "tamper", "sudo", "admin_session", "auth", "auth_seen"
	Action         string
	Allowed        bool
	Rule           int
	RuleName       string
	Group          string
	PolicyID       string
	PolicyRevision int64
	UID            uint32
	User           string
	PID            int32
	Path           string
	SHA256         string
	Args           []string // empty reads back as nil
	Groups         []string // the user's groups (exec and program events); empty reads back as nil
	Parent         string
	Parents        []string // the parent chain's paths, nearest first (Parent is the first)
	AppType        string
	Source         string
	Reason         string
	GrantID        int64
	RequestID      int64
	Count          int64 // for "dropped", "unwritten", "unclean_stop": how many events were lost
	// Detail says what happened; for a "program" event (the first time a
	// program was seen: its facts, and the exec's as for "exec") it is the
	// JSON of a policy.SubjectRecord.
	Detail string
	// Session is the admin session (its grant's ID) the exec ran in: the
	// user's own, or a process of theirs that became root (0: none).
	Session int64
}

const eventCols = `time, kind, action, allowed, rule, rule_name, group_name, policy_id, policy_revision,
	uid, user_name, pid, path, sha256, args, parent, app_type, source, reason, grant_id, request_id, count, detail, groups, parents, session`

var insertEventSQL = `INSERT INTO events (` + eventCols + `) VALUES (` + placeholders(columns(eventCols)) + `)`

// AddEvents stores evs in one transaction. Their ID fields are ignored.
func (s *Store) AddEvents(ctx context.Context, evs []Event) error {
	if len(evs) == 0 {
		return nil
	}
	return s.addEvents(ctx, nil, evs)
}

// addEvents stores the events of every part, in order, and the audit_run
// row if run is not nil, in one transaction.
func (s *Store) addEvents(ctx context.Context, run *runRow, parts ...[]Event) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("add events: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, insertEventSQL)
	if err != nil {
		return fmt.Errorf("add events: %w", err)
	}
	defer stmt.Close()
	// mattn/go-sqlite3 starts a goroutine per statement to watch a
	// cancellable context; per row that costs more than the insert. The
	// rows run without it and the loop checks ctx itself.
	rowCtx := context.WithoutCancel(ctx)
	for _, evs := range parts {
		for i := range evs {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("add events: %w", err)
			}
			e := &evs[i]
			args, err := argsValue(e.Args)
			if err != nil {
				return fmt.Errorf("add events: %w", err)
			}
			groups, err := argsValue(e.Groups)
			if err != nil {
				return fmt.Errorf("add events: %w", err)
			}
			parents, err := argsValue(e.Parents)
			if err != nil {
				return fmt.Errorf("add events: %w", err)
			}
			_, err = stmt.ExecContext(rowCtx, nanos(e.Time), e.Kind, e.Action, e.Allowed, e.Rule, e.RuleName, e.Group,
				e.PolicyID, e.PolicyRevision, int64(e.UID), e.User, e.PID, e.Path, e.SHA256, args, e.Parent,
				e.AppType, e.Source, e.Reason, e.GrantID, e.RequestID, e.Count, e.Detail, groups, parents, e.Session)
			if err != nil {
				return fmt.Errorf("add events: %w", err)
			}
			if e.Kind == "program" && e.SHA256 != "" {
				if _, err := tx.ExecContext(rowCtx, `INSERT INTO programs_seen (sha256, first_seen) VALUES (?, ?) ON CONFLICT DO NOTHING`,
					e.SHA256, nanos(e.Time)); err != nil {
					return fmt.Errorf("add events: %w", err)
				}
			}
		}
	}
	if run != nil {
		if err := putRun(ctx, tx, *run); err != nil {
			return fmt.Errorf("add events: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("add events: %w", err)
	}
	return nil
}

// Filter selects events. Zero fields do not filter.
type Filter struct {
	AfterID int64     // only events with a greater ID (for paging)
	Since   time.Time // at or after
	Until   time.Time // before
	UID     *uint32
	Kind    string
	Action  string
	// PathContains is a literal substring of the path (SQL LIKE, with its
	// wildcards escaped), so it ignores the case of ASCII letters.
	PathContains string
	Limit        int // <= 0 means 1000
}

// Events returns the events f selects, in ascending ID order.
func (s *Store) Events(ctx context.Context, f Filter) ([]Event, error) {
	var q strings.Builder
	q.WriteString(`SELECT id, ` + eventCols + ` FROM events WHERE id > ?`)
	args := []any{f.AfterID}
	if !f.Since.IsZero() {
		q.WriteString(` AND time >= ?`)
		args = append(args, nanos(f.Since))
	}
	if !f.Until.IsZero() {
		q.WriteString(` AND time < ?`)
		args = append(args, nanos(f.Until))
	}
	if f.UID != nil {
		q.WriteString(` AND uid = ?`)
		args = append(args, int64(*f.UID))
	}
	if f.Kind != "" {
		q.WriteString(` AND kind = ?`)
		args = append(args, f.Kind)
	}
	if f.Action != "" {
		q.WriteString(` AND action = ?`)
		args = append(args, f.Action)
	}
	if f.PathContains != "" {
		q.WriteString(` AND path LIKE ? ESCAPE '\'`)
		args = append(args, "%"+likeEscaper.Replace(f.PathContains)+"%")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q.WriteString(` ORDER BY id LIMIT ?`)
	args = append(args, limit)

	rows, err := s.r.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("query events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		e, err := scanEvent(rows)
		if err != nil {
			return nil, fmt.Errorf("query events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("query events: %w", err)
	}
	return out, nil
}

// ProgramsSeen lists the SHA-256 of every program whose facts were
// recorded.
func (s *Store) ProgramsSeen(ctx context.Context) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT sha256 FROM programs_seen`)
	if err != nil {
		return nil, fmt.Errorf("programs seen: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("programs seen: %w", err)
		}
		out = append(out, h)
	}
	return out, rows.Err()
}

var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

func scanEvent(r rowScanner) (Event, error) {
	var (
		e                     Event
		t, uid                int64
		args, groups, parents sql.NullString
	)
	err := r.Scan(&e.ID, &t, &e.Kind, &e.Action, &e.Allowed, &e.Rule, &e.RuleName, &e.Group, &e.PolicyID,
		&e.PolicyRevision, &uid, &e.User, &e.PID, &e.Path, &e.SHA256, &args, &e.Parent, &e.AppType,
		&e.Source, &e.Reason, &e.GrantID, &e.RequestID, &e.Count, &e.Detail, &groups, &parents, &e.Session)
	if err != nil {
		return e, err
	}
	e.Time = fromNanos(t)
	e.UID = uint32(uid)
	if e.Args, err = parseArgs(args); err != nil {
		return e, err
	}
	if e.Groups, err = parseArgs(groups); err != nil {
		return e, err
	}
	e.Parents, err = parseArgs(parents)
	return e, err
}

// pruneChunk bounds how many events one Prune transaction deletes, so the
// audit writer is not shut out for long by a big deletion.
const pruneChunk = 5000

// finalStates are request states that do not change any more.
var finalStates = []request.State{request.Answered, request.Approved, request.Denied,
	request.Cancelled, request.Expired}

// Prune deletes events older than before, grants that expired before it,
// and requests in a final state last updated before it (but not one a
// remaining grant refers to). It returns the number of events deleted. A
// zero before deletes nothing.
func (s *Store) Prune(ctx context.Context, before time.Time) (int64, error) {
	if before.IsZero() {
		return 0, nil
	}
	cut := nanos(before)
	var total int64
	for {
		res, err := s.w.ExecContext(ctx,
			`DELETE FROM events WHERE id IN (SELECT id FROM events WHERE time < ? LIMIT ?)`, cut, pruneChunk)
		if err != nil {
			return total, fmt.Errorf("prune events: %w", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return total, fmt.Errorf("prune events: %w", err)
		}
		total += n
		if n < pruneChunk {
			break
		}
	}

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return total, fmt.Errorf("prune grants and requests: %w", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM grants WHERE expires < ?`, cut); err != nil {
		return total, fmt.Errorf("prune grants: %w", err)
	}
	args := []any{cut}
	for _, st := range finalStates {
		args = append(args, st)
	}
	_, err = tx.ExecContext(ctx, `DELETE FROM requests WHERE updated < ? AND state IN (`+placeholders(len(finalStates))+`)
		AND NOT EXISTS (SELECT 1 FROM grants WHERE grants.request_id = requests.id)`, args...)
	if err != nil {
		return total, fmt.Errorf("prune requests: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return total, fmt.Errorf("prune grants and requests: %w", err)
	}
	return total, nil
}
