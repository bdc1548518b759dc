package main

import (
	"context"
	"fmt"
	"io"
	"os/user"
	"strconv"
	"time"

	"github.com/gatehouse/gatehouse/localapi"
)

// polkitWait bounds the question to gatehoused: polkit's spawn gives its
// helpers 10 seconds, and a rule that times out is treated as not handled.
const polkitWait = 5 * time.Second

// cmdPolkitCheck: gatehouse polkit-check ACTION PID USER is the helper
// Gatehouse's polkit rule spawns (build/linux/polkit/10-gatehouse.rules,
// docs/authorization.md). It asks gatehoused for the verdict on polkit's
// request and prints it — yes, no or not_handled — on one line, always
// exiting 0: the rule treats anything else, and a helper that fails, as
// not handled (polkit's own rules then decide). gatehoused answers only
// polkitd's user (and root).
func cmdPolkitCheck(args []string, stdout, stderr io.Writer) int {
	fs, sock := clientFlags("gatehouse polkit-check", "gatehouse polkit-check ACTION PID USER", stderr)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagErr(err)
	}
	verdict := func(v string) int {
		fmt.Fprintln(stdout, v)
		return exitOK
	}
	if len(pos) != 3 {
		fmt.Fprintln(stderr, "gatehouse polkit-check: want ACTION PID USER (as the polkit rule passes them)")
		return verdict("not_handled")
	}
	pid, err := strconv.ParseInt(pos[1], 10, 32)
	if err != nil || pid <= 0 {
		fmt.Fprintf(stderr, "gatehouse polkit-check: pid %q is not a process id\n", pos[1])
		return verdict("not_handled")
	}
	uid, err := userID(pos[2])
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse polkit-check: %v\n", err)
		return verdict("not_handled")
	}
	ctx, cancel := context.WithTimeout(context.Background(), polkitWait)
	defer cancel()
	c := localapi.NewClient(*sock)
	c.Program = "gatehouse-polkit"
	res, err := c.Authorize(ctx, localapi.Authorize{Right: pos[0], PID: int32(pid), UID: uid})
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse polkit-check: %v\n", err)
		return verdict("not_handled")
	}
	switch res.Verdict {
	case "yes", "no":
		return verdict(res.Verdict)
	}
	return verdict("not_handled")
}

// userID is the uid of user name (or of a number).
func userID(name string) (uint32, error) {
	if n, err := strconv.ParseUint(name, 10, 32); err == nil {
		return uint32(n), nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return 0, fmt.Errorf("user %q: %v", name, err)
	}
	n, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("user %q has uid %q", name, u.Uid)
	}
	return uint32(n), nil
}
