// Package store is the console's database: enrolled machines and the
// tokens that enroll them, the approval requests endpoints upload, the
// approvers' votes and the signed decisions each machine collects, API
// tokens, and the audit of every change. SQLite (internal/sqlitedb: one
// writer, WAL, embedded migrations) is the default; PostgreSQL (pgx) holds
// the same schema for several console nodes (postgres.go). Queries are
// written once, with ? placeholders (db.bind gives PostgreSQL its $n).
package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/internal/sqlitedb"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrationFiles embed.FS

// Errors callers tell apart (wrapped).
var (
	ErrNotFound = errors.New("not found")
	// ErrToken: the enrollment token is unknown, expired or used up. One
	// error for the three, so a guesser learns nothing.
	ErrToken = errors.New("the enrollment token is unknown, expired or used up: ask an administrator for a new one (gatehouse-console token enroll)")
	// ErrDecided: the request was decided already.
	ErrDecided = errors.New("the request is decided already")
	// ErrVoted: this approver has voted on the request already.
	ErrVoted = errors.New("you have voted on this request already; each person counts once")
)

// Store is the console's database; safe for concurrent use.
type Store struct {
	pg     bool
	wdb    *sql.DB // writes (SQLite: its one writer connection)
	w, r   db      // writes and reads, in the store's dialect
	closed func() error

	mu       sync.Mutex
	watchers []func(machine string)
}

// Open opens (creating) the SQLite database at path.
func Open(path string) (*Store, error) {
	sub, err := fs.Sub(migrationFiles, "migrations/sqlite")
	if err != nil {
		return nil, err
	}
	w, r, err := sqlitedb.Open(path, sqlitedb.Options{Migrations: sub, Product: "gatehouse-console"})
	if err != nil {
		return nil, err
	}
	return &Store{wdb: w, w: db{h: w}, r: db{h: r}, closed: func() error { return errors.Join(r.Close(), w.Close()) }}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.closed() }

// Postgres reports whether the store is on PostgreSQL.
func (s *Store) Postgres() bool { return s.pg }

// db runs the store's queries on a handle (a pool, a transaction) in the
// store's dialect.
type db struct {
	h interface {
		ExecContext(context.Context, string, ...any) (sql.Result, error)
		QueryContext(context.Context, string, ...any) (*sql.Rows, error)
		QueryRowContext(context.Context, string, ...any) *sql.Row
	}
	pg bool
}

func (d db) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return d.h.ExecContext(ctx, d.bind(q), args...)
}

func (d db) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return d.h.QueryContext(ctx, d.bind(q), args...)
}

func (d db) row(ctx context.Context, q string, args ...any) *sql.Row {
	return d.h.QueryRowContext(ctx, d.bind(q), args...)
}

// bind gives PostgreSQL its numbered placeholders ($1, $2...) for the ?s
// the queries are written with (none of them holds a ? otherwise).
func (d db) bind(q string) string {
	if !d.pg || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// forUpdate locks the rows a transaction's SELECT reads until it ends, on
// PostgreSQL, where other nodes write at the same time; SQLite's one
// writer needs no lock.
func (d db) forUpdate() string {
	if d.pg {
		return " FOR UPDATE"
	}
	return ""
}

// begin starts a write transaction.
func (s *Store) begin(ctx context.Context) (db, *sql.Tx, error) {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return db{}, nil, err
	}
	return db{h: tx, pg: s.pg}, tx, nil
}

