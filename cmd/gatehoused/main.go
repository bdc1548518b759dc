// Command gatehoused is Gatehouse's enforcer: the root daemon that holds
// every program start at the kernel, decides it against the policy and
// serves the local API for the CLI and the per-user agent.
//
// Signals: SIGHUP reloads the policy; SIGINT and SIGTERM stop the daemon
// (the kernel then allows anything still waiting).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/gatehouse/gatehouse/enforcer"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	if len(args) > 0 && args[0] == "enroll" {
		return enroll(args[1:], os.Stdout, os.Stderr)
	}
	fs := flag.NewFlagSet("gatehoused", flag.ContinueOnError)
	cfgPath := fs.String("config", enforcer.DefaultConfigPath, "configuration `file` (missing default file = defaults)")
	pol := fs.String("policy", "", "policy `file` (overrides the configuration; builtin:example = the bundled example)")
	db := fs.String("db", "", "SQLite `file` (overrides the configuration)")
	sock := fs.String("socket", "", "local API socket `path` (overrides the configuration)")
	var mounts multiFlag
	fs.Var(&mounts, "mount", "watch only the filesystem holding `path` (repeatable; overrides the configuration)")
	debugLog := fs.Bool("debug", false, "log debug messages")
	jsonLog := fs.Bool("json-log", false, "log JSON lines instead of text")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	level := slog.LevelInfo
	if *debugLog {
		level = slog.LevelDebug
	}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})
	if *jsonLog {
		h = slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level})
	}
	log := slog.New(h)
	slog.SetDefault(log)

	cfg, err := enforcer.LoadConfig(*cfgPath)
	if err != nil {
		log.Error("configuration", "err", err)
		return 1
	}
	if *pol != "" {
		cfg.Policy = *pol
	}
	if *db != "" {
		cfg.Database = *db
	}
	if *sock != "" {
		cfg.Socket = *sock
	}
	if len(mounts) > 0 {
		cfg.Mounts = mounts
	}
	if os.Getenv("GOGC") == "" {
		// The live heap is mostly the compiled policy and the facts
		// cache, both long-lived, and an exec allocates about 1.6 KB:
		// collecting when the heap has grown by 10% keeps the resident
		// size within 40 MB at 10,000 rules and 100,000 cached files, for
		// about 1% of the daemon's CPU (docs/benchmarks.md). A fixed
		// memory limit would do the same only until the live heap neared
		// it, and then collect without pause on the exec path.
		debug.SetGCPercent(10)
	}
	if os.Geteuid() != 0 {
		log.Error("gatehoused must run as root: it holds every program start at the kernel and reads every user's processes; start it with sudo or as a system service")
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := serve(ctx, cfg, log); err != nil {
		log.Error("gatehoused stopped", "err", err)
		return 1
	}
	return 0
}

type multiFlag []string

func (m *multiFlag) String() string { return fmt.Sprint([]string(*m)) }
func (m *multiFlag) Set(v string) error {
	if v == "" {
		return errors.New("empty path")
	}
	*m = append(*m, v)
	return nil
}
