package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/enforcer/fanotify"
)

func openGaps(gs []enforcer.Gap) []string {
	var open []string
	for _, g := range gs {
		if g.Open {
			open = append(open, g.Name)
			if g.Fix == "" {
				open = append(open, "(no fix)")
			}
		}
	}
	return open
}

func TestGaps(t *testing.T) {
	all := []string{"exec_backstop", "memfd_exec", "user_namespaces", "mapped_code", "interpreters"}
	for _, tc := range []struct {
		name string
		k    kernelFacts
		open []string
		says []string
	}{
		{"a stock kernel", kernelFacts{MemfdNoexec: 0, UserNS: true, UserNSBy: "user.max_user_namespaces = 96363", Backstop: "off", ExecWritable: []string{"/tmp", "/home"}},
			all, []string{"vm.memfd_noexec=2", "user.max_user_namespaces=0", "exec_backstop: audit", "noexec", "/tmp /home"}},
		{"closed by sysctls and noexec mounts", kernelFacts{MemfdNoexec: 2, UserNS: false, UserNSBy: "user.max_user_namespaces = 0", Backstop: "off"},
			[]string{"exec_backstop", "interpreters"}, []string{"vm.memfd_noexec = 2", "cannot create user namespaces"}},
		{"closed by the backstop", kernelFacts{MemfdNoexec: 0, UserNS: true, Backstop: "deny"},
			[]string{"interpreters"}, []string{"kills"}},
		{"backstop configured but not running", kernelFacts{MemfdNoexec: 1, UserNS: true, Backstop: "deny", BackstopErr: "the kernel refused the BPF program"},
			[]string{"exec_backstop", "memfd_exec", "user_namespaces", "interpreters"}, []string{"not running: the kernel refused"}},
		{"file leases off, decided as read", kernelFacts{MemfdNoexec: 2, Backstop: "deny", LeasesOff: true, UnholdableFiles: "decide"},
			[]string{"file_leases", "interpreters"}, []string{"fs.leases-enable=1", "new bytes run"}},
		{"file leases off, denied", kernelFacts{MemfdNoexec: 2, Backstop: "deny", LeasesOff: true, UnholdableFiles: "deny"},
			[]string{"interpreters"}, []string{"is denied where a hash rule or a grant would allow it"}},
		{"a kernel without memfd_noexec, audit", kernelFacts{MemfdNoexec: -1, Backstop: "audit"},
			[]string{"exec_backstop", "memfd_exec", "interpreters"}, []string{"before 6.3", "exec_backstop: deny"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gs := gaps(tc.k)
			if diff := cmp.Diff(tc.open, openGaps(gs)); diff != "" {
				t.Errorf("open gaps (-want +got):\n%s", diff)
			}
			var text strings.Builder
			for _, g := range gs {
				text.WriteString(g.Detail + " " + g.Fix + "\n")
			}
			for _, s := range tc.says {
				if !strings.Contains(text.String(), s) {
					t.Errorf("the gaps do not say %q:\n%s", s, text.String())
				}
			}
		})
	}
}

func TestExecWritable(t *testing.T) {
	ms := []fanotify.Mount{
		{Point: "/", Options: "rw,relatime"},
		{Point: "/tmp", Options: "rw,nosuid,nodev,noexec"},
		{Point: "/home", Options: "rw,nodev"},
		{Point: "/dev", Options: "rw,nosuid"},
		{Point: "/dev/shm", Options: "rw,nosuid,nodev,noexec"},
		{Point: "/tmpx", Options: "rw"},
	}
	got := execWritable(ms, []string{"/tmp", "/var/tmp", "/dev/shm", "/home", "/run/user"})
	if diff := cmp.Diff([]string{"/var/tmp", "/home", "/run/user"}, got); diff != "" {
		t.Errorf("execWritable (-want +got):\n%s", diff)
	}
}
