package store

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// pkiLock serializes the first start of several nodes (InitPKI).
var pkiLock = lockKey("gatehouse-console pki")

// InitPKI returns the console's authority as stored in the database (its
// files by name, console/pki's Files). When none is stored it stores the
// one create makes and returns that (created true). Nodes starting together
// on one PostgreSQL agree on one authority: the first to get here makes
// it, the others load it.
func (s *Store) InitPKI(ctx context.Context, now time.Time, create func() (map[string][]byte, error)) (files map[string][]byte, created bool, err error) {
	q, tx, err := s.begin(ctx)
	if err != nil {
		return nil, false, err
	}
	defer tx.Rollback()
	if s.pg {
		if _, err := q.exec(ctx, `SELECT pg_advisory_xact_lock(?)`, pkiLock); err != nil {
			return nil, false, fmt.Errorf("console PKI: %w", err)
		}
	}
	if files, err = pkiFiles(ctx, q); err != nil || len(files) > 0 {
		return files, false, err
	}
	if files, err = create(); err != nil {
		return nil, false, err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if _, err := q.exec(ctx, `INSERT INTO pki (name, data) VALUES (?, ?)`, name, files[name]); err != nil {
			return nil, false, fmt.Errorf("store console PKI: %w", err)
		}
	}
	if err := audit(ctx, q, now, "console", "pki", "created the console's CA and signing key"); err != nil {
		return nil, false, err
	}
	return files, true, tx.Commit()
}

func pkiFiles(ctx context.Context, q db) (map[string][]byte, error) {
	rows, err := q.query(ctx, `SELECT name, data FROM pki`)
	if err != nil {
		return nil, fmt.Errorf("read console PKI: %w", err)
	}
	defer rows.Close()
	files := map[string][]byte{}
	for rows.Next() {
		var name string
		var data []byte
		if err := rows.Scan(&name, &data); err != nil {
			return nil, fmt.Errorf("read console PKI: %w", err)
		}
		files[name] = data
	}
	return files, rows.Err()
}