// Watch calls fn after every change a machine's long polls wait for: a
// decision for machine, or a policy stored or assigned ("": any machine).
// On PostgreSQL it is called for changes other nodes make as well, and
// with "" after the connection that hears them was lost and is back.
// fn must not block.
func (s *Store) Watch(fn func(machine string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.watchers = append(s.watchers, fn)
}

func (s *Store) changed(machine string) {
	s.mu.Lock()
	ws := s.watchers
	s.mu.Unlock()
	for _, fn := range ws {
		fn(machine)
	}
}

// announce tells the other nodes, when tx commits, that machine changed
// ("": any): PostgreSQL delivers a NOTIFY only on commit.
func announce(ctx context.Context, tx db, machine string) error {
	if !tx.pg {
		return nil
	}
	if _, err := tx.exec(ctx, `SELECT pg_notify('`+notifyChannel+`', ?)`, machine); err != nil {
		return fmt.Errorf("notify: %w", err)
	}
	return nil
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

func jsonList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func parseList(s string) []string {
	var v []string
	_ = json.Unmarshal([]byte(s), &v)
	return v
}

// Machine is one enrolled endpoint.
type Machine struct {
	ID, Hostname   string
	OfflineName    string // in its offline challenges ("": Hostname)
	Tags           []string
	Enrolled       time.Time
	LastSeen       time.Time
	PolicyRevision int64
	OfflineSecret  []byte
	CertSerial     string
	Revoked        bool
	// What it runs, as its sync last reported ("" and none before).
	DaemonVersion, SyncVersion string
	Agents                     []AgentVersion
}

// AgentVersion is one user's agent on a machine.
type AgentVersion struct {
	User     string    `json:"user"`
	Version  string    `json:"version"`
	LastSeen time.Time `json:"last_seen"`
}

// AddEnrollToken stores an enrollment token by the hash of its secret.
// uses -1 is unlimited until it expires.
func (s *Store) AddEnrollToken(ctx context.Context, hash string, expires time.Time, uses int, tags []string, by string, now time.Time) error {
	_, err := s.w.exec(ctx, `INSERT INTO enroll_tokens (hash, created, expires, uses_left, tags, created_by) VALUES (?, ?, ?, ?, ?, ?)`,
		hash, nanos(now), nanos(expires), uses, jsonList(tags), by)
	if err != nil {
		return fmt.Errorf("add enrollment token: %w", err)
	}
	return nil
}

// Enroll takes one use of the token and records m, with the token's tags
// added to m's, in one transaction: a token used up by another enrollment
// meanwhile enrolls nothing.
func (s *Store) Enroll(ctx context.Context, tokenHash string, m Machine, now time.Time) (Machine, error) {
	q, tx, err := s.begin(ctx)
	if err != nil {
		return Machine{}, fmt.Errorf("enroll: %w", err)
	}
	defer tx.Rollback()
	var expires int64
	var uses int
	var tags string
	err = q.row(ctx, `SELECT expires, uses_left, tags FROM enroll_tokens WHERE hash = ?`+q.forUpdate(), tokenHash).Scan(&expires, &uses, &tags)
	if errors.Is(err, sql.ErrNoRows) || err == nil && (uses == 0 || now.UnixNano() >= expires) {
		return Machine{}, ErrToken
	}
	if err != nil {
		return Machine{}, fmt.Errorf("enroll: %w", err)
	}
	if uses > 0 {
		if _, err := q.exec(ctx, `UPDATE enroll_tokens SET uses_left = uses_left - 1 WHERE hash = ?`, tokenHash); err != nil {
			return Machine{}, fmt.Errorf("enroll: %w", err)
		}
	}
	m.Tags = append(m.Tags, parseList(tags)...)
	m.Enrolled = now
	if _, err := q.exec(ctx, `INSERT INTO machines (id, hostname, offline_name, tags, enrolled, offline_secret, cert_serial) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.Hostname, m.OfflineName, jsonList(m.Tags), nanos(now), m.OfflineSecret, m.CertSerial); err != nil {
		return Machine{}, fmt.Errorf("enroll: %w", err)
	}
	if err := audit(ctx, q, now, "token "+tokenHash[:min(12, len(tokenHash))], "enroll", fmt.Sprintf("machine %s (%s), tags %v", m.ID, m.Hostname, m.Tags)); err != nil {
		return Machine{}, err
	}
	return m, tx.Commit()
}

const machineCols = `id, hostname, offline_name, tags, enrolled, last_seen, policy_revision, offline_secret, cert_serial, revoked,
	daemon_version, sync_version, agents`

func scanMachine(sc interface{ Scan(...any) error }) (Machine, error) {
	var m Machine
	var tags, agents string
	var enrolled, seen int64
	err := sc.Scan(&m.ID, &m.Hostname, &m.OfflineName, &tags, &enrolled, &seen, &m.PolicyRevision, &m.OfflineSecret, &m.CertSerial, &m.Revoked,
		&m.DaemonVersion, &m.SyncVersion, &agents)
	m.Tags, m.Enrolled, m.LastSeen = parseList(tags), fromNanos(enrolled), fromNanos(seen)
	_ = json.Unmarshal([]byte(agents), &m.Agents)
	return m, err
}

// ReportVersions records what machine id runs.
func (s *Store) ReportVersions(ctx context.Context, id, daemon, sync string, agents []AgentVersion) error {
	if agents == nil {
		agents = []AgentVersion{}
	}
	b, err := json.Marshal(agents)
	if err != nil {
		return err
	}
	_, err = s.w.exec(ctx, `UPDATE machines SET daemon_version = ?, sync_version = ?, agents = ? WHERE id = ?`, daemon, sync, string(b), id)
	return err
}

// Machine returns the machine id.
func (s *Store) Machine(ctx context.Context, id string) (Machine, error) {
	m, err := scanMachine(s.r.row(ctx, `SELECT `+machineCols+` FROM machines WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Machine{}, fmt.Errorf("machine %s: %w", id, ErrNotFound)
	}
	return m, err
}

// Machines lists every machine, by hostname.
func (s *Store) Machines(ctx context.Context) ([]Machine, error) {
	rows, err := s.r.query(ctx, `SELECT `+machineCols+` FROM machines ORDER BY hostname, id`)
	if err != nil {
		return nil, fmt.Errorf("list machines: %w", err)
	}
	defer rows.Close()
	var out []Machine
	for rows.Next() {
		m, err := scanMachine(rows)
		if err != nil {
			return nil, fmt.Errorf("list machines: %w", err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Seen records that machine id was in touch now.
func (s *Store) Seen(ctx context.Context, id string, now time.Time) error {
	_, err := s.w.exec(ctx, `UPDATE machines SET last_seen = ? WHERE id = ?`, nanos(now), id)
	return err
}

// Revoke marks machine id revoked: its certificate is refused from then on.
func (s *Store) Revoke(ctx context.Context, id, by string, now time.Time) error {
	q, tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := q.exec(ctx, `UPDATE machines SET revoked = TRUE WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("revoke %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("machine %s: %w", id, ErrNotFound)
	}
	if err := audit(ctx, q, now, by, "revoke", "machine "+id); err != nil {
		return err
	}
	return tx.Commit()
}

// audit records a change in tx.
func audit(ctx context.Context, tx db, now time.Time, actor, action, detail string) error {
	if _, err := tx.exec(ctx, `INSERT INTO audit (at, actor, action, detail) VALUES (?, ?, ?, ?)`, nanos(now), actor, action, detail); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// Record audits a change made outside a store transaction (a code issued).
func (s *Store) Record(ctx context.Context, now time.Time, actor, action, detail string) error {
	q, tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := audit(ctx, q, now, actor, action, detail); err != nil {
		return err
	}
	return tx.Commit()
}

// AuditEntry is one recorded change.
type AuditEntry struct {
	ID                    int64
	At                    time.Time
	Actor, Action, Detail string
}

// Audit lists the recorded changes, oldest first.
func (s *Store) Audit(ctx context.Context) ([]AuditEntry, error) {
	rows, err := s.r.query(ctx, `SELECT id, at, actor, action, detail FROM audit ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []AuditEntry
	for rows.Next() {
		var a AuditEntry
		var at int64
		if err := rows.Scan(&a.ID, &at, &a.Actor, &a.Action, &a.Detail); err != nil {
			return nil, err
		}
		a.At = fromNanos(at)
		out = append(out, a)
	}
	return out, rows.Err()
}

// Token is an API token's holder.
type Token struct {
	Name, Role string
}

// AddAPIToken stores an API token by its hash.
func (s *Store) AddAPIToken(ctx context.Context, hash string, t Token, by string, now time.Time) error {
	q, tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := q.exec(ctx, `INSERT INTO api_tokens (hash, name, role, created) VALUES (?, ?, ?, ?)`, hash, t.Name, t.Role, nanos(now)); err != nil {
		return fmt.Errorf("add API token: %w", err)
	}
	if err := audit(ctx, q, now, by, "api-token", fmt.Sprintf("%s (%s)", t.Name, t.Role)); err != nil {
		return err
	}
	return tx.Commit()
}

// APIToken returns the holder of the token with hash, ErrNotFound if none
// or revoked.
func (s *Store) APIToken(ctx context.Context, hash string) (Token, error) {
	var t Token
	err := s.r.row(ctx, `SELECT name, role FROM api_tokens WHERE hash = ? AND revoked = FALSE`, hash).Scan(&t.Name, &t.Role)
	if errors.Is(err, sql.ErrNoRows) {
		return Token{}, ErrNotFound
	}
	return t, err
}

// RequestsChanged is what Watch hears when a request is uploaded or voted
// on (the pages' live queue): never a machine id, which is hex.
const RequestsChanged = "requests!"

// commitChange announces a change to machine ("": any) and commits tx,
// then wakes this node's watchers.
func (s *Store) commitChange(ctx context.Context, q db, tx *sql.Tx, machine string) error {
	if err := announce(ctx, q, machine); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.changed(machine)
	return nil
}
