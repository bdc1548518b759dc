package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/offline"
)

// Offline approval codes (docs/offline.md). These commands work without
// gatehoused: "respond" is run by the help desk on its own computer with a
// copy of the machine's secret; "secret" runs as root on the machine.

// cmdOffline dispatches "gatehouse offline ...".
func cmdOffline(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "respond":
		return cmdOfflineRespond(args[1:], stdout, stderr, time.Now())
	case "secret":
		return cmdOfflineSecret(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "gatehouse offline: unknown command %q; use respond or secret\n", args[0])
	return exitUsage
}

func cmdOfflineRespond(args []string, stdout, stderr io.Writer, now time.Time) int {
	const name = "gatehouse offline respond"
	flags := newFlagSet(name, name+" --machine NAME --request-code CODE --revision N (--secret-file FILE | --secret TEXT) [--date YYYY-MM-DD]", stderr)
	machine := flags.String("machine", "", "the computer name the user reads out")
	requestCode := flags.String("request-code", "", "the 6-digit request code the user reads out")
	revision := flags.Int64("revision", 0, "the policy revision shown to the user")
	secretFile := flags.String("secret-file", "", "`file` with the machine's secret: its export (gatehouse offline secret --export) or the key file itself; - reads standard input")
	secretText := flags.String("secret", "", "the machine's exported secret (visible to other users in the process list; prefer --secret-file)")
	date := flags.String("date", "", "the UTC `day` to make the code for, YYYY-MM-DD (default today; the machine accepts the days around its request)")
	pos, err := parseArgs(flags, args)
	if err != nil {
		return flagErr(err)
	}
	fail := func(format string, a ...any) int {
		fmt.Fprintf(stderr, name+": "+format+"\n", a...)
		return exitUsage
	}
	set := map[string]bool{}
	flags.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case len(pos) > 0:
		return fail("unexpected argument %q; every value is given with a flag (-h lists them)", pos[0])
	case !set["machine"]:
		return fail("--machine is missing: the computer name the user reads out")
	case !set["request-code"]:
		return fail("--request-code is missing: the 6-digit code the user reads out")
	case !set["revision"]:
		return fail("--revision is missing: the policy revision shown to the user")
	case set["secret-file"] == set["secret"]:
		return fail("give the machine's secret with either --secret-file FILE or --secret TEXT")
	}
	rc, err := offline.ParseRequestCode(*requestCode)
	if err != nil {
		return fail("%v", err)
	}
	day := offline.DayOf(now)
	if *date != "" {
		if day, err = offline.ParseDay(*date); err != nil {
			return fail("--date: %v", err)
		}
	}
	var secret offline.Secret
	if set["secret"] {
		secret, err = offline.ParseSecret(*secretText)
	} else {
		secret, err = readSecretFile(*secretFile, stderr)
	}
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return exitFail
	}
	code, err := offline.Respond(secret, offline.Challenge{Machine: *machine, Revision: *revision, RequestCode: rc, Day: day})
	if err != nil {
		return fail("%v", err)
	}
	fmt.Fprintln(stdout, code)
	return exitOK
}

// readSecretFile reads the help desk's copy of a secret: the export text,
// or the machine's 32-byte key file. It warns when others may read the
// file, but does not refuse: the file and its place are the help desk's.
func readSecretFile(path string, stderr io.Writer) (offline.Secret, error) {
	var (
		b   []byte
		err error
	)
	if path == "-" {
		b, err = io.ReadAll(io.LimitReader(os.Stdin, 4096))
	} else {
		if fi, serr := os.Stat(path); serr == nil && fi.Mode().Perm()&0o077 != 0 {
			fmt.Fprintf(stderr, "warning: %s has mode %04o: others may read this secret; chmod 600 %s\n", path, fi.Mode().Perm(), path)
		}
		b, err = os.ReadFile(path)
	}
	if err != nil {
		return offline.Secret{}, fmt.Errorf("read secret: %w", err)
	}
	if len(b) == offline.SecretSize && !strings.HasPrefix(strings.ToUpper(string(b)), "GHK1") {
		return offline.SecretFromBytes(b)
	}
	s, err := offline.ParseSecret(string(b))
	if err != nil {
		return offline.Secret{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

func cmdOfflineSecret(args []string, stdout, stderr io.Writer) int {
	const name = "gatehouse offline secret"
	flags := newFlagSet(name, name+" [--path FILE] [--export]", stderr)
	path := flags.String("path", offline.DefaultSecretPath, "the machine's secret `file`")
	export := flags.Bool("export", false, "print the secret for the help desk (keep the output like a password)")
	pos, err := parseArgs(flags, args)
	if err != nil {
		return flagErr(err)
	}
	if len(pos) > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", name, pos[0])
		return exitUsage
	}
	s, err := offline.LoadOrCreateSecret(*path)
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		if errors.Is(err, fs.ErrPermission) {
			fmt.Fprintf(stderr, "the secret is readable by root only: run \"sudo %s\"\n", strings.Join(append([]string{name}, args...), " "))
		}
		return exitFail
	}
	if *export {
		fmt.Fprintln(stdout, s.Export())
		return exitOK
	}
	fmt.Fprintf(stdout, "the offline secret is in %s; \"%s --export\" prints it for the help desk\n", *path, name)
	return exitOK
}
