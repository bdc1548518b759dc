package enforcer_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/enforcertest"
)

// BenchmarkExecCached is one held exec of a cached, allowed program through
// the engine and the fake source: fact cache hit, grants, policy, answer,
// audit event queued. It measures the engine's own cost per exec beside the
// kernel's (scripts/bench-exec measures the two together).
func BenchmarkExecCached(b *testing.B) {
	h := newHarness(b, nil)
	p := h.file("audit/tool", "#!/bin/sh\n")
	h.exec(p, execOpt{uid: 1000})
	b.ReportAllocs()
	for b.Loop() {
		if !h.exec(p, execOpt{uid: 1000}) {
			b.Fatal("denied")
		}
	}
}

// BenchmarkExecArgsRule is one held exec of a cached program that a rule
// on its arguments allows: the arguments are read (from the fake /proc)
// for every exec, off the source's reader loop.
func BenchmarkExecArgsRule(b *testing.B) {
	h := newHarness(b, nil)
	p := h.file("args/tool", "#!/bin/sh\n")
	args := []string{"tool", "--fine"}
	h.exec(p, execOpt{uid: 1000, args: args})
	b.ReportAllocs()
	for b.Loop() {
		if !h.exec(p, execOpt{uid: 1000, args: args}) {
			b.Fatal("denied")
		}
	}
}

// BenchmarkFirstSight is one held exec of a program never seen before (a
// new file each time: "new") or of one seen already ("seen"), with
// program_facts off and on side by side. On, a first exec also reads the
// user and the parent chain and hands the program to the worker that
// records its facts (the worker's hashing runs beside the benchmark, on the
// same cores); a seen one only looks the program up.
func BenchmarkFirstSight(b *testing.B) {
	for _, kind := range []string{"new", "seen"} {
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/program_facts=%v", kind, on), func(b *testing.B) {
				h := newHarness(b, func(c *enforcer.Config) { c.ProgramFacts = new(on) })
				n := 4096
				if kind == "seen" {
					n = 1
				}
				paths := make([]string, 0, n)
				for i := range n {
					paths = append(paths, h.file(fmt.Sprintf("audit/tool%d", i), fmt.Sprintf("#!/bin/sh\n# %d\n", i)))
				}
				if kind == "seen" {
					h.exec(paths[0], execOpt{uid: 1000})
				}
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if !h.exec(paths[i%len(paths)], execOpt{uid: 1000}) {
						b.Fatal("denied")
					}
					i++
				}
			})
		}
	}
}

// BenchmarkAdminSession is one held exec of a cached, allowed program with
// no admin session running, and with one running for another user (the
// exec's task is read to look for its session; a root exec also walks its
// parent chain to the first process not running as root), side by side.
func BenchmarkAdminSession(b *testing.B) {
	for _, tc := range []struct {
		name    string
		session bool
		uid     uint32
	}{{"none", false, 1000}, {"other-user", true, 1000}, {"root-exec", true, 0}} {
		b.Run(tc.name, func(b *testing.B) {
			h := newHarness(b, nil)
			p := fmt.Sprintf("id: bench\nrevision: 2\ndefault: {action: allow, audit: false}\nrules: []\n" +
				"admin_sessions:\n  - {name: all, max_duration: 1h}\n")
			if err := os.WriteFile(filepath.Join(h.dir, "policy.yaml"), []byte(p), 0o644); err != nil {
				b.Fatal(err)
			}
			for h.e.PolicyRevision() != 2 {
				time.Sleep(5 * time.Millisecond)
			}
			if tc.session {
				a := h.e.Identify(enforcer.Peer{UID: 1, RealUID: 1, PID: 1, GIDs: []uint32{1}})
				if res, err := h.e.AdminSession(context.Background(), a, enforcer.AdminQuery{}); err != nil || res.Outcome != enforcer.AdminGranted {
					b.Fatalf("session: %+v %v", res, err)
				}
			}
			tool := h.file("bin/tool", "#!/bin/sh\n")
			// A shell of uid 1000 two root processes up (sudo, a root shell).
			anc := []enforcer.Ancestor{{PID: 10, Exe: "/bin/bash"}, {PID: 11, Exe: "/usr/bin/sudo"}, {PID: 12, Exe: "/bin/bash"}}
			h.tasks.Set(10, enforcertest.Task{Task: enforcer.Task{UID: 0}})
			h.tasks.Set(11, enforcertest.Task{Task: enforcer.Task{UID: 0}})
			h.tasks.Set(12, enforcertest.Task{Task: enforcer.Task{UID: 1000}})
			h.exec(tool, execOpt{uid: tc.uid, ancestors: anc})
			b.ReportAllocs()
			for b.Loop() {
				if !h.exec(tool, execOpt{uid: tc.uid, ancestors: anc}) {
					b.Fatal("denied")
				}
			}
		})
	}
}
