package enforcer_test

import (
	"context"
	"fmt"
	"os"
	osuser "os/user"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/enforcertest"
	"github.com/gatehouse/gatehouse/enforcer/store"
)

// fakeGroup is the administrators group of a platform that has one.
type fakeGroup struct {
	mu      sync.Mutex
	members []string
	calls   []string
}

func (g *fakeGroup) Add(user string) (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, "add "+user)
	if slices.Contains(g.members, user) {
		return false, nil
	}
	g.members = append(g.members, user)
	return true, nil
}

func (g *fakeGroup) Remove(user string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, "remove "+user)
	g.members = slices.DeleteFunc(g.members, func(m string) bool { return m == user })
	return nil
}

func (g *fakeGroup) has(user string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Contains(g.members, user)
}

// A session's life in the engine: every exec of the user's, and of root
// processes the user started, is recorded with the session (the policy
// records nothing else) and none is left to the kernel's cache; the user
// joins the administrators group and leaves it at the end, unless they
// were a member before; a screen lock ends it, and so does its time (the
// end names the root processes still running); status tells the user.
func TestAdminSessionLife(t *testing.T) {
	// Users every Debian and macOS has: the group needs names.
	const user, admin, other = 1, 2, 3
	name := func(uid uint32) string {
		u, err := osuser.LookupId(fmt.Sprint(uid))
		if err != nil {
			t.Fatal(err)
		}
		return u.Username
	}
	group := &fakeGroup{members: []string{name(admin)}}
	var dir string
	h := newHarnessWith(t, func(c *enforcer.Config) { dir = c.SudoersDir }, enforcer.Options{AdminGroup: group})
	p := fmt.Sprintf("id: sessions\nrevision: 2\ndefault: {action: allow, audit: false}\nrules: []\n" +
		"admin_sessions:\n  - {name: all, max_duration: 1h, default_duration: 15m}\n")
	if err := os.WriteFile(filepath.Join(h.dir, "policy.yaml"), []byte(p), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "policy revision 2", func() bool { return h.e.PolicyRevision() == 2 })
	tool := h.file("bin/tool", "#!/bin/sh\n")
	actor := func(uid uint32) enforcer.Actor {
		return h.e.Identify(enforcer.Peer{UID: uid, RealUID: uid, PID: 1, GIDs: []uint32{uid}})
	}

	// exec runs tool as uid with the given parent chain (pid, uid each)
	// and returns whether the kernel was let cache the allow.
	exec := func(uid uint32, parents ...[2]int) bool {
		t.Helper()
		var anc []enforcer.Ancestor
		for _, pp := range parents {
			anc = append(anc, enforcer.Ancestor{PID: int32(pp[0]), Exe: "/bin/sh"})
			h.tasks.Set(int32(pp[0]), enforcertest.Task{Task: enforcer.Task{UID: uint32(pp[1])}})
		}
		f, err := os.Open(tool)
		if err != nil {
			t.Fatal(err)
		}
		pid := h.nextID.Add(1)
		h.tasks.Set(pid, enforcertest.Task{Task: enforcer.Task{UID: uid, GIDs: []uint32{uid}}, Args: []string{"tool"}, Ancestors: anc})
		x := enforcertest.NewExec(f, pid)
		if !h.src.Send(t, x) {
			t.Fatalf("exec as uid %d denied", uid)
		}
		return x.Cached
	}
	sessionEvents := func() map[int64]int {
		n := map[int64]int{}
		for _, ev := range h.events(store.Filter{Kind: "exec"}) {
			n[ev.Session]++
		}
		return n
	}

	if !exec(user) {
		t.Error("before any session a plain allow was not left to the kernel's cache")
	}
	res, err := h.e.AdminSession(context.Background(), actor(user), enforcer.AdminQuery{})
	if err != nil || res.Outcome != enforcer.AdminGranted {
		t.Fatalf("session: %+v %v", res, err)
	}
	if !group.has(name(user)) {
		t.Errorf("the user did not join the administrators group: %v", group.calls)
	}
	if exec(user) {
		t.Error("during a session the kernel was let cache an allow (later execs would not be seen)")
	}
	exec(other)                              // someone else: not recorded
	exec(0, [2]int{50, 0}, [2]int{51, user}) // root, started by the user through sudo
	exec(0, [2]int{60, other})               // root, started by someone else
	got := sessionEvents()
	if got[res.GrantID] != 2 || got[0] != 0 {
		t.Errorf("exec events by session: %v, want 2 with session %d (the user's, the root one they started) and none other", got, res.GrantID)
	}
	st, _ := h.e.Status(actor(user))
	if st.Admin == nil || st.Admin.GrantID != res.GrantID || st.Admin.Offer == nil || st.Admin.Offer.Max != time.Hour {
		t.Errorf("status: %+v", st.Admin)
	}

	// A screen lock ends it; a root shell the user opened is named.
	h.tasks.Procs = []enforcer.Process{{PID: 70, PPID: 1, UID: user, Exe: "/bin/bash"},
		{PID: 71, PPID: 70, UID: 0, Exe: "/usr/bin/sudo"}, {PID: 72, PPID: 71, UID: 0, Exe: "/bin/bash", TTY: "/dev/pts/9"},
		{PID: 80, PPID: 1, UID: 0, Exe: "/usr/sbin/cron"}}
	// An agent woken by the change must read the end in status (the
	// change is announced after the running sessions are published).
	ch, err := h.e.WaitChanges(context.Background(), actor(user), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	h.e.SessionEnded(enforcer.SessionEnd{User: "", UID: user, Why: "screen lock"})
	for seq := ch.Seq; ; {
		ch, err = h.e.WaitChanges(context.Background(), actor(user), seq, 5*time.Second)
		if err != nil || ch.Seq == seq {
			t.Fatalf("no change announced for the session's end (%v)", err)
		}
		seq = ch.Seq
		if st, _ := h.e.Status(actor(user)); st.Admin.Ended != nil {
			if st.Admin.GrantID != 0 {
				t.Fatalf("status after the end's change still shows the session: %+v", st.Admin)
			}
			break
		}
	}
	st, _ = h.e.Status(actor(user))
	if e := st.Admin.Ended; e.GrantID != res.GrantID || e.Why != "ended at screen lock" || len(e.StillRoot) != 2 || e.StillRoot[1].PID != 72 {
		t.Errorf("ended: %+v", e)
	}
	if group.has(name(user)) {
		t.Errorf("the user is still an administrator: %v", group.calls)
	}
	if _, err := os.Stat(filepath.Join(dir, fmt.Sprintf("gatehouse-admin-%d", res.GrantID))); !os.IsNotExist(err) {
		t.Errorf("the drop-in outlived the session: %v", err)
	}
	var end *store.Event
	for _, ev := range h.events(store.Filter{Kind: "admin_session"}) {
		if ev.Action == "end" {
			end = &ev
		}
	}
	if end == nil || !strings.Contains(end.Detail, "screen lock") || !strings.Contains(end.Detail, "/bin/bash (pid 72)") || strings.Contains(end.Detail, "cron") {
		t.Errorf("the end's event: %+v", end)
	}
	if !exec(user) {
		t.Error("after the session the kernel's cache is still off")
	}

	// An administrator before keeps it; a session ends at its time.
	res, err = h.e.AdminSession(context.Background(), actor(admin), enforcer.AdminQuery{For: 2 * time.Minute})
	if err != nil || res.Outcome != enforcer.AdminGranted {
		t.Fatalf("second session: %+v %v", res, err)
	}
	h.shift.Add(int64(3 * time.Minute))
	h.e.SyncSessions()
	if st, _ := h.e.Status(actor(admin)); st.Admin.GrantID != 0 || st.Admin.Ended == nil || st.Admin.Ended.Why != "ended at its time" {
		t.Errorf("after its time: %+v", st.Admin)
	}
	if !group.has(name(admin)) || slices.Contains(group.calls, "remove "+name(admin)) {
		t.Errorf("an administrator before the session was taken out of the group: %v", group.calls)
	}
}
