package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Notifier is where approvers hear of new requests.
type Notifier struct {
	ID      int64
	Kind    string // webhook, email
	Format  string // slack, teams, json (webhooks)
	Target  string // the URL, or the address
	Created time.Time
	By      string
}

// AddNotifier stores n, audited; new requests are queued for it from now on.
func (s *Store) AddNotifier(ctx context.Context, n Notifier, now time.Time) (int64, error) {
	q, tx, err := s.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	var id int64
	if err := q.row(ctx, `INSERT INTO notifiers (kind, format, target, created, created_by) VALUES (?, ?, ?, ?, ?) RETURNING id`,
		n.Kind, n.Format, n.Target, nanos(now), n.By).Scan(&id); err != nil {
		return 0, fmt.Errorf("add notifier: %w", err)
	}
	if err := audit(ctx, q, now, n.By, "notifier", fmt.Sprintf("added %s %s %s", n.Kind, n.Format, n.Target)); err != nil {
		return 0, err
	}
	return id, tx.Commit()
}

// Notifiers lists the notifiers.
func (s *Store) Notifiers(ctx context.Context) ([]Notifier, error) {
	rows, err := s.r.query(ctx, `SELECT id, kind, format, target, created, created_by FROM notifiers ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Notifier
	for rows.Next() {
		var n Notifier
		var c int64
		if err := rows.Scan(&n.ID, &n.Kind, &n.Format, &n.Target, &c, &n.By); err != nil {
			return nil, err
		}
		n.Created = fromNanos(c)
		out = append(out, n)
	}
	return out, rows.Err()
}

// DeleteNotifier removes notifier id and what it had still to send,
// audited.
func (s *Store) DeleteNotifier(ctx context.Context, id int64, by string, now time.Time) error {
	q, tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := q.exec(ctx, `DELETE FROM outbox WHERE notifier_id = ?`, id); err != nil {
		return err
	}
	res, err := q.exec(ctx, `DELETE FROM notifiers WHERE id = ?`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("notifier %d: %w", id, ErrNotFound)
	}
	if err := audit(ctx, q, now, by, "notifier", fmt.Sprintf("removed notifier %d", id)); err != nil {
		return err
	}
	return tx.Commit()
}

// queueNotifications queues request id for every notifier, due at once,
// in tx.
func queueNotifications(ctx context.Context, q db, id int64) error {
	_, err := q.exec(ctx, `INSERT INTO outbox (notifier_id, request_id, next_at) SELECT id, ?, 0 FROM notifiers`, id)
	return err
}

// Job is one notification to send.
type Job struct {
	ID        int64
	Notifier  Notifier
	RequestID int64
	Attempts  int
}

// ClaimJobs takes up to limit notifications due at now and leases them to
// the caller for lease (no other node takes them meanwhile; one not
// finished by then is due again).
func (s *Store) ClaimJobs(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]Job, error) {
	q, tx, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	lock := ""
	if s.pg {
		lock = " FOR UPDATE OF o SKIP LOCKED"
	}
	rows, err := q.query(ctx, `SELECT o.id, o.request_id, o.attempts, n.id, n.kind, n.format, n.target FROM outbox o JOIN notifiers n ON n.id = o.notifier_id
		WHERE o.sent = FALSE AND o.next_at <= ? ORDER BY o.next_at LIMIT ?`+lock, nanos(now), limit)
	if err != nil {
		return nil, err
	}
	var jobs []Job
	for rows.Next() {
		var j Job
		if err := rows.Scan(&j.ID, &j.RequestID, &j.Attempts, &j.Notifier.ID, &j.Notifier.Kind, &j.Notifier.Format, &j.Notifier.Target); err != nil {
			rows.Close()
			return nil, err
		}
		jobs = append(jobs, j)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, j := range jobs {
		if _, err := q.exec(ctx, `UPDATE outbox SET next_at = ? WHERE id = ?`, nanos(now.Add(lease)), j.ID); err != nil {
			return nil, err
		}
	}
	return jobs, tx.Commit()
}

// JobDone records how job id went: sent, or failed with err and due again
// at next (zero: given up, audited).
func (s *Store) JobDone(ctx context.Context, id int64, sendErr error, next time.Time, now time.Time) error {
	if sendErr == nil {
		_, err := s.w.exec(ctx, `UPDATE outbox SET sent = TRUE, attempts = attempts + 1, last_error = '' WHERE id = ?`, id)
		return err
	}
	msg := sendErr.Error()
	if next.IsZero() {
		q, tx, err := s.begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		// Given up: marked sent so it is not taken again; the audit says so.
		if _, err := q.exec(ctx, `UPDATE outbox SET sent = TRUE, attempts = attempts + 1, last_error = ? WHERE id = ?`, msg, id); err != nil {
			return err
		}
		if err := audit(ctx, q, now, "console", "notify-failed", fmt.Sprintf("notification %d given up: %s", id, msg)); err != nil {
			return err
		}
		return tx.Commit()
	}
	_, err := s.w.exec(ctx, `UPDATE outbox SET attempts = attempts + 1, next_at = ?, last_error = ? WHERE id = ?`, nanos(next), msg, id)
	return err
}

// Outbox is how a notification stands, for tests and the pages.
func (s *Store) Outbox(ctx context.Context, id int64) (attempts int, sent bool, lastError string, err error) {
	err = s.r.row(ctx, `SELECT attempts, sent, last_error FROM outbox WHERE id = ?`, id).Scan(&attempts, &sent, &lastError)
	if errors.Is(err, sql.ErrNoRows) {
		err = ErrNotFound
	}
	return
}
