// Package pgtest gives a test or a benchmark a PostgreSQL database of its
// own on a server it is given — for tests, the one scripts/test starts
// (scripts/postgres), whose connection string is in GATEHOUSE_TEST_POSTGRES.
// Each database is new, and dropped when the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Env names the variable holding the test server's connection string.
const Env = "GATEHOUSE_TEST_POSTGRES"

// DSN creates a database for t and returns its connection string. Without
// a server the test skips, saying how to get one, except under CI, where
// scripts/test always starts one: there it fails.
func DSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(Env)
	if base == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("needs PostgreSQL: %s is not set, and scripts/test sets it under CI", Env)
		}
		t.Skipf("needs PostgreSQL: run through scripts/test, or set %s to a server's connection string (scripts/postgres start DIR prints one)", Env)
	}
	dsn, drop, err := NewDatabase(base, "gatehouse_test")
	if err != nil {
		t.Fatalf("%s: %v", Env, err)
	}
	t.Cleanup(func() {
		if err := drop(); err != nil {
			t.Logf("%v", err)
		}
	})
	return dsn
}

// NewDatabase creates a database named prefix_<random> on the server base
// connects to and returns its connection string and what drops it.
func NewDatabase(base, prefix string) (dsn string, drop func() error, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		return "", nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	defer admin.Close(context.Background())
	b := make([]byte, 6)
	rand.Read(b)
	name := prefix + "_" + hex.EncodeToString(b)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	if dsn, err = withDatabase(base, name); err != nil {
		return "", nil, err
	}
	drop = func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err == nil {
			_, err = c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
			c.Close(context.Background())
		}
		if err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	return dsn, drop, nil
}

// withDatabase is dsn naming database name instead.
func withDatabase(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "", err
		}
		u.Path = "/" + name
		return u.String(), nil
	}
	return dsn + " dbname=" + name, nil // the last of a repeated keyword counts
}
