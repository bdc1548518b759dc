package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/gatehouse/gatehouse/internal/sqlitedb"
)

// notifyChannel carries the changes long polls wait for between console
// nodes: the payload is the machine id, "" for any.
const notifyChannel = "gatehouse_console"

// Advisory lock keys (pg_advisory_xact_lock), from the names, so that they
// do not clash with another program's on a shared server.
var (
	migrateLock = lockKey("gatehouse-console migrate")
	eventsLock  = lockKey("gatehouse-console events")
)

func lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// PostgresPool is how many connections a node keeps to PostgreSQL for its
// queries (one more listens for other nodes' changes).
const PostgresPool = 16

// OpenPostgres connects to the PostgreSQL database dsn (a postgres:// URL
// or "host=... dbname=..." keywords, as libpq takes them) and brings its
// schema up to date; several nodes may do so at once. A goroutine listens
// for the changes other nodes make (Watch) until Close, reconnecting with
// backoff; log hears why it lost the connection.
func OpenPostgres(ctx context.Context, dsn string, log *slog.Logger) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("PostgreSQL connection string: %w", err)
	}
	pool := stdlib.OpenDB(*cfg)
	pool.SetMaxOpenConns(PostgresPool)
	pool.SetMaxIdleConns(PostgresPool)
	pool.SetConnMaxIdleTime(5 * time.Minute)
	pctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := pool.PingContext(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to PostgreSQL (%s): %w", describe(cfg), err)
	}
	if err := migratePostgres(pctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("PostgreSQL database %s: %w", cfg.Database, err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	lctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	s := &Store{pg: true, wdb: pool, w: db{h: pool, pg: true}, r: db{h: pool, pg: true}}
	s.closed = func() error {
		stop()
		<-done
		return pool.Close()
	}
	go func() {
		defer close(done)
		s.listen(lctx, cfg, log)
	}()
	return s, nil
}

func describe(cfg *pgx.ConnConfig) string {
	return fmt.Sprintf("host %s port %d, database %s, user %s", cfg.Host, cfg.Port, cfg.Database, cfg.User)
}

// migratePostgres applies the migrations the database lacks in one
// transaction, holding an advisory lock so that nodes starting together
// migrate once. The version is kept in schema_version (PostgreSQL has no
// user_version).
func migratePostgres(ctx context.Context, pool *sql.DB) error {
	sub, err := fs.Sub(migrationFiles, "migrations/postgres")
	if err != nil {
		return err
	}
	migs, err := sqlitedb.Migrations(sub)
	if err != nil {
		return err
	}
	tx, err := pool.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, migrateLock); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)`); err != nil {
		return err
	}
	var v int
	err = tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return err
		}
	} else if err != nil {
		return err
	}
	switch {
	case v > len(migs):
		return fmt.Errorf("schema version %d is newer than this gatehouse-console (%d); upgrade gatehouse-console on every node", v, len(migs))
	case v == len(migs):
		return tx.Commit()
	}
	for _, m := range migs[v:] {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("migration %s: %w", m.Name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = $1`, len(migs)); err != nil {
		return err
	}
	return tx.Commit()
}

// listen hears the changes every node announces (announce) on a
// connection of its own and passes them to the watchers. After a lost
// connection it wakes every watcher (a change may have been missed) once
// it listens again.
func (s *Store) listen(ctx context.Context, cfg *pgx.ConnConfig, log *slog.Logger) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := s.listenOnce(ctx, cfg, func() { backoff = 100 * time.Millisecond })
		if ctx.Err() != nil {
			return
		}
		log.Warn("console: lost the PostgreSQL connection that hears other nodes' changes; reconnecting", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

func (s *Store) listenOnce(ctx context.Context, cfg *pgx.ConnConfig, listening func()) error {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	listening()
	s.changed("")
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		s.changed(n.Payload)
	}
}
