package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/internal/authdb"
	"github.com/gatehouse/gatehouse/internal/launchjobs"
)

// What the package puts down, and what it does not (the uninstall must
// leave those), relative to the disk's root.
var (
	installedFiles = []string{
		"Applications/Gatehouse.app/Contents/Info.plist",
		"Applications/Gatehouse.app/Contents/MacOS/gatehouse-agent",
		"Library/Gatehouse/Gatehoused.app/Contents/MacOS/gatehoused",
		"Library/Gatehouse/bin/gatehouse",
		"Library/Gatehouse/uninstall.sh",
		"Library/Gatehouse/defaults/gatehoused.yaml",
		"Library/LaunchDaemons/com.gatehouse.gatehoused.plist",
		"Library/LaunchDaemons/com.gatehouse.sync.plist",
		"Library/LaunchAgents/com.gatehouse.agent.plist",
		"Library/Security/SecurityAgentPlugins/gatehouse.bundle/Contents/Info.plist",
		"var/run/gatehouse/gatehoused.sock",
		"etc/sudoers.d/gatehouse-sudo-7",
		"etc/sudoers.d/gatehouse-admin-3",
	}
	dataFiles = []string{
		"Library/Application Support/Gatehouse/gatehoused.yaml",
		"Library/Application Support/Gatehouse/policy.yaml",
		"var/db/gatehouse/offline.key",
		"var/db/gatehouse-sync/identity.json",
	}
	othersFiles = []string{
		"Library/LaunchDaemons/com.example.other.plist",
		"Library/Security/SecurityAgentPlugins/other.bundle/Contents/Info.plist",
		"Applications/Gatehousekeeping.app/Contents/Info.plist",
		"etc/sudoers.d/admins",
		"var/run/other.pid",
		"var/db/other/x.db",
	}
)

type fakeUninstall struct {
	root    string
	cmds    []string
	fail    map[string]error // by command line
	ps      string
	removed []string // by the admin group
	noGroup error
}

func (f *fakeUninstall) host(t *testing.T, sec *fakeSecurity, isRoot bool) uninstallHost {
	t.Helper()
	return uninstallHost{
		root:   f.root,
		isRoot: func() bool { return isRoot },
		authdb: authdbHost{security: sec, dir: filepath.Join(f.root, "Library/Application Support/Gatehouse/authdb"), root: func() bool { return isRoot }},
		run: func(name string, args ...string) ([]byte, error) {
			line := strings.Join(append([]string{name}, args...), " ")
			f.cmds = append(f.cmds, line)
			if err := f.fail[line]; err != nil {
				return nil, err
			}
			if name == "ps" {
				return []byte(f.ps), nil
			}
			return nil, nil
		},
		admin: func() (adminMembers, error) {
			if f.noGroup != nil {
				return nil, f.noGroup
			}
			return f, nil
		},
		userName: func(uid uint32) (string, error) {
			if uid >= 600 {
				return "", errors.New("unknown user")
			}
			return fmt.Sprintf("user%d", uid), nil
		},
		now: func() time.Time { return time.Unix(2_000_000_000, 0) },
	}
}

func (f *fakeUninstall) Remove(user string) error {
	f.removed = append(f.removed, user)
	return nil
}

