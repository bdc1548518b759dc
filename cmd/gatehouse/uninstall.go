package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/internal/authdb"
	"github.com/gatehouse/gatehouse/internal/launchjobs"
	"github.com/gatehouse/gatehouse/internal/opendirectory"
)

// gatehouse uninstall removes what the macOS package put down, as
// /Library/Gatehouse/uninstall.sh does (build/darwin/pkg; the script is
// there for a machine whose CLI is gone). TestUninstallMatchesScript keeps
// the two removing the same paths and stopping the same jobs. The audit
// database and the configuration stay unless --all is given.
//
// Unlike the script it stops before anything is removed when the
// authorization rights cannot be given back: the rights would still
// delegate to Gatehouse's mechanism while its plug-in went, and every
// padlock dialog that uses them would fail. And it takes users out of the
// admin group through OpenDirectory, as gatehoused does, reading the
// sessions from the audit database with the daemon stopped.

const uninstallUsage = `usage: sudo gatehouse uninstall [--all] [--dry-run] [--force]
  (macOS) removes Gatehouse: gives the authorization rights back, stops the
  daemon and the agents, takes out of the admin group the users an admin
  session put there, and removes the files the package installed. The audit
  database (/var/db/gatehouse), the console enrollment (/var/db/gatehouse-sync
  and its account _gatehousesync) and the configuration
  (/Library/Application Support/Gatehouse) stay unless --all is given.
`

// The package's paths, relative to the root of the disk. pkgFiles go in
// every uninstall (the globs match the sudoers files gatehoused writes),
// pkgData with --all, pkgHome last: the CLI running this is in it.
var (
	pkgFiles = []string{
		"Library/LaunchDaemons/com.gatehouse.gatehoused.plist",
		"Library/LaunchDaemons/com.gatehouse.sync.plist",
		"Library/LaunchAgents/com.gatehouse.agent.plist",
		"Applications/Gatehouse.app",
		"Library/Security/SecurityAgentPlugins/gatehouse.bundle",
		"var/run/gatehouse",
		"etc/sudoers.d/gatehouse-sudo-*",
		"etc/sudoers.d/gatehouse-admin-*",
	}
	pkgData = []string{"var/db/gatehouse", "var/db/gatehouse-sync", "Library/Application Support/Gatehouse"}
)

const (
	pkgHome     = "Library/Gatehouse"
	pkgDatabase = "var/db/gatehouse/gatehouse.db"
	pkgID       = "com.gatehouse.pkg.gatehouse"
	// agentProgram is the agent's executable, as ps names it.
	agentProgram = "gatehouse-agent"
)

// adminMembers is the admin group as the uninstall changes it
// (*opendirectory.Group on a Mac, a fake in tests).
type adminMembers interface {
	Remove(user string) error
}

// uninstallHost is what the uninstall uses outside the process: the seam
// the tests fake.
type uninstallHost struct {
	root   string // "/" on a Mac; a scratch directory in tests
	isRoot func() bool
	authdb authdbHost
	// run runs a program and returns its standard output; the error holds
	// what it printed on standard error.
	run func(name string, args ...string) ([]byte, error)
	// admin returns the admin group (it is loaded only when a session
	// put a user in it).
	admin    func() (adminMembers, error)
	userName func(uid uint32) (string, error)
	now      func() time.Time
}

var newUninstallHost = func() uninstallHost {
	return uninstallHost{
		root:   "/",
		isRoot: func() bool { return os.Geteuid() == 0 },
		authdb: newAuthdbHost(),
		run:    runProgram,
		admin: func() (adminMembers, error) {
			g, err := opendirectory.New()
			if err != nil {
				return nil, err
			}
			return g, nil
		},
		userName: func(uid uint32) (string, error) {
			u, err := user.LookupId(strconv.FormatUint(uint64(uid), 10))
			if err != nil {
				return "", err
			}
			return u.Username, nil
		},
		now: time.Now,
	}
}

// runProgram runs name with a minute's limit.
func runProgram(name string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			err = fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, msg)
		} else {
			err = fmt.Errorf("%s %s: %w", name, strings.Join(args, " "), err)
		}
	}
	return out, err
}

type uninstallOptions struct {
	all, dryRun, force bool
}

func cmdUninstall(args []string, stdout, stderr io.Writer) int {
	const name = "gatehouse uninstall"
	flags := newFlagSet(name, "sudo gatehouse uninstall [--all] [--dry-run] [--force]", stderr)
	flags.Usage = func() {
		fmt.Fprint(stderr, uninstallUsage)
		flags.PrintDefaults()
	}
	var o uninstallOptions
	flags.BoolVar(&o.all, "all", false, "remove the audit database and the configuration too")
	flags.BoolVar(&o.dryRun, "dry-run", false, "print what would be done, do nothing")
	flags.BoolVar(&o.force, "force", false, "go on when the authorization rights cannot be given back (their padlock dialogs fail until they are repaired)")
	rest, err := parseArgs(flags, args)
	if err != nil {
		return flagErr(err)
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "%s: unexpected argument %q\n", name, rest[0])
		return exitUsage
	}
	if runtime.GOOS != "darwin" {
		fmt.Fprintf(stderr, "%s removes the macOS package. On Linux Gatehouse is the .deb: "+
			"\"sudo apt remove gatehouse gatehouse-agent\" keeps the configuration (/etc/gatehouse) and the audit database (/var/lib/gatehouse); "+
			"\"sudo apt purge gatehouse gatehouse-agent\" removes them too\n", name)
		return exitFail
	}
	return uninstall(newUninstallHost(), o, stdout, stderr)
}

