package enforcer_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/enforcertest"
	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/request"
)

// movesPolicy denies program starts by default (installs and deletes no
// rule names must still go through), stops deleting Keep.app, refuses
// installing Bad.app by its bundle id and records a new folder made under
// one name.
const movesPolicy = `id: moves-test
revision: 2
default: deny
groups:
  - name: keep
    definitions: [{type: bundle, bundle_id: com.example.keep, delete: true}]
  - name: bad
    definitions: [{type: bundle, bundle_id: com.example.bad, install: true}]
  - name: made
    definitions: [{type: bundle, path: {exact: DIR/Applications/Made.app}, install: true}]
rules:
  - {group: keep, action: deny}
  - {group: bad, action: deny_notify}
  - {group: made, action: audit}
`

// bundle makes dir/name.app with bundle id id and a main executable.
func bundle(t *testing.T, dir, name, id string) string {
	t.Helper()
	b := filepath.Join(dir, name+".app")
	enforcertest.Program(t, b, "Contents/MacOS/"+name, "\xcf\xfa\xed\xfe\x0c\x00\x00\x01 "+name)
	info := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
<key>CFBundleExecutable</key><string>%s</string>
<key>CFBundleIdentifier</key><string>%s</string>
</dict></plist>`, name, id)
	if err := os.WriteFile(filepath.Join(b, "Contents", "Info.plist"), []byte(info), 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

type movesHarness struct {
	*harness
	apps string
}

func newMovesHarness(t *testing.T, mod func(*enforcer.Config)) *movesHarness {
	var apps string
	h := newHarness(t, func(c *enforcer.Config) {
		apps = filepath.Join(filepath.Dir(c.Policy), "Applications")
		c.ApplicationsDir = apps
		c.ProtectFiles = []string{filepath.Join(filepath.Dir(c.Policy), "Gatehouse"), filepath.Join(filepath.Dir(c.Policy), "daemon.plist")}
		if mod != nil {
			mod(c)
		}
	})
	p := strings.ReplaceAll(movesPolicy, "DIR", h.dir)
	if err := os.WriteFile(filepath.Join(h.dir, "policy.yaml.tmp"), []byte(p), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(h.dir, "policy.yaml.tmp"), filepath.Join(h.dir, "policy.yaml")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the moves policy", func() bool { return h.e.PolicyRevision() == 2 })
	return &movesHarness{harness: h, apps: apps}
}

// op sends one file operation by uid 501 and returns the answer.
func (h *movesHarness) op(kind enforcer.FileOpKind, from, to string) bool {
	h.t.Helper()
	pid := h.nextID.Add(1)
	h.tasks.Set(pid, enforcertest.Task{Task: enforcer.Task{UID: 501, GIDs: []uint32{20}}})
	return h.src.SendOp(h.t, enforcertest.NewFileOp(enforcer.FileOpFacts{Kind: kind, From: from, To: to,
		Task: enforcer.Task{UID: 501, GIDs: []uint32{20}}, Program: "/usr/bin/mv"}, pid))
}

func TestInstallsAndDeletesAreDecidedByThePolicy(t *testing.T) {
	h := newMovesHarness(t, nil)
	keep := bundle(t, h.apps, "Keep", "com.example.keep")
	other := bundle(t, h.apps, "Other", "com.example.other")
	home := filepath.Join(h.dir, "Users", "a")
	bad := bundle(t, filepath.Join(h.dir, "Volumes", "Bad"), "Bad", "com.example.bad")
	good := bundle(t, filepath.Join(h.dir, "Volumes", "Good"), "Good", "com.example.good")
	trash := filepath.Join(home, ".Trash")

	for _, tt := range []struct {
		name     string
		kind     enforcer.FileOpKind
		from, to string
		allow    bool
	}{
		{"Finder moves Keep.app to the trash", enforcer.FileRename, keep, filepath.Join(trash, "Keep.app"), false},
		{"rm -r removes Keep.app's executable", enforcer.FileUnlink, filepath.Join(keep, "Contents/MacOS/Keep"), "", false},
		{"rm -r removes Keep.app's folder", enforcer.FileUnlink, keep, "", false},
		{"a file moved out of Keep.app", enforcer.FileRename, filepath.Join(keep, "Contents/Info.plist"), filepath.Join(home, "Info.plist"), false},
		{"Keep.app's executable truncated", enforcer.FileTruncate, filepath.Join(keep, "Contents/MacOS/Keep"), "", false},
		{"Keep.app renamed to another bundle name", enforcer.FileRename, keep, filepath.Join(h.apps, "Kept.app"), false},
		{"Other.app to the trash: no rule names it", enforcer.FileRename, other, filepath.Join(trash, "Other.app"), true},
		{"Bad.app cloned from its disk image", enforcer.FileClone, bad, filepath.Join(h.apps, "Bad.app"), false},
		{"Bad.app moved in under another name", enforcer.FileRename, bad, filepath.Join(h.apps, "Fine.app"), false},
		{"Good.app cloned in", enforcer.FileClone, good, filepath.Join(h.apps, "Good.app"), true},
		{"a file written inside a bundle being copied in", enforcer.FileCreate, "", filepath.Join(h.apps, "Bad.app/Contents/Info.plist"), true},
		{"a file renamed within Keep.app", enforcer.FileRename, filepath.Join(keep, "Contents/a"), filepath.Join(keep, "Contents/b"), true},
		{"a folder outside the applications folder", enforcer.FileUnlink, filepath.Join(home, "Keep.app"), "", true},
		{"a new folder made under a recorded name", enforcer.FileCreate, "", filepath.Join(h.apps, "Made.app"), true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := h.op(tt.kind, tt.from, tt.to); got != tt.allow {
				t.Errorf("allowed = %v, want %v", got, tt.allow)
			}
		})
	}

	// Denies are recorded with the rule and the bundle; the deny_notify
	// tells the user; the audit rule records the folder made, decided by
	// its path.
	var trashDeny, cloneDeny, made bool
	waitFor(t, "the moves recorded", func() bool {
		for _, ev := range h.events(store.Filter{}) {
			switch {
			case ev.Kind == "delete" && ev.Rule == 1 && !ev.Allowed && ev.Path == keep && ev.UID == 501 &&
				strings.Contains(ev.Detail, "rename "+keep+" to "+filepath.Join(trash, "Keep.app")+" by /usr/bin/mv"):
				trashDeny = true
			case ev.Kind == "install" && ev.Rule == 2 && ev.Action == "deny_notify" && ev.Path == filepath.Join(h.apps, "Bad.app") && ev.AppType == "bundle":
				cloneDeny = true
			case ev.Kind == "install" && ev.Rule == 3 && ev.Allowed && ev.Path == filepath.Join(h.apps, "Made.app") &&
				strings.Contains(ev.Detail, "nothing was inside yet: decided by its path"):
				made = true
			}
		}
		return trashDeny && cloneDeny && made
	})
	for _, ev := range h.events(store.Filter{}) {
		if ev.Path == other || ev.Path == filepath.Join(h.apps, "Good.app") {
			t.Errorf("a move no rule names was recorded: %+v", ev)
		}
	}
	if r := h.waitRequest(501, filepath.Join(h.apps, "Bad.app")); r.Kind != request.DenyNotify {
		t.Errorf("the deny_notify notice is a %s", r.Kind)
	}
	if n := h.e.Counter("moves"); n == 0 {
		t.Error("moves counter not counted")
	}
}

func TestMovesAreNotLookedAtWithoutRules(t *testing.T) {
	h := newHarness(t, func(c *enforcer.Config) { c.ApplicationsDir = filepath.Join(filepath.Dir(c.Policy), "Applications") })
	keep := bundle(t, filepath.Join(h.dir, "Applications"), "Keep", "com.example.keep")
	mh := &movesHarness{harness: h}
	if !mh.op(enforcer.FileUnlink, keep, "") {
		t.Error("a delete was denied by a policy with no install or delete rules")
	}
	if n := h.e.Counter("moves"); n != 0 {
		t.Errorf("moves = %d: a policy without such rules had a move decided", n)
	}
}

func TestTheDaemonsFilesAreProtected(t *testing.T) {
	h := newMovesHarness(t, func(c *enforcer.Config) {
		c.UpdaterTeamID, c.UpdaterSigningID = "GHTEAM0001", "com.gatehouse.updater"
	})
	own := filepath.Join(h.dir, "Gatehouse")
	exe := filepath.Join(own, "Gatehoused.app/Contents/MacOS/gatehoused")
	for _, tt := range []struct {
		name     string
		kind     enforcer.FileOpKind
		from, to string
	}{
		{"the daemon's executable removed", enforcer.FileUnlink, exe, ""},
		{"the daemon's folder renamed away", enforcer.FileRename, own, filepath.Join(h.dir, "x")},
		{"another program renamed over the daemon", enforcer.FileRename, filepath.Join(h.dir, "evil"), exe},
		{"the launchd job truncated", enforcer.FileTruncate, filepath.Join(h.dir, "daemon.plist"), ""},
		{"a file made inside the daemon's folder", enforcer.FileCreate, "", filepath.Join(own, "x")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if h.op(tt.kind, tt.from, tt.to) {
				t.Error("allowed")
			}
		})
	}
	// A path that only starts like a protected one is not protected.
	if !h.op(enforcer.FileUnlink, filepath.Join(h.dir, "GatehouseOther"), "") {
		t.Error("a sibling of the daemon's folder was protected")
	}
	// The updater, by its kernel-validated signature, may.
	pid := h.nextID.Add(1)
	up := enforcertest.NewFileOp(enforcer.FileOpFacts{Kind: enforcer.FileRename, From: filepath.Join(h.dir, "new"), To: exe,
		Task: enforcer.Task{UID: 0}, Program: "/Library/Gatehouse/updater", TeamID: "GHTEAM0001", SigningID: "com.gatehouse.updater"}, pid)
	if !h.src.SendOp(t, up) {
		t.Error("the updater was refused")
	}
	waitFor(t, "tamper_attempts = 6", func() bool { return h.e.Counter("tamper_attempts") == 6 })
	var refused, updater bool
	waitFor(t, "recorded", func() bool {
		for _, ev := range h.events(store.Filter{Kind: "tamper"}) {
			refused = refused || !ev.Allowed && ev.UID == 501 && strings.Contains(ev.Detail, "unlink "+exe+" to gatehoused")
			updater = updater || ev.Allowed && strings.Contains(ev.Detail, "(the updater)")
		}
		return refused && updater
	})
}

// Where no applications folder is watched (Linux), install and delete
// rules decide nothing, and status says so.
func TestMoveRulesWithoutAnApplicationsFolderAreAGap(t *testing.T) {
	gap := func(h *movesHarness) *localapi.Gap {
		var st localapi.Status
		if c := h.call(1000, "GET", "/status", nil, &st); c != 200 {
			t.Fatalf("status: %d", c)
		}
		for i := range st.Gaps {
			if st.Gaps[i].Name == "install_delete" {
				return &st.Gaps[i]
			}
		}
		return nil
	}
	h := newMovesHarness(t, func(c *enforcer.Config) { c.ApplicationsDir = "" })
	if g := gap(h); g == nil || !g.Open || !strings.Contains(g.Detail, "every install and delete is let through") {
		t.Errorf("gap = %+v, want install_delete open", g)
	}
	if g := gap(newMovesHarness(t, nil)); g != nil {
		t.Errorf("with an applications folder: %+v", g)
	}
}
