package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// User is a person who signs in to the console's pages.
type User struct {
	Name, Role string
	// Password is the argon2id hash in PHC form ("" for single sign-on
	// only); TOTPSecret the base32 secret of a second factor ("" for none).
	Password, TOTPSecret string
	TOTPUsed             int64 // the last time step whose code was used
	Failures             int
	LockedUntil, Created time.Time
	Disabled             bool
}

// ErrExists: a user of that name exists already.
var ErrExists = errors.New("exists already")

// AddUser stores u, audited as by's.
func (s *Store) AddUser(ctx context.Context, u User, by string, now time.Time) error {
	q, tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var n int
	if err := q.row(ctx, `SELECT count(*) FROM users WHERE name = ?`, u.Name).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("user %s: %w", u.Name, ErrExists)
	}
	if _, err := q.exec(ctx, `INSERT INTO users (name, role, password, totp_secret, created) VALUES (?, ?, ?, ?, ?)`,
		u.Name, u.Role, u.Password, u.TOTPSecret, nanos(now)); err != nil {
		return fmt.Errorf("add user: %w", err)
	}
	if err := audit(ctx, q, now, by, "user", fmt.Sprintf("added %s (%s)", u.Name, u.Role)); err != nil {
		return err
	}
	return tx.Commit()
}

// GetUser returns user name (ErrNotFound if none).
func (s *Store) GetUser(ctx context.Context, name string) (User, error) {
	var u User
	var locked, created int64
	err := s.r.row(ctx, `SELECT name, role, password, totp_secret, totp_used, failures, locked_until, created, disabled FROM users WHERE name = ?`, name).
		Scan(&u.Name, &u.Role, &u.Password, &u.TOTPSecret, &u.TOTPUsed, &u.Failures, &locked, &created, &u.Disabled)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, fmt.Errorf("user %s: %w", name, ErrNotFound)
	}
	u.LockedUntil, u.Created = fromNanos(locked), fromNanos(created)
	return u, err
}

// SetPassword replaces user name's password hash, clears its lock-out
// and ends its sessions, audited as by's.
func (s *Store) SetPassword(ctx context.Context, name, hash, by string, now time.Time) error {
	q, tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := q.exec(ctx, `UPDATE users SET password = ?, failures = 0, locked_until = 0 WHERE name = ?`, hash, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("user %s: %w", name, ErrNotFound)
	}
	if _, err := q.exec(ctx, `DELETE FROM sessions WHERE user_name = ?`, name); err != nil {
		return err
	}
	if err := audit(ctx, q, now, by, "user", "set the password of "+name); err != nil {
		return err
	}
	return tx.Commit()
}

// SetTOTP gives user name a one-time-code secret ("" removes it), audited.
func (s *Store) SetTOTP(ctx context.Context, name, secret, by string, now time.Time) error {
	q, tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := q.exec(ctx, `UPDATE users SET totp_secret = ?, totp_used = 0 WHERE name = ?`, secret, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("user %s: %w", name, ErrNotFound)
	}
	what := "gave " + name + " a one-time-code secret"
	if secret == "" {
		what = "removed " + name + "'s one-time-code secret"
	}
	if err := audit(ctx, q, now, by, "user", what); err != nil {
		return err
	}
	return tx.Commit()
}

// UseTOTP records that user name used the code of time step: false when
// that step (or a later one) was used already, so that a code works once
// even on two nodes at once.
func (s *Store) UseTOTP(ctx context.Context, name string, step int64) (bool, error) {
	res, err := s.w.exec(ctx, `UPDATE users SET totp_used = ? WHERE name = ? AND totp_used < ?`, step, name, step)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// LoginFailed counts a failed sign-in of user name; the max-th failure in a
// row locks the account until now+lockFor (audited). It returns whether
// the account is locked now.
func (s *Store) LoginFailed(ctx context.Context, name string, now time.Time, max int, lockFor time.Duration) (bool, error) {
	q, tx, err := s.begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	var failures int
	err = q.row(ctx, `SELECT failures FROM users WHERE name = ?`+q.forUpdate(), name).Scan(&failures)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // no such user: nothing to count
	}
	if err != nil {
		return false, err
	}
	failures++
	locked := failures >= max
	if locked {
		if err := audit(ctx, q, now, name, "lock-out", fmt.Sprintf("%d failed sign-ins in a row: locked until %s", max, now.Add(lockFor).UTC().Format(time.RFC3339))); err != nil {
			return false, err
		}
		_, err = q.exec(ctx, `UPDATE users SET failures = 0, locked_until = ? WHERE name = ?`, nanos(now.Add(lockFor)), name)
	} else {
		_, err = q.exec(ctx, `UPDATE users SET failures = ? WHERE name = ?`, failures, name)
	}
	if err != nil {
		return false, err
	}
	return locked, tx.Commit()
}

// Session is a signed-in person's session.
type Session struct {
	User, Role string
	CSRF       string
	Expires    time.Time
}

// NewSession stores a session of user by the hash of its cookie and
// clears the user's failures, audited.
func (s *Store) NewSession(ctx context.Context, hash, user, csrf string, now, expires time.Time) error {
	q, tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := q.exec(ctx, `UPDATE users SET failures = 0 WHERE name = ?`, user); err != nil {
		return err
	}
	if _, err := q.exec(ctx, `DELETE FROM sessions WHERE expires < ?`, nanos(now)); err != nil {
		return err
	}
	if _, err := q.exec(ctx, `INSERT INTO sessions (hash, user_name, csrf, created, expires, last_seen) VALUES (?, ?, ?, ?, ?, ?)`,
		hash, user, csrf, nanos(now), nanos(expires), nanos(now)); err != nil {
		return fmt.Errorf("new session: %w", err)
	}
	if err := audit(ctx, q, now, user, "sign-in", "signed in"); err != nil {
		return err
	}
	return tx.Commit()
}

// GetSession returns the live session whose cookie hashes to hash: not
// expired, its user not disabled (ErrNotFound otherwise).
func (s *Store) GetSession(ctx context.Context, hash string, now time.Time) (Session, error) {
	var ss Session
	var exp int64
	err := s.r.row(ctx, `SELECT s.user_name, u.role, s.csrf, s.expires FROM sessions s JOIN users u ON u.name = s.user_name
		WHERE s.hash = ? AND s.expires > ? AND u.disabled = FALSE`, hash, nanos(now)).Scan(&ss.User, &ss.Role, &ss.CSRF, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return Session{}, ErrNotFound
	}
	ss.Expires = fromNanos(exp)
	return ss, err
}

// EndSession deletes the session whose cookie hashes to hash.
func (s *Store) EndSession(ctx context.Context, hash string) error {
	_, err := s.w.exec(ctx, `DELETE FROM sessions WHERE hash = ?`, hash)
	return err
}
