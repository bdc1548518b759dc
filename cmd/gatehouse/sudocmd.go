package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/gatehouse/gatehouse/localapi"
)

// sudoBinaries are where sudo is looked for first: the system's, not one a
// PATH could put ahead of it.
var sudoBinaries = []string{"/usr/bin/sudo", "/bin/sudo"}

// execSudo replaces this process with sudo running argv (tests stub it).
var execSudo = func(argv []string) error {
	path := ""
	for _, p := range sudoBinaries {
		if _, err := os.Stat(p); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		var err error
		if path, err = exec.LookPath("sudo"); err != nil {
			return errors.New("sudo is not installed")
		}
	}
	return syscall.Exec(path, argv, os.Environ())
}

// cmdSudo: gatehouse sudo [--reason R] COMMAND [ARGS...] asks gatehoused
// for the right to run COMMAND as root under the policy, then runs sudo.
func cmdSudo(args []string, stdout, stderr io.Writer) int {
	fs, sock := clientFlags("gatehouse sudo", "gatehouse sudo [--reason TEXT] COMMAND [ARGS...]", stderr)
	reason := fs.String("reason", "", "why you need it (asked for on the terminal when the policy wants one and this is not given)")
	// Flags end at the command: its own flags are its arguments.
	if err := fs.Parse(args); err != nil {
		return flagErr(err)
	}
	pos := fs.Args()
	if len(pos) == 0 {
		fs.Usage()
		return exitUsage
	}
	path, err := resolveProgram(pos[0])
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse sudo: %v\n", err)
		return exitFail
	}
	// Opened with the caller's rights; the daemon names the file by its
	// descriptor, so what is decided is what sudo will run.
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse sudo: %v\n", err)
		return exitFail
	}
	defer f.Close()
	c := localapi.NewClient(*sock)
	c.Program = "gatehouse-sudo"
	q := localapi.Sudo{Args: pos[1:], Reason: *reason}
	for asked := false; ; {
		ctx, cancel := context.WithTimeout(context.Background(), localapi.CheckWait)
		res, err := c.Sudo(ctx, q, []*os.File{f})
		cancel()
		if err != nil {
			return apiFail(stderr, "gatehouse sudo", err)
		}
		switch res.Outcome {
		case "run":
			fmt.Fprintf(stderr, "gatehouse sudo: %s may run as root until %s (rule %d).\n", res.Path, res.Until.Local().Format(time.TimeOnly), res.Rule)
			f.Close()
			if err := execSudo(append([]string{"sudo", "--", res.Path}, q.Args...)); err != nil {
				fmt.Fprintf(stderr, "gatehouse sudo: run sudo: %v\n", err)
				return exitFail
			}
			return exitOK // a stubbed exec
		case "denied":
			fmt.Fprintf(stderr, "gatehouse sudo: %s\n", sudoMessage(res, "the policy does not let you run this as root"))
			return exitFail
		case "needs_reason":
			if asked {
				fmt.Fprintf(stderr, "gatehouse sudo: a reason is needed\n")
				return exitFail
			}
			r, err := askReason(res)
			if err != nil {
				fmt.Fprintf(stderr, "gatehouse sudo: %v\n", err)
				return exitFail
			}
			q.Reason, asked = r, true
		case "submitted", "waiting":
			what := "submitted for approval as request"
			if res.Outcome == "waiting" {
				what = "waiting for approval: request"
			}
			fmt.Fprintf(stdout, "%s %d. Run the same command again once it is approved (you will be notified).\n", what, res.RequestID)
			if res.RequestCode != "" {
				fmt.Fprintf(stdout, "Offline: tell the help desk machine %s, request code %s.\n", res.Machine, res.RequestCode)
			}
			return exitFail
		case "not_elevated":
			// No rule grants it: sudo decides by sudoers, as without us.
			f.Close()
			if err := execSudo(append([]string{"sudo", "--", res.Path}, q.Args...)); err != nil {
				fmt.Fprintf(stderr, "gatehouse sudo: run sudo: %v\n", err)
				return exitFail
			}
			return exitOK
		default:
			fmt.Fprintf(stderr, "gatehouse sudo: gatehoused answered %q, which this gatehouse does not know; update it\n", res.Outcome)
			return exitFail
		}
	}
}

