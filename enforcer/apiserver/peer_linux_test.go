package apiserver

import (
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestPeerCredFromTheKernel: over a real Unix socket the peer is this
// process, as the kernel says: uid, pid, groups and executable.
func TestPeerCredFromTheKernel(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := peerCred(s.(*net.UnixConn))
	if err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
	if p.UID != uint32(os.Geteuid()) || p.RealUID != uint32(os.Getuid()) || p.PID != int32(os.Getpid()) || p.Exe != self {
		t.Errorf("peer = %+v, want uid %d, real uid %d, pid %d, exe %s", p, os.Geteuid(), os.Getuid(), os.Getpid(), self)
	}
	if len(p.GIDs) == 0 || p.GIDs[0] != uint32(os.Getegid()) {
		t.Errorf("peer groups %v do not start with the egid %d", p.GIDs, os.Getegid())
	}
	groups, _ := os.Getgroups()
	for _, g := range groups {
		if !slices.Contains(p.GIDs, uint32(g)) {
			t.Errorf("supplementary group %d missing from the peer's groups %v", g, p.GIDs)
		}
	}
}

func TestParseStatusRealUID(t *testing.T) {
	cases := []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"Name:\tsudo\nUid:\t1000\t0\t0\t0\nGid:\t1000\t1000\t1000\t1000\n", 1000, true},
		{"Uid:\t0\t0\t0\t0\n", 0, true},
		{"Name:\tx\n", 0, false},
		{"Uid:\n", 0, false},
		{"Uid:\tfoo\t0\t0\t0\n", 0, false},
		{"Uid:\t99999999999\t0\n", 0, false},
	}
	for _, c := range cases {
		got, err := parseStatusRealUID(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseStatusRealUID(%q) = %d, %v; want %d, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}
