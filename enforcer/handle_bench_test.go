package enforcer_test

import "testing"

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
