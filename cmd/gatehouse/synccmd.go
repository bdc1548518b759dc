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
	cl, err := client.New(id)
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse sync: %v\n", err)
		return exitFail
	}
	if *statePath == "" {
		*statePath = filepath.Join(filepath.Dir(*identity), "state.json")
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	s, err := consolesync.New(consolesync.Options{Local: localapi.NewClient(*sock), Console: cl, State: *statePath, Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse sync: %v\n", err)
		return exitFail
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fmt.Fprintf(stdout, "gatehouse sync: machine %s with %s\n", id.MachineID, id.URL)
	s.Run(ctx)
	return exitOK
}
