package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/console/client"
	"github.com/gatehouse/gatehouse/consolesync"
	"github.com/gatehouse/gatehouse/localapi"
)

// cmdSync is `gatehouse sync`: the sync service between gatehoused and the
// console this machine enrolled with (`gatehoused enroll`). Run it as
// gatehoused's sync_user.
func cmdSync(args []string, stdout, stderr io.Writer) int {
	fs, sock := clientFlags("gatehouse sync", "gatehouse sync [--identity FILE] [--state FILE] [--socket PATH]", stderr)
	identity := fs.String("identity", "/var/lib/gatehouse-sync/identity.json", "the identity `gatehoused enroll` wrote")
	statePath := fs.String("state", "", "where the sync keeps its place (default state.json next to the identity)")
	if pos, err := parseArgs(fs, args); err != nil {
		return flagErr(err)
	} else if len(pos) > 0 {
		fs.Usage()
		return exitUsage
	}
	b, err := os.ReadFile(*identity)
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse sync: %v (enroll this machine first: sudo gatehoused enroll URL TOKEN)\n", err)
		return exitFail
	}
	var id client.Identity
	if err := json.Unmarshal(b, &id); err != nil {
		fmt.Fprintf(stderr, "gatehouse sync: %s: %v\n", *identity, err)
		return exitFail
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cl, err := client.New(id)
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse sync: %v\n", err)
		return exitFail
	}
	// A certificate within 30 days of expiring is renewed first, and then
	// twice a day while the sync runs.
	if id, err = renewIfDue(cl, id, *identity, log); err != nil {
		fmt.Fprintf(stderr, "gatehouse sync: %v\n", err)
		return exitFail
	}
	if *statePath == "" {
		*statePath = filepath.Join(filepath.Dir(*identity), "state.json")
	}
	s, err := consolesync.New(consolesync.Options{Local: localapi.NewClient(*sock), Console: cl, State: *statePath, Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse sync: %v\n", err)
		return exitFail
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stdout, "gatehouse sync: machine %s with %s\n", id.MachineID, id.URL)
	go func() {
		t := time.NewTicker(renewCheck)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if next, err := renewIfDue(cl, id, *identity, log); err != nil {
					log.Error("renewing the machine's certificate", "err", err)
				} else {
					id = next
				}
			}
		}
	}()
	s.Run(ctx)
	return exitOK
}

// renewCheck is how often a running sync looks whether its certificate is
// due for renewal.
const renewCheck = 12 * time.Hour

// renewBefore is how long before its certificate expires a machine renews
// it (certificates last 90 days).
const renewBefore = 30 * 24 * time.Hour

// renewIfDue renews id's certificate (cl speaks with it) when it expires
// within renewBefore, keeps the new identity at path (written next to it,
// then renamed: the sync user owns that directory) and switches cl to it.
// The sync checks at its start and every renewCheck.
func renewIfDue(cl *client.Client, id client.Identity, path string, log *slog.Logger) (client.Identity, error) {
	exp, err := id.Expires()
	if err != nil {
		return id, fmt.Errorf("the machine's certificate: %w", err)
	}
	if time.Until(exp) > renewBefore {
		return id, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	renewed, err := cl.Renew(ctx)
	if err != nil {
		if time.Now().Before(exp) {
			log.Warn("renewing the machine's certificate failed; the current one still works", "expires", exp, "err", err)
			return id, nil
		}
		return id, err
	}
	b, _ := json.MarshalIndent(renewed, "", "  ")
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return id, fmt.Errorf("keep the renewed identity: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return id, fmt.Errorf("keep the renewed identity: %w", err)
	}
	if err := cl.Use(renewed); err != nil {
		return id, err
	}
	log.Info("the machine's certificate was renewed", "was_expiring", exp)
	return renewed, nil
}
