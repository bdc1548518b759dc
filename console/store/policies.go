package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrStale: a policy revision not newer than the stored one.
var ErrStale = errors.New("a newer or equal revision of this policy is stored already: raise the policy's revision")

// Policy is one stored revision of a policy.
type Policy struct {
	Name       string
	Revision   int64
	Body       []byte
	Uploaded   time.Time
	UploadedBy string
}

// AddPolicy stores a new revision of policy name; it must be newer than
// every stored one.
func (s *Store) AddPolicy(ctx context.Context, p Policy, now time.Time) error {
	q, tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var latest sql.NullInt64
	if err := q.row(ctx, `SELECT max(revision) FROM policies WHERE name = ?`, p.Name).Scan(&latest); err != nil {
		return err
	}
	if latest.Valid && p.Revision <= latest.Int64 {
		return fmt.Errorf("policy %s revision %d (stored: %d): %w", p.Name, p.Revision, latest.Int64, ErrStale)
	}
	if _, err := q.exec(ctx, `INSERT INTO policies (name, revision, body, uploaded, uploaded_by) VALUES (?, ?, ?, ?, ?)`,
		p.Name, p.Revision, p.Body, nanos(now), p.UploadedBy); err != nil {
		return fmt.Errorf("store policy: %w", err)
	}
	if err := audit(ctx, q, now, p.UploadedBy, "policy", fmt.Sprintf("%s revision %d (%d bytes)", p.Name, p.Revision, len(p.Body))); err != nil {
		return err
	}
	return s.commitChange(ctx, q, tx, "")
}

// Assign gives target ("machine:<id>", "tag:<tag>", "*") policy name.
func (s *Store) Assign(ctx context.Context, target, name, by string, now time.Time) error {
	q, tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := q.row(ctx, `SELECT count(*) FROM policies WHERE name = ?`, name).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("policy %s: %w (upload it first)", name, ErrNotFound)
	}
	if _, err := q.exec(ctx, `INSERT INTO assignments (target, policy_name, assigned, assigned_by) VALUES (?, ?, ?, ?)
		ON CONFLICT (target) DO UPDATE SET policy_name = excluded.policy_name, assigned = excluded.assigned, assigned_by = excluded.assigned_by`,
		target, name, nanos(now), by); err != nil {
		return fmt.Errorf("assign: %w", err)
	}
	if err := audit(ctx, q, now, by, "assign", fmt.Sprintf("%s gets policy %s", target, name)); err != nil {
		return err
	}
	return s.commitChange(ctx, q, tx, "")
}

// PolicyFor is the latest revision of the policy machine m gets: its own
// assignment, else its first tag's that has one (tags in order), else
// "*"'s. ok is false when none is assigned.
func (s *Store) PolicyFor(ctx context.Context, m Machine) (p Policy, ok bool, err error) {
	targets := []string{"machine:" + m.ID}
	tags := slices.Clone(m.Tags)
	slices.Sort(tags)
	for _, t := range tags {
		targets = append(targets, "tag:"+t)
	}
	targets = append(targets, "*")
	for _, t := range targets {
		var name string
		err := s.r.row(ctx, `SELECT policy_name FROM assignments WHERE target = ?`, t).Scan(&name)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return Policy{}, false, err
		}
		var up int64
		err = s.r.row(ctx, `SELECT name, revision, body, uploaded, uploaded_by FROM policies WHERE name = ? ORDER BY revision DESC LIMIT 1`, name).
			Scan(&p.Name, &p.Revision, &p.Body, &up, &p.UploadedBy)
		if err != nil {
			return Policy{}, false, err
		}
		p.Uploaded = fromNanos(up)
		return p, true, nil
	}
	return Policy{}, false, nil
}

// ReportRevision records the policy revision machine id says it runs.
func (s *Store) ReportRevision(ctx context.Context, id string, revision int64) error {
	_, err := s.w.exec(ctx, `UPDATE machines SET policy_revision = ? WHERE id = ?`, revision, id)
	return err
}

// Policies lists every revision of policy name, newest first, or, for
// name "", the newest revision of each policy, by name.
func (s *Store) Policies(ctx context.Context, name string) ([]Policy, error) {
	q := `SELECT name, revision, body, uploaded, uploaded_by FROM policies WHERE name = ? ORDER BY revision DESC`
	args := []any{name}
	if name == "" {
		q = `SELECT p.name, p.revision, p.body, p.uploaded, p.uploaded_by FROM policies p
			WHERE p.revision = (SELECT max(revision) FROM policies WHERE name = p.name) ORDER BY p.name`
		args = nil
	}
	rows, err := s.r.query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	defer rows.Close()
	var out []Policy
	for rows.Next() {
		var p Policy
		var up int64
		if err := rows.Scan(&p.Name, &p.Revision, &p.Body, &up, &p.UploadedBy); err != nil {
			return nil, err
		}
		p.Uploaded = fromNanos(up)
		out = append(out, p)
	}
	return out, rows.Err()
}

// Assignment says which policy a target gets.
type Assignment struct {
	Target, Policy string
	Assigned       time.Time
	By             string
}

// Assignments lists every assignment, by target.
func (s *Store) Assignments(ctx context.Context) ([]Assignment, error) {
	rows, err := s.r.query(ctx, `SELECT target, policy_name, assigned, assigned_by FROM assignments ORDER BY target`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Assignment
	for rows.Next() {
		var a Assignment
		var at int64
		if err := rows.Scan(&a.Target, &a.Policy, &at, &a.By); err != nil {
			return nil, err
		}
		a.Assigned = fromNanos(at)
		out = append(out, a)
	}
	return out, rows.Err()
}
