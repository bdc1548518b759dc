package enforcer_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/store"
	"github.com/gatehouse/gatehouse/request"
)

// TestIdentify: the kind of caller follows from the kernel's facts alone.
func TestIdentify(t *testing.T) {
	h := newHarness(t, func(c *enforcer.Config) {
		c.SyncUser = "nobody"
		c.SudoPaths = []string{"/usr/bin/sudo"}
		c.AgentTeamID, c.AgentSigningID = "TEAM123456", "com.gatehouse.agent"
	})
	cases := []struct {
		name string
		peer enforcer.Peer
		kind enforcer.ActorKind
		uid  uint32
	}{
		{"a user", enforcer.Peer{UID: 1000, RealUID: 1000}, enforcer.ActorUser, 1000},
		{"root", enforcer.Peer{UID: 0, Exe: "/usr/bin/bash"}, enforcer.ActorRoot, 0},
		{"sudo run by a user", enforcer.Peer{UID: 0, RealUID: 1000, Exe: "/usr/bin/sudo"}, enforcer.ActorSudo, 1000},
		{"sudo run by root", enforcer.Peer{UID: 0, RealUID: 0, Exe: "/usr/bin/sudo"}, enforcer.ActorRoot, 0},
		{"another set-uid program", enforcer.Peer{UID: 0, RealUID: 1000, Exe: "/usr/bin/passwd"}, enforcer.ActorRoot, 0},
		{"a user's own copy of sudo (not set-uid)", enforcer.Peer{UID: 1000, RealUID: 1000, Exe: "/usr/bin/sudo"}, enforcer.ActorUser, 1000},
		{"sudo, executable unknown", enforcer.Peer{UID: 0, RealUID: 1000}, enforcer.ActorRoot, 0},
		{"the sync user", enforcer.Peer{UID: 65534, RealUID: 65534}, enforcer.ActorConsoleSync, 65534},
		{"the agent's signature", enforcer.Peer{UID: 1000, RealUID: 1000, TeamID: "TEAM123456", SigningID: "com.gatehouse.agent"}, enforcer.ActorAgent, 1000},
		{"another team's program", enforcer.Peer{UID: 1000, RealUID: 1000, TeamID: "EVIL000000", SigningID: "com.gatehouse.agent"}, enforcer.ActorUser, 1000},
		{"the team, another program", enforcer.Peer{UID: 1000, RealUID: 1000, TeamID: "TEAM123456", SigningID: "com.gatehouse.cli"}, enforcer.ActorUser, 1000},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := h.e.Identify(c.peer)
			if a.Kind != c.kind || a.UID != c.uid {
				t.Errorf("Identify(%+v) = %s acting for uid %d, want %s for uid %d", c.peer, a.Kind, a.UID, c.kind, c.uid)
			}
		})
	}
	// With no sync user and no agent signature configured, nobody is either.
	h2 := newHarness(t, nil)
	for _, p := range []enforcer.Peer{{UID: 65534, RealUID: 65534}, {UID: 1000, RealUID: 1000}} {
		if k := h2.e.Identify(p).Kind; k != enforcer.ActorUser {
			t.Errorf("default configuration: uid %d is %s, want user", p.UID, k)
		}
	}
}

// On macOS the socket gives an audit token: the executable and signature
// come from the event source's account of that very process (PeerCode).
func TestIdentifyByAuditToken(t *testing.T) {
	known := map[[2]uint32][3]string{
		{600, 2}: {"/Applications/Gatehouse.app/Contents/MacOS/gatehouse-agent", "TEAM123456", "com.gatehouse.agent"},
		{700, 5}: {"/usr/bin/sudo", "", "com.apple.sudo"},
	}
	h := newHarnessWith(t, func(c *enforcer.Config) {
		c.SudoPaths = []string{"/usr/bin/sudo"}
		c.AgentTeamID, c.AgentSigningID = "TEAM123456", "com.gatehouse.agent"
	}, enforcer.Options{PeerCode: func(pid int32, ver uint32) (string, string, string, bool) {
		k, ok := known[[2]uint32{uint32(pid), ver}]
		return k[0], k[1], k[2], ok
	}})
	for _, c := range []struct {
		name string
		peer enforcer.Peer
		kind enforcer.ActorKind
		uid  uint32
	}{
		{"the agent's process", enforcer.Peer{UID: 501, RealUID: 501, PID: 600, PIDVersion: 2}, enforcer.ActorAgent, 501},
		{"another process on the agent's pid", enforcer.Peer{UID: 501, RealUID: 501, PID: 600, PIDVersion: 3}, enforcer.ActorUser, 501},
		{"sudo for uid 501", enforcer.Peer{UID: 0, RealUID: 501, PID: 700, PIDVersion: 5}, enforcer.ActorSudo, 501},
		{"a set-uid program the source does not know", enforcer.Peer{UID: 0, RealUID: 501, PID: 800, PIDVersion: 1}, enforcer.ActorRoot, 0},
		// A token without a version (Linux) is never looked up.
		{"no pid version", enforcer.Peer{UID: 501, RealUID: 501, PID: 600}, enforcer.ActorUser, 501},
	} {
		t.Run(c.name, func(t *testing.T) {
			if a := h.e.Identify(c.peer); a.Kind != c.kind || a.UID != c.uid {
				t.Errorf("Identify(%+v) = %s for uid %d, want %s for uid %d", c.peer, a.Kind, a.UID, c.kind, c.uid)
			}
		})
	}
}

