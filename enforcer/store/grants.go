package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/request"
)

// Grant lets one user run one file (by device and inode, hash and path)
// from NotBefore until Expires, UsesLeft more times (-1 = unlimited).
type Grant struct {
	ID       int64
	UID      uint32
	Dev, Ino uint64
	SHA256   string
	// CDHash binds the grant to the code the kernel validated (macOS,
	// hex); "" binds it to SHA256 alone.
	CDHash    string
	Path      string
	Created   time.Time
	NotBefore time.Time
	Expires   time.Time
	UsesLeft  int // -1 = unlimited
	Reason    string
	Origin    request.Origin
	RequestID int64 // 0 = made without a request
	Revoked   bool
	// Kind is GrantExec (an exec of the file), GrantSudo (the sudo command
	// Path with exactly Args, as root), GrantAdmin (an admin session) or
	// GrantAuth (the right Args[0] for the program Path).
	Kind string
	Args []string
	// GroupAdded: this admin session made its user a member of the
	// administrators group (macOS), to be taken out at its end.
	GroupAdded bool
}

// The kinds of grant.
const (
	GrantExec  = "exec"
	GrantSudo  = "sudo"
	GrantAdmin = "admin" // an admin session: every command as root until Expires
	// GrantAuth lets uid's program (Path, SHA256) be granted the
	// authorization right Args[0] (polkit's action, macOS's right).
	GrantAuth = "auth"
)

const grantCols = `uid, dev, ino, sha256, path, created, not_before, expires, uses_left, reason, origin, request_id, revoked, cdhash, kind, args, group_added`

func scanGrant(s rowScanner) (Grant, error) {
	var (
		g                         Grant
		uid, dev, ino             int64
		created, notBefore, expir int64
		req                       sql.NullInt64
		args                      sql.NullString
	)
	err := s.Scan(&g.ID, &uid, &dev, &ino, &g.SHA256, &g.Path, &created, &notBefore, &expir, &g.UsesLeft,
		&g.Reason, &g.Origin, &req, &g.Revoked, &g.CDHash, &g.Kind, &args, &g.GroupAdded)
	if err != nil {
		return g, err
	}
	if g.Args, err = parseArgs(args); err != nil {
		return g, err
	}
	g.UID, g.Dev, g.Ino = uint32(uid), uint64(dev), uint64(ino)
	g.Created, g.NotBefore, g.Expires = fromNanos(created), fromNanos(notBefore), fromNanos(expir)
	g.RequestID = req.Int64
	return g, nil
}

// AddGrant stores g (its ID is ignored) and returns its new ID. A non-zero
// RequestID must name a stored request.
func (s *Store) AddGrant(ctx context.Context, g Grant) (int64, error) {
	var req any // NULL: no request
	if g.RequestID != 0 {
		req = g.RequestID
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("add grant: %w", err)
	}
	defer tx.Rollback()
	if g.RequestID != 0 {
		// Checked here for a clear error; the foreign key would refuse it too.
		var one int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM requests WHERE id = ?`, g.RequestID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("add grant: request %d: %w", g.RequestID, ErrNotFound)
		}
		if err != nil {
			return 0, fmt.Errorf("add grant: %w", err)
		}
	}
	if g.Kind == "" {
		g.Kind = GrantExec
	}
	args, err := argsValue(g.Args)
	if err != nil {
		return 0, fmt.Errorf("add grant: %w", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO grants (`+grantCols+`) VALUES (`+placeholders(columns(grantCols))+`)`,
		int64(g.UID), int64(g.Dev), int64(g.Ino), g.SHA256, g.Path, nanos(g.Created), nanos(g.NotBefore),
		nanos(g.Expires), g.UsesLeft, g.Reason, g.Origin, req, g.Revoked, g.CDHash, g.Kind, args, g.GroupAdded)
	if err != nil {
		return 0, fmt.Errorf("add grant: %w", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("add grant: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("add grant: %w", err)
	}
	return id, nil
}

func (s *Store) queryGrants(ctx context.Context, what, query string, args ...any) ([]Grant, error) {
	fail := func(err error) ([]Grant, error) {
		return nil, fmt.Errorf("%s from %s: %w%s", what, s.path, err, corruptHint(err))
	}
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return fail(err)
	}
	defer rows.Close()
	var out []Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return fail(err)
		}
		out = append(out, g)
	}
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	return out, nil
}

