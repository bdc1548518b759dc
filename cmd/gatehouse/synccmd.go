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
	"sync"
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
	identity := fs.String("identity", localapi.DefaultSyncIdentity, "the identity `gatehoused enroll` wrote")
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
	keep := &identityFile{path: *identity}
	// A certificate within 30 days of expiring is renewed first, and then
	// twice a day while the sync runs.
	if err := renewIfDue(cl, keep, log); err != nil {
		fmt.Fprintf(stderr, "gatehouse sync: %v\n", err)
		return exitFail
	}
	if *statePath == "" {
		*statePath = filepath.Join(filepath.Dir(*identity), "state.json")
	}
	s, err := consolesync.New(consolesync.Options{Local: localapi.NewClient(*sock), Console: cl, State: *statePath, Logger: log,
		// After a rotation the client verifies with the new keys; keep
		// them for the next start.
		SaveKeys: func([][]byte) error { return keep.save(cl.Identity()) }})
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
				if err := renewIfDue(cl, keep, log); err != nil {
					log.Error("renewing the machine's certificate", "err", err)
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

// identityFile is where the sync keeps its identity: written next to the
// file, then renamed (the sync user owns that directory), one writer at a
// time (a renewal, a key rotation).
type identityFile struct {
	mu   sync.Mutex
	path string
}

func (f *identityFile) save(id client.Identity) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, _ := json.MarshalIndent(id, "", "  ")
	tmp := f.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("keep the identity: %w", err)
	}
	if err := os.Rename(tmp, f.path); err != nil {
		return fmt.Errorf("keep the identity: %w", err)
	}
	return nil
}

// renewBefore is how long before its certificate expires a machine renews
// it (certificates last 90 days).
const renewBefore = 30 * 24 * time.Hour

// renewIfDue renews cl's certificate when it expires within renewBefore,
// keeps the new identity and switches cl to it. The sync checks at its
// start and every renewCheck.
func renewIfDue(cl *client.Client, keep *identityFile, log *slog.Logger) error {
	exp, err := cl.Identity().Expires()
	if err != nil {
		return fmt.Errorf("the machine's certificate: %w", err)
	}
	if time.Until(exp) > renewBefore {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	renewed, err := cl.Renew(ctx)
	if err != nil {
		if time.Now().Before(exp) {
			log.Warn("renewing the machine's certificate failed; the current one still works", "expires", exp, "err", err)
			return nil
		}
		return err
	}
	if err := keep.save(renewed); err != nil {
		return err
	}
	if err := cl.Use(renewed); err != nil {
		return err
	}
	log.Info("the machine's certificate was renewed", "was_expiring", exp)
	return nil
}