// newFakeDisk lays out what the package installed, its data and other
// software's files under a scratch root, with an audit database holding
// admin sessions: uid 501's runs and put them in the admin group, 502's
// runs and found them an administrator already, 503's ended but its user
// is still in the group (a failed removal), 504's is a sudo grant.
func newFakeDisk(t *testing.T) *fakeUninstall {
	t.Helper()
	root := t.TempDir()
	for _, p := range slices.Concat(installedFiles, dataFiles, othersFiles) {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(p), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := store.Open(filepath.Join(root, pkgDatabase))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(2_000_000_000, 0)
	ctx := context.Background()
	for _, g := range []store.Grant{
		{UID: 501, Kind: store.GrantAdmin, Expires: now.Add(time.Hour), GroupAdded: true},
		{UID: 502, Kind: store.GrantAdmin, Expires: now.Add(time.Hour)},
		{UID: 503, Kind: store.GrantAdmin, Expires: now.Add(-time.Hour), GroupAdded: true},
		{UID: 504, Kind: store.GrantSudo, Path: "/usr/bin/true", Expires: now.Add(time.Hour)},
	} {
		g.Created, g.NotBefore, g.UsesLeft = now.Add(-2*time.Hour), now.Add(-2*time.Hour), -1
		if _, err := s.AddGrant(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return &fakeUninstall{
		root: root,
		fail: map[string]error{},
		ps: "    0 /sbin/launchd\n  501 /Applications/Gatehouse.app/Contents/MacOS/gatehouse-agent\n" +
			"  501 /System/Applications/Utilities/Terminal.app/Contents/MacOS/Terminal\n" +
			"  502 /Applications/Gatehouse.app/Contents/MacOS/gatehouse-agent\n" +
			"  503 /Users/user503/My Tools/not-gatehouse-agent\n",
	}
}

func exists(t *testing.T, root, rel string) bool {
	t.Helper()
	_, err := os.Lstat(filepath.Join(root, rel))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return err == nil
}

// tree lists every path under root with its bytes.
func tree(t *testing.T, root string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			m[rel] = string(b)
		} else {
			m[rel] = d.Type().String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// putRightUnderGatehouse puts system.preferences under Gatehouse's
// mechanism, as the postinstall leaves a right the configuration names.
func putRightUnderGatehouse(t *testing.T, h uninstallHost) {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := cmdAuthdbInstall(h.authdb, []string{"system.preferences"}, &out, &errOut); code != exitOK {
		t.Fatalf("authdb install: %d\n%s%s", code, out.String(), errOut.String())
	}
}

func TestUninstallRemovesThePackageAndKeepsTheData(t *testing.T) {
	f := newFakeDisk(t)
	sec := newFakeSecurity(t)
	h := f.host(t, sec, true)
	putRightUnderGatehouse(t, h)
	var out, errOut bytes.Buffer
	original, err := os.ReadFile(filepath.Join("../../internal/authdb/testdata", "system.preferences.plist"))
	if err != nil {
		t.Fatal(err)
	}

	code := uninstall(h, uninstallOptions{}, &out, &errOut)
	if code != exitOK {
		t.Fatalf("uninstall: code %d\n%s%s", code, out.String(), errOut.String())
	}
	if !bytes.Equal(sec.db["system.preferences"], original) {
		t.Error("system.preferences was not given back byte for byte")
	}
	if names := gatehouseNames(sec.db); len(names) > 0 {
		t.Errorf("left in the authorization database: %v", names)
	}
	for _, p := range installedFiles {
		if exists(t, f.root, p) {
			t.Errorf("%s is still there", p)
		}
	}
	for _, p := range []string{"Library/Gatehouse", "Applications/Gatehouse.app", "var/run/gatehouse", "Library/Security/SecurityAgentPlugins/gatehouse.bundle"} {
		if exists(t, f.root, p) {
			t.Errorf("%s is still there", p)
		}
	}
	for _, p := range slices.Concat(dataFiles, othersFiles, []string{pkgDatabase}) {
		if !exists(t, f.root, p) {
			t.Errorf("%s was removed", p)
		}
	}
	wantCmds := []string{
		"launchctl bootout system/com.gatehouse.sync",
		"launchctl bootout system/com.gatehouse.gatehoused",
		"ps -axo uid=,comm=",
		"launchctl bootout gui/501/com.gatehouse.agent",
		"launchctl bootout gui/502/com.gatehouse.agent",
		"pkgutil --forget com.gatehouse.pkg.gatehouse",
	}
	if !slices.Equal(f.cmds, wantCmds) {
		t.Errorf("commands:\n%s\nwant:\n%s", strings.Join(f.cmds, "\n"), strings.Join(wantCmds, "\n"))
	}
	// Only the users a session put in the group are taken out.
	slices.Sort(f.removed)
	if !slices.Equal(f.removed, []string{"user501", "user503"}) {
		t.Errorf("taken out of the admin group: %v, want user501 and user503", f.removed)
	}
	s, err := store.Open(filepath.Join(f.root, pkgDatabase))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	grants, err := s.Grants(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range grants {
		if g.GroupAdded {
			t.Errorf("grant of uid %d still holds the admin group", g.UID)
		}
		if wantRevoked := g.UID == 501; g.Revoked != wantRevoked {
			t.Errorf("grant of uid %d: revoked %v, want %v", g.UID, g.Revoked, wantRevoked)
		}
	}
	if !strings.Contains(out.String(), "keeping the audit database") || !strings.Contains(out.String(), "Gatehouse is uninstalled") {
		t.Errorf("output:\n%s", out.String())
	}

	// Again with --all: the rest goes, other software's files stay; a
	// second run finds nothing to do and is no failure.
	out.Reset()
	f.cmds = nil
	if code := uninstall(h, uninstallOptions{all: true}, &out, &errOut); code != exitOK {
		t.Fatalf("uninstall --all: code %d\n%s%s", code, out.String(), errOut.String())
	}
	for _, p := range slices.Concat(dataFiles, []string{"var/db/gatehouse", "var/db/gatehouse-sync", "Library/Application Support/Gatehouse"}) {
		if exists(t, f.root, p) {
			t.Errorf("--all: %s is still there", p)
		}
	}
	for _, want := range []string{"dscl . -delete /Users/_gatehousesync", "dscl . -delete /Groups/_gatehousesync"} {
		if !slices.Contains(f.cmds, want) {
			t.Errorf("--all did not run %q: %v", want, f.cmds)
		}
	}
	// Without the account (dscl cannot read it) nothing is deleted.
	f.cmds = nil
	f.fail["dscl . -read /Users/_gatehousesync UniqueID"] = errors.New("eDSRecordNotFound")
	if code := uninstall(h, uninstallOptions{all: true}, &out, &errOut); code != exitOK {
		t.Fatalf("uninstall --all, no account: code %d\n%s", code, errOut.String())
	}
	if slices.ContainsFunc(f.cmds, func(c string) bool { return strings.Contains(c, "-delete") }) {
		t.Errorf("deleted an account that is not there: %v", f.cmds)
	}
	for _, p := range othersFiles {
		if !exists(t, f.root, p) {
			t.Errorf("--all: %s was removed", p)
		}
	}
}

func TestUninstallDryRunChangesNothing(t *testing.T) {
	f := newFakeDisk(t)
	sec := newFakeSecurity(t)
	before := tree(t, f.root)
	db := snapshot(sec.db)
	var out, errOut bytes.Buffer
	// Root, so that it can read the sessions; and as another user.
	for _, isRoot := range []bool{true, false} {
		out.Reset()
		f.cmds = nil
		if code := uninstall(f.host(t, sec, isRoot), uninstallOptions{all: true, dryRun: true}, &out, &errOut); code != exitOK {
			t.Fatalf("dry run (root %v): code %d\n%s%s", isRoot, code, out.String(), errOut.String())
		}
		if !maps.Equal(tree(t, f.root), before) {
			t.Errorf("dry run (root %v) changed the disk", isRoot)
		}
		if !maps.Equal(snapshot(sec.db), db) {
			t.Errorf("dry run (root %v) changed the authorization database", isRoot)
		}
		// Only what reads: ps, and dscl asking whether the account exists.
		if !slices.Equal(f.cmds, []string{"ps -axo uid=,comm=", "dscl . -read /Users/_gatehousesync UniqueID"}) || len(f.removed) > 0 {
			t.Errorf("dry run (root %v) ran %v, took %v out of the admin group", isRoot, f.cmds, f.removed)
		}
		text := out.String()
		for _, want := range []string{
			"would stop gatehoused (launchctl bootout system/com.gatehouse.gatehoused)",
			"would stop the agent of uid 502",
			"would take user501 out of the admin group",
			"would take user503 out of the admin group",
			"would remove " + filepath.Join(f.root, "Applications/Gatehouse.app"),
			"would remove " + filepath.Join(f.root, "etc/sudoers.d/gatehouse-sudo-7"),
			"would remove " + filepath.Join(f.root, "var/db/gatehouse"),
			"would remove " + filepath.Join(f.root, "Library/Gatehouse"),
			"would forget the package receipt",
			"would stop the console sync (launchctl bootout system/com.gatehouse.sync)",
			"would remove " + filepath.Join(f.root, "var/db/gatehouse-sync"),
			"would delete the account record /Users/_gatehousesync",
		} {
			if !strings.Contains(text, want) {
				t.Errorf("dry run output lacks %q:\n%s", want, text)
			}
		}
		if strings.Contains(text, "user502") || strings.Contains(text, "other") {
			t.Errorf("dry run names what it would leave:\n%s", text)
		}
	}
}

func TestUninstallNeedsRoot(t *testing.T) {
	f := newFakeDisk(t)
	before := tree(t, f.root)
	var out, errOut bytes.Buffer
	code := uninstall(f.host(t, newFakeSecurity(t), false), uninstallOptions{all: true}, &out, &errOut)
	if code != exitFail || !strings.Contains(errOut.String(), `run "sudo gatehouse uninstall --all"`) {
		t.Errorf("code %d, stderr %q", code, errOut.String())
	}
	if len(f.cmds) > 0 || !maps.Equal(tree(t, f.root), before) {
		t.Error("it did something as another user")
	}
}

// Rights that cannot be given back would point at a mechanism whose
// plug-in is gone: nothing is removed, unless --force.
func TestUninstallStopsWhileRightsStayUnderGatehouse(t *testing.T) {
	f := newFakeDisk(t)
	sec := newFakeSecurity(t)
	h := f.host(t, sec, true)
	putRightUnderGatehouse(t, h)
	var out, errOut bytes.Buffer
	sec.fail["write system.preferences"] = errors.New("security: authorization database is busy")
	before := tree(t, f.root)
	code := uninstall(h, uninstallOptions{}, &out, &errOut)
	if code != exitFail || !strings.Contains(errOut.String(), "stopped before removing anything") || !strings.Contains(errOut.String(), "--force") {
		t.Errorf("code %d, stderr:\n%s", code, errOut.String())
	}
	if len(f.cmds) > 0 || !maps.Equal(tree(t, f.root), before) {
		t.Errorf("it went on: ran %v", f.cmds)
	}
	if m, _ := authdb.Managed(sec.db["system.preferences"]); !m {
		t.Error("the right is no longer Gatehouse's, yet the write failed")
	}

	errOut.Reset()
	code = uninstall(h, uninstallOptions{force: true}, &out, &errOut)
	if code != exitFail || !strings.Contains(errOut.String(), "1 step(s) failed") {
		t.Errorf("--force: code %d, stderr:\n%s", code, errOut.String())
	}
	if exists(t, f.root, "Library/Security/SecurityAgentPlugins/gatehouse.bundle") || exists(t, f.root, "Library/Gatehouse") {
		t.Error("--force: the package was not removed")
	}
	// The kept original stays for the repair.
	if !exists(t, f.root, "Library/Application Support/Gatehouse/authdb/system.preferences.plist") {
		t.Error("--force: the right's kept original was removed")
	}
}

// A failing step is said with what to do, and the rest still runs.
func TestUninstallGoesOnPastAFailedStep(t *testing.T) {
	f := newFakeDisk(t)
	f.noGroup = errors.New("OpenDirectory: not available")
	f.fail["launchctl bootout system/com.gatehouse.gatehoused"] = errors.New("exit status 3: Boot-out failed: 3: No such process")
	var out, errOut bytes.Buffer
	code := uninstall(f.host(t, newFakeSecurity(t), true), uninstallOptions{}, &out, &errOut)
	if code != exitFail || !strings.Contains(errOut.String(), "2 step(s) failed") {
		t.Errorf("code %d", code)
	}
	if !strings.Contains(errOut.String(), "sudo dseditgroup -o edit -d user501 -t user admin") || !strings.Contains(errOut.String(), "-d user503 ") {
		t.Errorf("stderr does not say how to leave the group by hand:\n%s", errOut.String())
	}
	if !strings.Contains(out.String(), "gatehoused was not stopped (not running?)") {
		t.Errorf("stdout:\n%s", out.String())
	}
	if exists(t, f.root, "Library/Gatehouse") || exists(t, f.root, "Applications/Gatehouse.app") {
		t.Error("the files were not removed after the failed step")
	}
}

func TestParseAgentUIDs(t *testing.T) {
	got, err := parseAgentUIDs([]byte("  0 /sbin/launchd\n\n 501 /Applications/Gatehouse.app/Contents/MacOS/gatehouse-agent\n" +
		"20 /Users/a b/gatehouse-agent\n501 gatehouse-agent\n 77 /bin/gatehouse-agent-old\n"))
	if err != nil || !slices.Equal(got, []uint32{20, 501}) {
		t.Errorf("got %v, %v", got, err)
	}
	for _, bad := range []string{"launchd\n", "-1 /x\n", "99999999999 /x\n", "501\n"} {
		if _, err := parseAgentUIDs([]byte(bad)); err == nil || !strings.Contains(err.Error(), "not a uid and a command") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

// The package's uninstall.sh (for a machine whose CLI is gone) removes
// the same paths and stops the same jobs as gatehouse uninstall.
func TestUninstallMatchesScript(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "build", "darwin", "pkg", "uninstall.sh"))
	if err != nil {
		t.Fatal(err)
	}
	script := string(b)
	rm := regexp.MustCompile(`(?m)^\s*rm -r?f (.+)$`)
	word := regexp.MustCompile(`"[^"]*"|\S+`)
	var paths []string
	for _, m := range rm.FindAllStringSubmatch(script, -1) {
		for _, w := range word.FindAllString(m[1], -1) {
			paths = append(paths, strings.TrimPrefix(strings.Trim(w, `"`), "/"))
		}
	}
	want := slices.Concat(pkgFiles, pkgData, []string{pkgHome})
	slices.Sort(paths)
	slices.Sort(want)
	if !slices.Equal(paths, want) {
		t.Errorf("uninstall.sh removes\n  %s\ngatehouse uninstall removes\n  %s", strings.Join(paths, "\n  "), strings.Join(want, "\n  "))
	}
	for _, w := range []string{
		"launchctl bootout system/" + launchjobs.DaemonLabel,
		"launchctl bootout system/" + launchjobs.SyncLabel,
		"dscl . -delete /Users/" + launchjobs.SyncUser,
		"dscl . -delete /Groups/" + launchjobs.SyncUser,
		`launchctl bootout "gui/$uid/` + launchjobs.AgentLabel,
		"pkgutil --forget " + pkgID,
		"/Library/Gatehouse/bin/gatehouse authdb uninstall",
		agentProgram,
		pkgDatabase,
	} {
		if !strings.Contains(script, w) {
			t.Errorf("uninstall.sh lacks %q", w)
		}
	}
}