// ActiveGrants returns the grants that are not revoked, expire after now
// and have uses left, oldest first. Some may not have started yet
// (NotBefore after now); they are returned so the caller can hold them.
func (s *Store) ActiveGrants(ctx context.Context, now time.Time) ([]Grant, error) {
	return s.queryGrants(ctx, "active grants",
		`SELECT id, `+grantCols+` FROM grants WHERE revoked = 0 AND expires > ? AND uses_left != 0 ORDER BY id`, nanos(now))
}

// Grants returns all stored grants, newest first; only uid's if uid is not nil.
func (s *Store) Grants(ctx context.Context, uid *uint32) ([]Grant, error) {
	if uid != nil {
		return s.queryGrants(ctx, "list grants",
			`SELECT id, `+grantCols+` FROM grants WHERE uid = ? ORDER BY id DESC`, int64(*uid))
	}
	return s.queryGrants(ctx, "list grants", `SELECT id, `+grantCols+` FROM grants ORDER BY id DESC`)
}

// UseGrant counts one use of grant id: UsesLeft goes down by one if it is
// positive; unlimited (-1) and used up (0) stay as they are.
func (s *Store) UseGrant(ctx context.Context, id int64) error {
	// The condition is in the WHERE clause, so the update cannot be
	// interleaved with another use and drop below zero.
	res, err := s.w.ExecContext(ctx, `UPDATE grants SET uses_left = uses_left - 1 WHERE id = ? AND uses_left > 0`, id)
	if err != nil {
		return fmt.Errorf("use grant %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("use grant %d: %w", id, err)
	} else if n == 1 {
		return nil
	}
	return s.grantExists(ctx, id)
}

// RevokeGrant revokes grant id. Revoking it again is not an error.
func (s *Store) RevokeGrant(ctx context.Context, id int64) error {
	res, err := s.w.ExecContext(ctx, `UPDATE grants SET revoked = 1 WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("revoke grant %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("revoke grant %d: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("grant %d: %w", id, ErrNotFound)
	}
	return nil
}

// SetGroupAdded records whether admin session id made its user a member
// of the administrators group.
func (s *Store) SetGroupAdded(ctx context.Context, id int64, added bool) error {
	res, err := s.w.ExecContext(ctx, `UPDATE grants SET group_added = ? WHERE id = ?`, added, id)
	if err != nil {
		return fmt.Errorf("grant %d: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("grant %d: %w", id, err)
	} else if n == 0 {
		return fmt.Errorf("grant %d: %w", id, ErrNotFound)
	}
	return nil
}

// EndedGrants returns the grants of kind that expired by now and were not
// revoked: ended without anyone ending them.
func (s *Store) EndedGrants(ctx context.Context, kind string, now time.Time) ([]Grant, error) {
	return s.queryGrants(ctx, "ended grants",
		`SELECT id, `+grantCols+` FROM grants WHERE kind = ? AND revoked = 0 AND expires <= ? ORDER BY id`, kind, nanos(now))
}

// GroupLeftover returns the admin sessions that ended (revoked, or expired
// by now) and still have their user in the administrators group.
func (s *Store) GroupLeftover(ctx context.Context, now time.Time) ([]Grant, error) {
	return s.queryGrants(ctx, "ended admin sessions",
		`SELECT id, `+grantCols+` FROM grants WHERE kind = ? AND group_added = 1 AND (revoked = 1 OR expires <= ?) ORDER BY id`,
		GrantAdmin, nanos(now))
}

// grantExists returns nil if grant id is stored, else an error wrapping
// ErrNotFound.
func (s *Store) grantExists(ctx context.Context, id int64) error {
	var one int
	err := s.w.QueryRowContext(ctx, `SELECT 1 FROM grants WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("grant %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("grant %d: %w", id, err)
	}
	return nil
}
