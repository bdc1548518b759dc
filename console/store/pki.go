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
	if err := putPKI(ctx, q, files); err != nil {
		return nil, false, err
	}
	if err := audit(ctx, q, now, "console", "pki", "created the console's CA and signing key"); err != nil {
		return nil, false, err
	}
	return files, true, tx.Commit()
}

func putPKI(ctx context.Context, q db, files map[string][]byte) error {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if _, err := q.exec(ctx, `INSERT INTO pki (name, data) VALUES (?, ?)`, name, files[name]); err != nil {
			return fmt.Errorf("store console PKI: %w", err)
		}
	}
	return nil
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

// PKIChanged is what Watch hears when another node saved new signing keys
// (SavePKI): never a machine id, which is hex.
const PKIChanged = "pki!"

// PKI returns the authority's files as the database holds them.
func (s *Store) PKI(ctx context.Context) (map[string][]byte, error) { return pkiFiles(ctx, s.r) }

// SavePKI replaces the stored authority with files (after a signing-key
// rotation: the CA is the same) and tells every node (Watch: PKIChanged).
func (s *Store) SavePKI(ctx context.Context, files map[string][]byte, by, detail string, now time.Time) error {
	q, tx, err := s.begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := q.exec(ctx, `DELETE FROM pki`); err != nil {
		return fmt.Errorf("store console PKI: %w", err)
	}
	if err := putPKI(ctx, q, files); err != nil {
		return err
	}
	if err := audit(ctx, q, now, by, "signing-key", detail); err != nil {
		return err
	}
	return s.commitChange(ctx, q, tx, PKIChanged)
}
