package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// runRow is the audit_run row: the account, in the database, of the
// audit writer's last run (migrations/003_audit_run.sql).
type runRow struct {
	RunID     uint64
	Started   time.Time
	Accounted uint64 // accepted events committed or counted in a committed "unwritten" record
	Dropped   uint64 // refused events counted in committed "dropped" records
	RunFile   bool   // the run kept a run file
	Clean     bool   // the run stopped with every loss recorded
}

// lastRun reads the audit_run row; ok is false if there is none (a new
// database, or one no run of this version has written to).
func (s *Store) lastRun(ctx context.Context) (r runRow, ok bool, err error) {
	var id, started int64
	err = s.r.QueryRowContext(ctx, `SELECT run_id, started, accounted, dropped, run_file, clean FROM audit_run WHERE id = 1`).
		Scan(&id, &started, &r.Accounted, &r.Dropped, &r.RunFile, &r.Clean)
	if errors.Is(err, sql.ErrNoRows) {
		return runRow{}, false, nil
	}
	if err != nil {
		return runRow{}, false, fmt.Errorf("read the audit writer's last run from %s: %w%s", s.path, err, corruptHint(err))
	}
	r.RunID, r.Started = uint64(id), fromNanos(started)
	return r, true, nil
}

// putRun writes the audit_run row in tx.
func putRun(ctx context.Context, tx *sql.Tx, r runRow) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO audit_run (id, run_id, started, accounted, dropped, run_file, clean)
		VALUES (1, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET run_id = excluded.run_id, started = excluded.started, accounted = excluded.accounted,
			dropped = excluded.dropped, run_file = excluded.run_file, clean = excluded.clean`,
		int64(r.RunID), nanos(r.Started), r.Accounted, r.Dropped, r.RunFile, r.Clean)
	if err != nil {
		return fmt.Errorf("record the audit writer's run: %w", err)
	}
	return nil
}

// markClean records that run r stopped with every loss recorded.
func (s *Store) markClean(ctx context.Context, r runRow) error {
	r.Clean = true
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := putRun(ctx, tx, r); err != nil {
		return err
	}
	return tx.Commit()
}

// judgeRun says what the previous run left without a record, from its run
// file (prev, or prevErr: missing or damaged) and the database's audit_run
// row (row if haveRow, or rowErr: unreadable): an "unclean_stop" event (it
// was killed or crashed), an "unwritten" event (it stopped while the
// database failed), or nothing. Count is how many audit events were lost
// without a record — accepted and neither written nor counted, plus
// refused and not counted — or 0 with a Detail saying the number is not
// known. now is the event's time; file names the run file.
func judgeRun(prev runRecord, prevErr error, row runRow, haveRow bool, rowErr error, file string, now time.Time) (Event, bool) {
	ev := Event{Time: now, Kind: "unclean_stop"}
	switch {
	case prevErr == nil && rowErr != nil:
		if prev.State == runClean {
			return Event{}, false
		}
		if prev.State == runLossy {
			ev.Kind = "unwritten"
		}
		ev.Detail = fmt.Sprintf("the previous run (started %s) %s; an unknown number of its audit events were not written: the database's account of it could not be read (%v)",
			stamp(prev.Started), endOf(prev.State), rowErr)
		return ev, true

	case prevErr == nil && haveRow && row.RunID == prev.RunID:
		if row.Clean || prev.State == runClean {
			return Event{}, false
		}
		accepted := prev.Accepted - min(row.Accounted, prev.Accepted)
		dropped := prev.Dropped - min(row.Dropped, prev.Dropped)
		ev.Count = int64(accepted + dropped)
		if prev.State == runLossy {
			if ev.Count == 0 {
				return Event{}, false
			}
			ev.Kind = "unwritten"
		}
		ev.Detail = fmt.Sprintf("the previous run (started %s) %s: %d audit events lost without a record (%d accepted and not written, %d dropped and not counted)",
			stamp(prev.Started), endOf(prev.State), ev.Count, accepted, dropped)
		return ev, true

	case prevErr == nil:
		// The row is missing or another run's: the run in the file
		// committed nothing to this database.
		if prev.State == runClean {
			return Event{}, false
		}
		if prev.State == runLossy {
			ev.Kind = "unwritten"
		}
		ev.Count = int64(prev.Accepted + prev.Dropped)
		ev.Detail = fmt.Sprintf("the previous run (started %s) %s: %d audit events lost without a record, none of them written to this database (%d accepted, %d dropped)",
			stamp(prev.Started), endOf(prev.State), ev.Count, prev.Accepted, prev.Dropped)
		return ev, true

	case rowErr != nil || !haveRow || row.Clean:
		// Nothing known (a new database, the first run of this version),
		// or a clean stop whose run file a reboot took.
		return Event{}, false

	case !row.RunFile:
		ev.Detail = fmt.Sprintf("the previous run (started %s) did not stop cleanly (killed, crashed, or the machine lost power); it kept no run file, so the number of audit events lost is not known",
			stamp(row.Started))
		return ev, true

	default:
		ev.Detail = fmt.Sprintf("the previous run (started %s) did not stop cleanly (killed, crashed, or the machine lost power); its run file %s is %v (a reboot empties it), so the number of audit events lost is not known",
			stamp(row.Started), file, prevErr)
		return ev, true
	}
}

func endOf(st runState) string {
	if st == runLossy {
		return "stopped while the database failed"
	}
	return "did not stop cleanly (killed, or it crashed)"
}

func stamp(t time.Time) string { return t.Format(time.RFC3339) }