// uninstall runs (or, with dryRun, prints) the steps in the script's
// order. A step that fails is reported and the rest still run, except
// the first: rights that cannot be given back stop it unless force.
func uninstall(h uninstallHost, o uninstallOptions, stdout, stderr io.Writer) int {
	const name = "gatehouse uninstall"
	if !o.dryRun && !h.isRoot() {
		fmt.Fprintf(stderr, "%s removes files only root may: run \"sudo gatehouse uninstall%s\" (--dry-run shows what it does)\n", name, flagsOf(o))
		return exitFail
	}
	say := func(format string, a ...any) {
		if o.dryRun {
			format = "would " + format
		}
		fmt.Fprintf(stdout, format+"\n", a...)
	}
	failed := 0
	fail := func(err error) {
		failed++
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
	}

	// 1. The rights, while the mechanism is there to restore them.
	if o.dryRun {
		rights, err := keptRights(h.authdb.dir)
		switch {
		case err != nil:
			say("give back the authorization rights under Gatehouse (cannot list them: %v)", err)
		case len(rights) == 0:
			say("remove %s from the authorization database (no right is under Gatehouse)", authdb.DecideRight)
		default:
			say("give back the authorization rights under Gatehouse: %s", strings.Join(rights, ", "))
		}
	} else if code := cmdAuthdbUninstall(h.authdb, nil, stdout, stderr); code != exitOK {
		if !o.force {
			fmt.Fprintf(stderr, "%s: stopped before removing anything: the authorization rights above still use Gatehouse's mechanism, and without its plug-in their dialogs would fail. Fix what is said above and run it again, or give --force to remove Gatehouse anyway and repair the rights afterwards (each kept original is in %s)\n", name, h.authdb.dir)
			return exitFail
		}
		fail(errors.New("the authorization rights were not all given back (--force: going on)"))
	}

	// 2. The sync, the daemon and the agents. A job that is not loaded
	// makes launchctl fail: said, not counted.
	for _, job := range []struct{ what, label string }{
		{"the console sync", launchjobs.SyncLabel},
		{"gatehoused", launchjobs.DaemonLabel},
	} {
		say("stop %s (launchctl bootout system/%s)", job.what, job.label)
		if !o.dryRun {
			if _, err := h.run("launchctl", "bootout", "system/"+job.label); err != nil {
				fmt.Fprintf(stdout, "%s was not stopped (not running?): %v\n", job.what, err)
			}
		}
	}
	uids, err := agentUIDs(h)
	if err != nil {
		fail(fmt.Errorf("find the running agents: %w; log out their users or reboot after the uninstall", err))
	}
	for _, uid := range uids {
		say("stop the agent of uid %d (launchctl bootout gui/%d/%s)", uid, uid, launchjobs.AgentLabel)
		if !o.dryRun {
			if _, err := h.run("launchctl", "bootout", fmt.Sprintf("gui/%d/%s", uid, launchjobs.AgentLabel)); err != nil {
				fmt.Fprintf(stdout, "the agent of uid %d was not stopped: %v\n", uid, err)
			}
		}
	}

	// 3. Admin sessions that put their user in the admin group, with the
	// daemon stopped (it would end them the same way).
	for _, err := range leaveAdmin(h, o, say) {
		fail(err)
	}

	// 4. The files.
	remove := func(rel string) {
		paths, err := filepath.Glob(filepath.Join(h.root, rel))
		if err != nil {
			fail(err)
			return
		}
		for _, p := range paths {
			say("remove %s", p)
			if !o.dryRun {
				if err := os.RemoveAll(p); err != nil {
					fail(err)
				}
			}
		}
	}
	for _, p := range pkgFiles {
		remove(p)
	}
	if o.all {
		for _, p := range pkgData {
			remove(p)
		}
		// The sync's account, if the package made it.
		if _, err := h.run("dscl", ".", "-read", "/Users/"+launchjobs.SyncUser, "UniqueID"); err == nil {
			for _, rec := range []string{"/Users/" + launchjobs.SyncUser, "/Groups/" + launchjobs.SyncUser} {
				say("delete the account record %s (dscl . -delete %s)", rec, rec)
				if !o.dryRun {
					if _, err := h.run("dscl", ".", "-delete", rec); err != nil {
						fail(err)
					}
				}
			}
		}
	} else {
		fmt.Fprintf(stdout, "keeping the audit database (%s), the console enrollment (%s, the account %s) and the configuration (%s); --all removes them\n",
			filepath.Join(h.root, pkgData[0]), filepath.Join(h.root, pkgData[1]), launchjobs.SyncUser, filepath.Join(h.root, pkgData[2]))
	}
	say("forget the package receipt (pkgutil --forget %s)", pkgID)
	if !o.dryRun {
		if _, err := h.run("pkgutil", "--forget", pkgID); err != nil {
			fmt.Fprintf(stdout, "no package receipt was forgotten (not installed from the .pkg?): %v\n", err)
		}
	}
	remove(pkgHome)

	if failed > 0 {
		fmt.Fprintf(stderr, "%s: %d step(s) failed (above); the rest is done. Run it again once they are fixed\n", name, failed)
		return exitFail
	}
	if !o.dryRun {
		fmt.Fprintln(stdout, "Gatehouse is uninstalled")
	}
	return exitOK
}

