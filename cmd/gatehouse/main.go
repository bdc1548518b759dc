// Command gatehouse is the administrator's and user's command line for
// Gatehouse: lint and explain policies, and status, events, check and
// requests against the running enforcer (gatehoused) over its local API,
// and offline approval codes for the help desk.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

const usage = `usage: gatehouse <command> [arguments]

commands:
  policy lint FILE...          check policy files; every problem, with file:line:col
  policy explain FILE PROGRAM  evaluate FILE against the real facts of PROGRAM and say why
  policy schema                print the policy file's JSON Schema
  policy example               print the bundled example policy
  demo                         run explain on programs of this machine with the example policy

  status                       what the running gatehoused is doing (exit 3: its audit log fails)
  events [--json] [--follow]   audit events (your own; root sees all); JSON lines for a SIEM
  check PROGRAM                ask the running gatehoused what it would decide for PROGRAM
  requests                     list requests (your own; root sees all)
  requests approve|deny ID     decide a submitted approval request (root)
  request ID --continue | --reason TEXT | --cancel
                               answer your own blocked program's request

  offline respond --machine NAME --request-code CODE --revision N --secret-file FILE
                               help desk: the response code for an offline request
  offline secret [--export]    make this machine's offline secret if missing;
                               --export prints it for the help desk (root)
  sudo [--reason R] CMD [ARGS]  run CMD as root where the policy elevates it
                               (asks for a reason or an approval when it wants one)
  admin [--for 15m] [--reason R] | --end
                               timed admin rights under the policy's admin_sessions
  polkit-check ACTION PID USER the helper Gatehouse's polkit rule runs (prints yes, no
                               or not_handled; docs/authorization.md)
  sync [--identity FILE]       the sync service between gatehoused and its console
                               (after sudo gatehoused enroll URL TOKEN; run it as sync_user)
  authdb install RIGHT...      (root, macOS) put authorization rights under Gatehouse's
                               mechanism, keeping their originals (docs/macos.md)
  authdb uninstall [RIGHT...]  (root, macOS) give them back (default: all of them)
  authdb status                the managed rights, and whether each is still Gatehouse's
  uninstall [--all] [--dry-run] (root, macOS) remove Gatehouse; the audit database and
                               the configuration stay unless --all (docs/packaging.md)

Run "gatehouse <command> -h" for a command's flags.
`

// exitUsage is returned for bad command lines, exitFail when the command ran
// and found a problem (lint errors, missing program), exitAuditFailing by
// status when the daemon runs and enforces but cannot write its audit log.
const (
	exitOK           = 0
	exitFail         = 1
	exitUsage        = 2
	exitAuditFailing = 3
)

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "policy":
		if len(args) < 2 {
			fmt.Fprint(stderr, usage)
			return exitUsage
		}
		switch args[1] {
		case "lint":
			return cmdLint(args[2:], stdout, stderr)
		case "explain":
			return cmdExplain(args[2:], stdout, stderr)
		case "schema":
			return cmdSchema(args[2:], stdout, stderr)
		case "example":
			return cmdExample(args[2:], stdout, stderr)
		}
		fmt.Fprintf(stderr, "gatehouse policy: unknown command %q; use lint, explain, schema or example\n", args[1])
		return exitUsage
	case "demo":
		return cmdDemo(args[1:], stdout, stderr)
	case "status":
		return cmdStatus(args[1:], stdout, stderr)
	case "events":
		return cmdEvents(args[1:], stdout, stderr)
	case "check":
		return cmdCheck(args[1:], stdout, stderr)
	case "requests":
		return cmdRequests(args[1:], stdout, stderr)
	case "request":
		return cmdRequest(args[1:], stdout, stderr)
	case "offline":
		return cmdOffline(args[1:], stdout, stderr)
	case "sync":
		return cmdSync(args[1:], stdout, stderr)
	case "sudo":
		return cmdSudo(args[1:], stdout, stderr)
	case "admin":
		return cmdAdmin(args[1:], stdout, stderr)
	case "polkit-check":
		return cmdPolkitCheck(args[1:], stdout, stderr)
	case "uninstall":
		return cmdUninstall(args[1:], stdout, stderr)
	case "authdb":
		return cmdAuthdb(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	fmt.Fprintf(stderr, "gatehouse: unknown command %q\n\n%s", args[0], usage)
	return exitUsage
}

// parseArgs parses flags anywhere on the command line (flags may follow
// positional arguments, as in `explain FILE --user bob PROGRAM`); "--" ends
// flag parsing.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		// flag stops at "--" too, and swallows it: detect that case.
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: %s\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// flagErr maps a flag parsing error to an exit code; -h is not a failure.
func flagErr(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	return exitUsage
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }
