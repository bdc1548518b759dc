package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/console/pgtest"
)

// pgServer is the PostgreSQL server the runs use: -dsn, or a private one
// from scripts/postgres, stopped (and its directory removed) at exit.
type pgServer struct {
	dsn      string
	settings string // what it runs with, for the output
}

func startPostgres(dsn string) *pgServer {
	pg := &pgServer{dsn: dsn}
	what := "the server -dsn names"
	if dsn == "" {
		script := findScript("scripts/postgres")
		dir, err := os.MkdirTemp("", "benchconsole-pg-")
		check(err)
		atExit(func() {
			cmd := exec.Command("bash", script, "stop", dir)
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "benchconsole: scripts/postgres stop %s: %v\n", dir, err)
			}
			os.RemoveAll(dir)
		})
		fmt.Printf("starting a private PostgreSQL server (scripts/postgres start %s; default durability, no fsync=off)…\n", dir)
		var out bytes.Buffer
		cmd := exec.Command("bash", script, "start", dir)
		cmd.Stdout, cmd.Stderr = &out, os.Stderr
		check(cmd.Run())
		pg.dsn = strings.TrimSpace(out.String())
		what = "private server from scripts/postgres"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, pg.dsn)
	if err != nil {
		fail("connect to PostgreSQL: %v", err)
	}
	defer c.Close(context.Background())
	var parts []string
	for _, s := range []string{"server_version", "fsync", "synchronous_commit", "full_page_writes", "wal_level", "shared_buffers", "max_connections"} {
		var v string
		check(c.QueryRow(ctx, "SHOW "+s).Scan(&v))
		if s == "server_version" {
			v, _, _ = strings.Cut(v, " ")
		}
		parts = append(parts, s+"="+v)
	}
	pg.settings = what + ": " + strings.Join(parts, ", ")
	return pg
}

// pgDatabase is one run's database, new on the server.
type pgDatabase struct {
	dsn  string
	drop func()
}

func (pg *pgServer) newDatabase() *pgDatabase {
	dsn, drop, err := pgtest.NewDatabase(pg.dsn, "bench")
	if err != nil {
		fail("%v", err)
	}
	db := &pgDatabase{dsn: dsn}
	dropped := false
	db.drop = func() {
		if dropped {
			return
		}
		dropped = true
		if err := drop(); err != nil {
			fmt.Fprintf(os.Stderr, "benchconsole: %v\n", err)
		}
	}
	atExit(db.drop)
	return db
}

// findScript finds the repository's file rel from the working directory
// or one of its parents.
func findScript(rel string) string {
	dir, err := os.Getwd()
	check(err)
	for {
		p := filepath.Join(dir, rel)
		if _, err := os.Stat(p); err == nil {
			return p
		} else if !errors.Is(err, os.ErrNotExist) {
			check(err)
		}
		up := filepath.Dir(dir)
		if up == dir {
			fail("%s not found here or above: run from the repository", rel)
		}
		dir = up
	}
}
