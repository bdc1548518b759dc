package enforcer_test

import (
	"fmt"
	"testing"

	"github.com/gatehouse/gatehouse/enforcer"
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
