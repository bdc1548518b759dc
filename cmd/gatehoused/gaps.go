package main

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/fanotify"
)

// What the Linux kernel leaves open to the enforcer, and what closes it:
// the ways a program can start without a decision that filesystem marks
// cannot hold (docs/enforcer.md, "Ways around the marks"). Reading the
// settings is in source_linux.go; judging them is here, so it is tested
// everywhere.

// kernelFacts are the settings the gaps depend on.
type kernelFacts struct {
	// MemfdNoexec is vm.memfd_noexec, -1 when the kernel has none (before
	// Linux 6.3: every memfd may be executable).
	MemfdNoexec int
	// UserNS says whether unprivileged users may create user namespaces,
	// and UserNSBy which setting says so.
	UserNS   bool
	UserNSBy string
	// Backstop is the exec backstop's configured mode (off, audit, deny);
	// BackstopErr why it is not running although configured.
	Backstop    string
	BackstopErr string
	// LeasesOff: fs.leases-enable = 0, so the contents of a file its
	// owner can write cannot be held from the decision to the exec.
	LeasesOff bool
	// UnholdableFiles is the configured unholdable_files (deny, decide).
	UnholdableFiles string
	// ExecWritable are places users write whose mount lets code run from
	// them (no noexec).
	ExecWritable []string
}

// userWritable are the places an unprivileged user can usually write.
var userWritable = []string{"/tmp", "/var/tmp", "/dev/shm", "/run/user", "/home"}

// gaps judges k.
func gaps(k kernelFacts) []enforcer.Gap {
	deny := k.Backstop == "deny" && k.BackstopErr == ""
	var out []enforcer.Gap

	bs := enforcer.Gap{Name: "exec_backstop"}
	switch {
	case k.BackstopErr != "":
		bs.Open, bs.Detail = true, fmt.Sprintf("exec_backstop: %s is configured but not running: %s; programs on filesystems no mark holds (a tmpfs or FUSE mount in a user's own namespace, a memfd file, a filesystem mounted in the last 2 s) run undecided and unrecorded", k.Backstop, k.BackstopErr)
		bs.Fix = "see the error above; exec_backstop: off silences this"
	case k.Backstop == "deny":
		bs.Detail = "exec_backstop: deny kills every program start no mark held, before it runs"
	case k.Backstop == "audit":
		bs.Open, bs.Detail = true, "exec_backstop: audit records program starts no mark held (a tmpfs or FUSE mount in a user's own namespace, a memfd file, a filesystem mounted in the last 2 s) and lets them run"
		bs.Fix = "exec_backstop: deny (kills them; watch the audit events of action audit and rule 0 first)"
	default:
		bs.Open, bs.Detail = true, "exec_backstop: off: programs on filesystems no mark holds (a tmpfs or FUSE mount in a user's own namespace, a memfd file, a filesystem mounted in the last 2 s) run undecided and unrecorded"
		bs.Fix = "exec_backstop: audit to record them, deny to kill them"
	}
	out = append(out, bs)

	mf := enforcer.Gap{Name: "memfd_exec"}
	switch {
	case k.MemfdNoexec >= 2:
		mf.Detail = "vm.memfd_noexec = 2: no memfd file can be executed"
	case deny:
		mf.Detail = fmt.Sprintf("vm.memfd_noexec = %d, but the exec backstop kills programs run from memfd files", k.MemfdNoexec)
	default:
		mf.Open = true
		if k.MemfdNoexec < 0 {
			mf.Detail = "this kernel (before 6.3) has no vm.memfd_noexec: a program written to a memfd_create file runs with fexecve, and no mark can hold it"
			mf.Fix = "exec_backstop: deny"
		} else {
			mf.Detail = fmt.Sprintf("vm.memfd_noexec = %d: a program written to a memfd_create file runs with fexecve, and no mark can hold it", k.MemfdNoexec)
			mf.Fix = "sysctl vm.memfd_noexec=2 (in /etc/sysctl.d/), or exec_backstop: deny"
		}
	}
	out = append(out, mf)

	un := enforcer.Gap{Name: "user_namespaces"}
	switch {
	case !k.UserNS:
		un.Detail = "unprivileged users cannot create user namespaces (" + k.UserNSBy + ")"
	case deny:
		un.Detail = "unprivileged users can create user namespaces and mount a tmpfs or FUSE filesystem there; the exec backstop kills programs run from it"
	default:
		un.Open = true
		un.Detail = "unprivileged users can create user namespaces (" + k.UserNSBy + ") and mount a tmpfs or FUSE filesystem there, which no mark holds"
		un.Fix = "exec_backstop: deny, or sysctl user.max_user_namespaces=0 (kernel.unprivileged_userns_clone=0 on Debian and Ubuntu kernels); either stops rootless containers, the second also some browser sandboxes"
	}
	out = append(out, un)

	fl := enforcer.Gap{Name: "file_leases"}
	switch {
	case !k.LeasesOff:
		fl.Detail = "file leases hold the contents of a program its owner can write unchanged from a decision on them (a hash rule, a grant) until the exec has them"
	case k.UnholdableFiles == "decide":
		fl.Open = true
		fl.Detail = "fs.leases-enable = 0 and unholdable_files: decide: a program its owner can write, allowed by a hash rule or a grant, can be rewritten between the decision and the exec, and the new bytes run"
		fl.Fix = "sysctl fs.leases-enable=1 (in /etc/sysctl.d/), or unholdable_files: deny"
	default:
		fl.Detail = "fs.leases-enable = 0: a program its owner can write is denied where a hash rule or a grant would allow it (unholdable_files: deny); sysctl fs.leases-enable=1 lets such programs run, held unchanged"
	}
	out = append(out, fl)

	mc := enforcer.Gap{Name: "mapped_code", Detail: "code mapped rather than executed is not decided: the dynamic loader run on a file (ld.so PROGRAM), libraries loaded by LD_PRELOAD or dlopen"}
	if len(k.ExecWritable) > 0 {
		mc.Open = true
		mc.Detail += "; users can write and map code at " + strings.Join(k.ExecWritable, " ")
		mc.Fix = "mount the places users write noexec (the kernel then refuses to map code from them): " + strings.Join(k.ExecWritable, " ")
	} else {
		mc.Detail += "; the places users write are mounted noexec, so the kernel refuses to map code from them"
	}
	out = append(out, mc)

	out = append(out, enforcer.Gap{Name: "interpreters", Open: true,
		Detail: "code an interpreter reads (sh FILE, python3 -c CODE, a script piped to a shell) is not a program start; only the interpreter is decided, and a script its owner rewrites once its interpreter has started is read as rewritten",
		Fix:    "policy rules on the interpreters themselves, and on their arguments (advisory: docs/enforcer.md)"})
	return out
}

// execWritable returns those of places whose mount (the one on top at the
// longest mount point above it) is not noexec.
func execWritable(ms []fanotify.Mount, places []string) []string {
	var out []string
	for _, p := range places {
		best := -1
		for i, m := range ms {
			if m.Point == p || m.Point == "/" || strings.HasPrefix(p, strings.TrimSuffix(m.Point, "/")+"/") {
				if best < 0 || len(m.Point) >= len(ms[best].Point) {
					best = i
				}
			}
		}
		if best >= 0 && !slices.Contains(strings.Split(ms[best].Options, ","), "noexec") {
			out = append(out, filepath.Clean(p))
		}
	}
	return out
}