// TestEveryOperationForEveryActor runs each operation of the engine as each
// kind of actor and checks it is refused (forbidden, or not found for
// another user's request) exactly where the rights say so. A refusal must
// come before anything changes, so the allowed calls run after the refused
// ones on the same requests.
func TestEveryOperationForEveryActor(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(c *enforcer.Config) {
		c.SyncUser = "nobody"
		c.SudoPaths = []string{self}
		c.AgentTeamID, c.AgentSigningID = "TEAM123456", "com.gatehouse.agent"
		c.PolkitUser = "daemon" // uid 1 on Debian and macOS
	})
	actors := []struct {
		name string
		peer enforcer.Peer
		kind enforcer.ActorKind
	}{
		{"owner", enforcer.Peer{UID: 1000, RealUID: 1000, GIDs: []uint32{1000}}, enforcer.ActorUser},
		{"other user", enforcer.Peer{UID: 1001, RealUID: 1001, GIDs: []uint32{1001}}, enforcer.ActorUser},
		{"root", enforcer.Peer{UID: 0, RealUID: 0, GIDs: []uint32{0}}, enforcer.ActorRoot},
		{"console sync", enforcer.Peer{UID: 65534, RealUID: 65534, GIDs: []uint32{65534}}, enforcer.ActorConsoleSync},
		{"sudo for owner", enforcer.Peer{UID: 0, RealUID: 1000, GIDs: []uint32{0}, Exe: self}, enforcer.ActorSudo},
		{"sudo for other", enforcer.Peer{UID: 0, RealUID: 1001, GIDs: []uint32{0}, Exe: self}, enforcer.ActorSudo},
		{"agent of owner", enforcer.Peer{UID: 1000, RealUID: 1000, GIDs: []uint32{1000}, TeamID: "TEAM123456", SigningID: "com.gatehouse.agent"}, enforcer.ActorAgent},
		{"polkitd", enforcer.Peer{UID: 1, RealUID: 1, GIDs: []uint32{1}}, enforcer.ActorPolkit},
	}
	// One warning (pending) and one approval (submitted) request of uid
	// 1000's; a readable program to check.
	warn := h.file("warn/tool", "#!/bin/sh\n")
	h.exec(warn, execOpt{uid: 1000})
	wr := h.waitRequest(1000, warn)
	appr := h.file("appr/tool", "#!/bin/sh\n")
	h.exec(appr, execOpt{uid: 1000})
	ar := h.waitRequest(1000, appr)
	owner := h.e.Identify(actors[0].peer)
	if _, err := h.e.Answer(context.Background(), owner, ar.ID, enforcer.Answer{Reason: "for the test"}); err != nil {
		t.Fatal(err)
	}
	prog := h.file("bin/ok", "#!/bin/sh\n")
	// Readable by everyone, so every actor may check it.
	for _, d := range []string{filepath.Dir(h.dir), h.dir, filepath.Join(h.dir, "bin")} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}

	ctx := context.Background()
	uid1000 := uint32(1000)
	progFile, err := os.Open(prog)
	if err != nil {
		t.Fatal(err)
	}
	defer progFile.Close()
	ops := []struct {
		name string
		call func(enforcer.Actor) error
		// want is, per actor in the order above, "+" for allowed and "-"
		// for refused.
		want string
	}{
		{"status", func(a enforcer.Actor) error { _, err := h.e.Status(a); return err }, "++++++++"},
		{"wait for changes", func(a enforcer.Actor) error { _, err := h.e.WaitChanges(ctx, a, 0, 0); return err }, "+++++++-"},
		{"list own events", func(a enforcer.Actor) error { _, err := h.e.Events(ctx, a, store.Filter{}); return err }, "+++++++-"},
		{"list uid 1000's events", func(a enforcer.Actor) error {
			_, err := h.e.Events(ctx, a, store.Filter{UID: &uid1000})
			return err
		}, "+-+++-+-"},
		{"list requests", func(a enforcer.Actor) error { _, err := h.e.Requests(ctx, a, nil); return err }, "+++++++-"},
		{"read uid 1000's request", func(a enforcer.Actor) error { _, err := h.e.Request(ctx, a, wr.ID); return err }, "+-+++-+-"},
		{"list grants", func(a enforcer.Actor) error { _, err := h.e.Grants(ctx, a); return err }, "+++++++-"},
		{"check a program", func(a enforcer.Actor) error {
			_, err := h.e.Check(ctx, a, enforcer.CheckQuery{Files: []*os.File{progFile}})
			return err
		}, "+++++++-"},
		{"check as another user", func(a enforcer.Actor) error {
			_, err := h.e.Check(ctx, a, enforcer.CheckQuery{Files: []*os.File{progFile}, User: "nobody"})
			if a.User == "nobody" {
				// Checking as oneself is plain OpCheck.
				return errors.New("not this case")
			}
			return err
		}, "--+?----"},
		{"reload the policy", func(a enforcer.Actor) error { _, err := h.e.ReloadAs(a); return err }, "--+-----"},
		{"offline code for uid 1000's request", func(a enforcer.Actor) error {
			_, err := h.e.OfflineCode(ctx, a, wr.ID, "0000-0000-0000")
			return err
		}, "+---+-+-"},
		{"mark uid 1000's request seen", func(a enforcer.Actor) error { _, err := h.e.MarkSeen(ctx, a, wr.ID); return err }, "+---+-+-"},
		{"approve uid 1000's request", func(a enforcer.Actor) error {
			_, err := h.e.Decide(ctx, a, ar.ID, true, "")
			return err
		}, "--+-----"},
		{"apply a console decision", func(a enforcer.Actor) error {
			// No console is enrolled: allowed actors get that error.
			_, err := h.e.ConsoleDecide(ctx, a, enforcer.ConsoleDecision{RequestID: ar.ID, Approve: true})
			return err
		}, "--++----"},
		{"report the console reached", func(a enforcer.Actor) error { return h.e.ConsoleReached(ctx, a, []int64{ar.ID}) }, "--++----"},
		{"decide an authorization request", func(a enforcer.Actor) error {
			// Refused before anything is read; allowed actors get the
			// invalid subject's error.
			_, err := h.e.Authorize(ctx, a, enforcer.AuthQuery{Right: "org.example.right", PID: 99999, UID: 0})
			if errors.Is(err, enforcer.ErrInvalid) {
				return nil
			}
			return err
		}, "--+----+"},
		{"answer uid 1000's request", func(a enforcer.Actor) error {
			_, err := h.e.Answer(ctx, a, wr.ID, enforcer.Answer{})
			return err
		}, "+---+-+-"},
	}
	refused := func(err error) bool {
		return errors.Is(err, enforcer.ErrForbidden) || errors.Is(err, enforcer.ErrNotFound)
	}
	for _, a := range actors {
		if k := h.e.Identify(a.peer).Kind; k != a.kind {
			t.Fatalf("%s identified as %s, want %s", a.name, k, a.kind)
		}
	}
	for _, op := range ops {
		if len(op.want) != len(actors) {
			t.Fatalf("%s: want has %d entries for %d actors", op.name, len(op.want), len(actors))
		}
		// Refusals first: they must leave the requests as they are for
		// the allowed calls after them.
		order := make([]int, 0, len(actors))
		for i := range actors {
			if op.want[i] == '-' {
				order = append(order, i)
			}
		}
		for i := range actors {
			if op.want[i] != '-' {
				order = append(order, i)
			}
		}
		var got strings.Builder
		got.WriteString(strings.Repeat(" ", len(actors)))
		res := []byte(got.String())
		for _, i := range order {
			a := h.e.Identify(actors[i].peer)
			err := op.call(a)
			switch {
			case op.want[i] == '?':
				res[i] = '?'
			case refused(err):
				res[i] = '-'
				if errors.Is(err, enforcer.ErrForbidden) && !strings.Contains(err.Error(), a.Kind.String()) {
					t.Errorf("%s as %s: the refusal %q does not say who was refused", op.name, actors[i].name, err)
				}
			default:
				res[i] = '+'
			}
		}
		if string(res) != op.want {
			t.Errorf("%-36s got %s, want %s (actors: owner, other user, root, sync, sudo for owner, sudo for other, agent)", op.name, res, op.want)
		}
	}
	// The allowed calls did what they say: the warning was answered (by its
	// own user), the approval approved (by root, first of those allowed).
	got, err := h.st.GetRequest(ctx, wr.ID)
	if err != nil || got.State != request.Answered {
		t.Errorf("warning request after the answers: %v %+v", err, got.State)
	}
	got, err = h.st.GetRequest(ctx, ar.ID)
	if err != nil || got.State != request.Approved || !strings.HasPrefix(got.DecidedBy, "root") {
		t.Errorf("approval request after the decisions: %v %s by %q", err, got.State, got.DecidedBy)
	}
}
