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
// new file each time), with program_facts on and off side by side: on,
// each is also handed to the worker that records its facts off the hot
// path (the worker's hashing is not in the figure, the hand-over is).
func BenchmarkFirstSight(b *testing.B) {
	for _, on := range []bool{false, true} {
		b.Run(fmt.Sprintf("program_facts=%v", on), func(b *testing.B) {
			h := newHarness(b, func(c *enforcer.Config) { c.ProgramFacts = new(on) })
			paths := make([]string, 0, 4096)
			for i := range cap(paths) {
				paths = append(paths, h.file(fmt.Sprintf("audit/tool%d", i), fmt.Sprintf("#!/bin/sh\n# %d\n", i)))
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
