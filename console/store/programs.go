package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Program is a machine's record of a program: its facts as first seen
// there, and the "program" event that brought them (the first exec's
// user, decision and parent chain in its Detail).
type Program struct {
	MachineID, SHA256, Path string
	FirstSeen               time.Time
	Facts                   string // JSON: policy.SubjectRecord
	First                   Event  // zero when the event is gone
}

// ExecWithFacts is an exec event with its program's facts on its machine
// ("" when the machine never sent them).
type ExecWithFacts struct {
	Event
	Facts string
}

const eventColsE = `e.id, e.machine_id, e.endpoint_id, e.time, e.kind, e.action, e.allowed, e.rule, e.policy_revision, e.uid, e.user_name, e.path, e.sha256, e.detail`

// ExecsWithFacts lists the exec events since since, newest first, at most
// limit, each with its program's facts.
func (s *Store) ExecsWithFacts(ctx context.Context, since time.Time, limit int) ([]ExecWithFacts, error) {
	rows, err := s.r.query(ctx, `SELECT `+eventColsE+`, COALESCE(p.facts, '') FROM events e
		LEFT JOIN programs p ON p.machine_id = e.machine_id AND p.sha256 = e.sha256
		WHERE e.kind = 'exec' AND e.time >= ? ORDER BY e.id DESC LIMIT ?`, nanos(since), limit)
	if err != nil {
		return nil, fmt.Errorf("execs with facts: %w", err)
	}
	defer rows.Close()
	var out []ExecWithFacts
	for rows.Next() {
		var x ExecWithFacts
		var t int64
		if err := rows.Scan(&x.ID, &x.MachineID, &x.EndpointID, &t, &x.Kind, &x.Action, &x.Allowed, &x.Rule, &x.PolicyRevision, &x.UID,
			&x.User, &x.Path, &x.SHA256, &x.Detail, &x.Facts); err != nil {
			return nil, fmt.Errorf("execs with facts: %w", err)
		}
		x.Time = fromNanos(t)
		out = append(out, x)
	}
	return out, rows.Err()
}

// pathsPerQuery bounds the paths one ProgramsAt query asks for.
const pathsPerQuery = 500

// ProgramsAt lists the records of the programs at any of paths, on every
// machine.
func (s *Store) ProgramsAt(ctx context.Context, paths []string) ([]Program, error) {
	paths = slices.Compact(slices.Sorted(slices.Values(paths)))
	var out []Program
	for chunk := range slices.Chunk(paths, pathsPerQuery) {
		args := make([]any, len(chunk))
		for i, p := range chunk {
			args[i] = p
		}
		got, err := s.programs(ctx, `p.path IN (`+strings.Repeat(", ?", len(chunk))[2:]+`)`, 0, args...)
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// ProgramsUnrecorded lists, at most limit, the records of programs whose
// first exec was decided (its event names an action) and that have no exec
// event on their machine since since: allowed without audit, or answered
// from the kernel's cache, since.
func (s *Store) ProgramsUnrecorded(ctx context.Context, since time.Time, limit int) ([]Program, error) {
	return s.programs(ctx, `e.action <> '' AND NOT EXISTS (SELECT 1 FROM events x
		WHERE x.machine_id = p.machine_id AND x.sha256 = p.sha256 AND x.kind = 'exec' AND x.time >= ?)`, limit, nanos(since))
}

func (s *Store) programs(ctx context.Context, where string, limit int, args ...any) ([]Program, error) {
	q := `SELECT p.machine_id, p.sha256, p.path, p.first_seen, p.facts, ` + eventColsE + ` FROM programs p
		LEFT JOIN events e ON e.id = p.event_id WHERE ` + where + ` ORDER BY p.machine_id, p.sha256`
	if limit > 0 {
		q += ` LIMIT ?`
		args = append(args, limit)
	}
	rows, err := s.r.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("programs: %w", err)
	}
	defer rows.Close()
	var out []Program
	for rows.Next() {
		var (
			p                                           Program
			first                                       int64
			id, endpointID, t, rule, rev, uid           sql.NullInt64
			machineID, kind, action, user, path, sha, d sql.NullString
			allowed                                     sql.NullBool
		)
		if err := rows.Scan(&p.MachineID, &p.SHA256, &p.Path, &first, &p.Facts,
			&id, &machineID, &endpointID, &t, &kind, &action, &allowed, &rule, &rev, &uid, &user, &path, &sha, &d); err != nil {
			return nil, fmt.Errorf("programs: %w", err)
		}
		p.FirstSeen = fromNanos(first)
		if id.Valid { // the event is there
			p.First = Event{ID: id.Int64, MachineID: machineID.String, EndpointID: endpointID.Int64, Time: fromNanos(t.Int64),
				Kind: kind.String, Action: action.String, Allowed: allowed.Bool, Rule: int(rule.Int64), PolicyRevision: rev.Int64,
				UID: uint32(uid.Int64), User: user.String, Path: path.String, SHA256: sha.String, Detail: d.String}
		}
		out = append(out, p)
	}
	return out, rows.Err()
}