func flagsOf(o uninstallOptions) string {
	s := ""
	if o.all {
		s += " --all"
	}
	if o.force {
		s += " --force"
	}
	return s
}

// agentUIDs returns the users whose agent runs, from ps, sorted.
func agentUIDs(h uninstallHost) ([]uint32, error) {
	out, err := h.run("ps", "-axo", "uid=,comm=")
	if err != nil {
		return nil, err
	}
	return parseAgentUIDs(out)
}

// parseAgentUIDs reads `ps -axo uid=,comm=`: a uid, blanks, the command
// (its path; it may hold spaces). A line that is neither is an error.
func parseAgentUIDs(out []byte) ([]uint32, error) {
	seen := map[uint32]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		id, comm, ok := strings.Cut(line, " ")
		uid, err := strconv.ParseUint(id, 10, 32)
		if !ok || err != nil {
			return nil, fmt.Errorf("ps printed %q, not a uid and a command", line)
		}
		comm = strings.TrimSpace(comm)
		if filepath.Base(comm) == agentProgram {
			seen[uint32(uid)] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(seen)), nil
}

// leaveAdmin takes out of the admin group the users whose admin session
// put them there (store.Grant.GroupAdded), ends a session still running
// and records that it no longer holds the group.
func leaveAdmin(h uninstallHost, o uninstallOptions, say func(string, ...any)) []error {
	db := filepath.Join(h.root, pkgDatabase)
	if _, err := os.Stat(db); errors.Is(err, fs.ErrNotExist) {
		return nil
	} else if err != nil {
		if o.dryRun {
			say("take out of the admin group the users Gatehouse's admin sessions put there (recorded in %s: %v; as root --dry-run lists them)", db, err)
			return nil
		}
		return []error{fmt.Errorf("read the admin sessions: %w; users Gatehouse made administrators may still be: check with \"dscl . -read /Groups/admin GroupMembership\"", err)}
	}
	s, err := store.Open(db)
	if err != nil {
		return []error{fmt.Errorf("read the admin sessions: %w; users Gatehouse made administrators may still be: check with \"dscl . -read /Groups/admin GroupMembership\"", err)}
	}
	defer s.Close()
	ctx := context.Background()
	grants, err := s.Grants(ctx, nil)
	if err != nil {
		return []error{fmt.Errorf("read the admin sessions: %w", err)}
	}
	// The sessions whose user is in the group because of them.
	type member struct {
		g    store.Grant
		name string
	}
	var errs []error
	var members []member
	for _, g := range grants {
		if g.Kind != store.GrantAdmin || !g.GroupAdded {
			continue
		}
		name, err := h.userName(g.UID)
		if err != nil {
			errs = append(errs, fmt.Errorf("admin session %d: uid %d has no user name (%v): take its user out of the admin group yourself", g.ID, g.UID, err))
			continue
		}
		say("take %s out of the admin group (admin session %d put them there)", name, g.ID)
		members = append(members, member{g, name})
	}
	if o.dryRun || len(members) == 0 {
		return errs
	}
	group, err := h.admin()
	if err != nil {
		for _, m := range members {
			errs = append(errs, fmt.Errorf("the admin group: %w; take %s out yourself: sudo dseditgroup -o edit -d %s -t user admin", err, m.name, m.name))
		}
		return errs
	}
	for _, m := range members {
		g := m.g
		if err := group.Remove(m.name); err != nil {
			errs = append(errs, fmt.Errorf("take %s out of the admin group: %w; do it yourself: sudo dseditgroup -o edit -d %s -t user admin", m.name, err, m.name))
			continue
		}
		if !g.Revoked && g.Expires.After(h.now()) {
			if err := s.RevokeGrant(ctx, g.ID); err != nil {
				errs = append(errs, fmt.Errorf("end admin session %d: %w", g.ID, err))
			}
		}
		if err := s.SetGroupAdded(ctx, g.ID, false); err != nil {
			errs = append(errs, fmt.Errorf("admin session %d: %w", g.ID, err))
		}
	}
	return errs
}