func sudoMessage(res localapi.SudoResult, fallback string) string {
	msg := strings.TrimSpace(strings.Join([]string{res.Title, res.Body}, ": "))
	msg = strings.Trim(msg, ": ")
	if msg == "" {
		msg = fallback
	}
	if res.URL != "" {
		msg += " (" + res.URL + ")"
	}
	return fmt.Sprintf("%s — %s (rule %d)", res.Path, msg, res.Rule)
}

// askReason asks on the terminal, as sudo asks for a password.
func askReason(res localapi.SudoResult) (string, error) {
	return askOnTTY(res.Title, "Reason for running "+res.Path+" as root", res.MinJustification, "--reason")
}

// askOnTTY asks for a reason of at least min characters on the terminal;
// flag is what to give instead without one.
func askOnTTY(title, prompt string, min int, flag string) (string, error) {
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("the policy wants a reason: give it with %s", flag)
	}
	defer tty.Close()
	if title != "" {
		fmt.Fprintf(tty, "%s\n", title)
	}
	in := bufio.NewReader(tty)
	for tries := 0; tries < 3; tries++ {
		if min > 0 {
			fmt.Fprintf(tty, "%s (at least %d characters): ", prompt, min)
		} else {
			fmt.Fprintf(tty, "%s: ", prompt)
		}
		line, err := in.ReadString('\n')
		line = strings.TrimSpace(line)
		if n := len([]rune(line)); line != "" && n >= min {
			return line, nil
		} else if line != "" {
			fmt.Fprintf(tty, "That is %d characters; at least %d are needed.\n", n, min)
		}
		if err != nil {
			break
		}
	}
	return "", errors.New("no reason given")
}

// cmdAdmin: gatehouse admin [--for D] [--reason R] | --end asks for timed
// admin rights under the policy's admin_sessions, or ends them.
func cmdAdmin(args []string, stdout, stderr io.Writer) int {
	fs, sock := clientFlags("gatehouse admin", "gatehouse admin [--for 15m] [--reason TEXT] | --end", stderr)
	length := fs.String("for", "", "how long (e.g. 15m, 1h; default: the policy's)")
	reason := fs.String("reason", "", "why you need it (asked for on the terminal when the policy wants one)")
	end := fs.Bool("end", false, "end your admin session now")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagErr(err)
	}
	if len(pos) != 0 {
		fs.Usage()
		return exitUsage
	}
	c := localapi.NewClient(*sock)
	c.Program = "gatehouse"
	ctx, cancel := apiCtx()
	defer cancel()
	if *end {
		if _, err := c.EndAdminSession(ctx); err != nil {
			return apiFail(stderr, "gatehouse admin", err)
		}
		fmt.Fprintln(stdout, "Your admin session has ended.")
		return exitOK
	}
	q := localapi.AdminSession{For: *length, Reason: *reason}
	for asked := false; ; asked = true {
		res, err := c.AdminSession(ctx, q)
		if err != nil {
			return apiFail(stderr, "gatehouse admin", err)
		}
		switch res.Outcome {
		case "granted", "active":
			what := "You have admin rights"
			if res.Outcome == "active" {
				what = "Your admin session runs already"
			}
			fmt.Fprintf(stdout, "%s until %s: use sudo as an administrator would. `gatehouse admin --end` ends them sooner.\n", what, res.Until.Local().Format(time.TimeOnly))
			return exitOK
		case "denied":
			fmt.Fprintln(stderr, "gatehouse admin: the policy does not let you have admin rights (no admin_sessions entry includes you); ask IT")
			return exitFail
		case "needs_reason":
			if asked {
				fmt.Fprintln(stderr, "gatehouse admin: a reason is needed")
				return exitFail
			}
			r, err := askOnTTY("", "Reason for admin rights", res.MinJustification, "--reason")
			if err != nil {
				fmt.Fprintf(stderr, "gatehouse admin: %v\n", err)
				return exitFail
			}
			q.Reason = r
		case "submitted", "waiting":
			what := "Submitted for approval as request"
			if res.Outcome == "waiting" {
				what = "Waiting for approval: request"
			}
			fmt.Fprintf(stdout, "%s %d. The session starts when it is approved (you will be notified).\n", what, res.RequestID)
			return exitOK
		default:
			fmt.Fprintf(stderr, "gatehouse admin: gatehoused answered %q, which this gatehouse does not know; update it\n", res.Outcome)
			return exitFail
		}
	}
}
