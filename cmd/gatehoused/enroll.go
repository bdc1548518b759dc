package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/console/client"
	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/facts"
	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/offline"
)

// defaultSyncIdentity is where the sync service's identity goes.
const defaultSyncIdentity = localapi.DefaultSyncIdentity

// lookupUser finds an account (tests replace it).
var lookupUser = user.Lookup

// enroll is `gatehoused enroll URL TOKEN`: as root, it enrolls this machine
// with the console at URL, escrows the machine's offline secret there,
// writes what gatehoused pins (console.json: the machine id and the
// console's signing keys, root's) and the sync service's identity (its
// certificate and key, readable by the sync user only).
func enroll(args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("gatehoused enroll", flag.ContinueOnError)
	fset.SetOutput(stderr)
	cfgPath := fset.String("config", enforcer.DefaultConfigPath, "gatehoused's configuration `file`")
	identity := fset.String("identity", defaultSyncIdentity, "where the sync service's identity is written")
	hostname := fset.String("hostname", "", "the name the console shows (default this host's name)")
	if err := fset.Parse(args); err != nil {
		return 2
	}
	if fset.NArg() != 2 {
		fmt.Fprintln(stderr, "usage: gatehoused enroll [--config FILE] [--identity FILE] [--hostname NAME] URL TOKEN")
		return 2
	}
	url, token := fset.Arg(0), fset.Arg(1)
	cfg, err := enforcer.LoadConfig(*cfgPath)
	if err != nil {
		fmt.Fprintln(stderr, "gatehoused enroll:", err)
		return 1
	}
	// Who the sync runs as, checked before the console is asked: a
	// single-use token is spent by the enrollment.
	uid := -1
	if cfg.SyncUser != "" {
		u, err := lookupUser(cfg.SyncUser)
		if err != nil {
			fmt.Fprintf(stderr, "gatehoused enroll: sync_user %s in %s: %v; nothing was sent to the console\n", cfg.SyncUser, *cfgPath, err)
			return 1
		}
		uid, _ = strconv.Atoi(u.Uid)
	} else if *identity == defaultSyncIdentity {
		if _, err := lookupUser(packagedSyncUser); err == nil {
			fmt.Fprintf(stderr, "gatehoused enroll: the packaged sync service (%s) runs as %s, but sync_user is empty in %s (an upgrade keeps an edited configuration), so it could not read its identity: set \"sync_user: %s\" there and run enroll again; nothing was sent to the console\n",
				syncService, packagedSyncUser, *cfgPath, packagedSyncUser)
			return 1
		}
	}
	if *hostname == "" {
		// The name the machine shows its users, so the help desk finds it
		// by what the user reads out.
		*hostname = offline.MachineName(facts.Machine())
	}
	// The offline secret, escrowed in its export form for the help desk's
	// response codes (none yet: gatehoused makes it at its first start).
	var escrow []byte
	switch sec, err := offline.LoadSecret(cfg.OfflineSecretFile()); {
	case err == nil:
		escrow = []byte(sec.Export())
	case errors.Is(err, fs.ErrNotExist):
		fmt.Fprintln(stderr, "gatehoused enroll: no offline secret yet (gatehoused makes it at its first start): the console cannot make offline response codes for this machine until it is enrolled again")
	default:
		fmt.Fprintln(stderr, "gatehoused enroll: the offline secret:", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The offline challenges name the machine as gatehoused does (its host
	// name's first label), whatever name the console is to show.
	id, err := client.Enroll(ctx, url, token, client.Machine{Hostname: *hostname, OfflineName: offline.MachineName(facts.Machine()), OfflineSecret: escrow})
	if err != nil {
		fmt.Fprintln(stderr, "gatehoused enroll:", err)
		return 1
	}
	pinned := enforcer.ConsoleIdentity{URL: url, MachineID: id.MachineID}
	for _, k := range id.SigningKeys {
		pinned.SigningKeys = append(pinned.SigningKeys, k)
	}
	if err := enforcer.WriteConsoleIdentity(cfg.ConsoleFile(), pinned); err != nil {
		fmt.Fprintln(stderr, "gatehoused enroll:", err)
		return 1
	}
	if err := writeJSON(*identity, id, 0o600, uid); err != nil {
		fmt.Fprintln(stderr, "gatehoused enroll:", err)
		return 1
	}
	fmt.Fprintf(stdout, "enrolled with %s as machine %s\n  gatehoused trusts the console's keys in %s\n  the sync service's identity is %s\n  %s\n",
		url, id.MachineID, cfg.ConsoleFile(), *identity, syncHint(*identity, cfg.SyncUser))
	return 0
}

// syncHint says how the sync service starts: by itself where a package
// installed its job for the default identity, else by hand.
func syncHint(identity, syncUser string) string {
	if identity == defaultSyncIdentity && syncUser != "" {
		return fmt.Sprintf("the packaged sync service (%s, as %s) starts with this identity by itself; or run: gatehouse sync --identity %s", syncService, syncUser, identity)
	}
	return fmt.Sprintf("start it as %s: gatehouse sync --identity %s", orRoot(syncUser), identity)
}

func orRoot(u string) string {
	if u == "" {
		return "root (set sync_user in gatehoused.yaml to run it unprivileged)"
	}
	return u
}

// writeJSON writes v to path atomically with perm, the file owned by uid
// (-1: as is). A directory it has to make is made 0755, and given to uid
// (0700) when uid is set: the sync service keeps its state and renews its
// certificate there. A directory that exists is left as it is.
func writeJSON(path string, v any, perm os.FileMode, uid int) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if uid >= 0 {
			if err := os.Chown(dir, uid, -1); err != nil {
				return err
			}
			if err := os.Chmod(dir, 0o700); err != nil {
				return err
			}
		}
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, perm); err != nil {
		return err
	}
	if uid >= 0 {
		if err := os.Chown(tmp, uid, -1); err != nil {
			return err
		}
	}
	return os.Rename(tmp, path)
}
