package apiserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/internal/scratch"
	"github.com/gatehouse/gatehouse/localapi"
)

// The peer test's child: it takes the credentials it is told to and asks
// the daemon who it is.
func TestMain(m *testing.M) {
	if sock := os.Getenv("GATEHOUSE_PEER_SOCKET"); sock != "" {
		var r, e int
		fmt.Sscanf(os.Getenv("GATEHOUSE_PEER_UIDS"), "%d %d", &r, &e)
		if err := unix.Setresuid(r, e, e); err != nil {
			fmt.Fprintln(os.Stderr, "setresuid:", err)
			os.Exit(3)
		}
		st, err := localapi.NewClient(sock).Status(context.Background())
		if err != nil {
			fmt.Fprintln(os.Stderr, "status:", err)
			os.Exit(4)
		}
		json.NewEncoder(os.Stdout).Encode(st.You)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestKernelPeersAndSudo: the caller is who the kernel says, whatever the
// process is: a set-uid root process run by uid 1000 is the sudo front-end
// acting for uid 1000 only when its executable is in sudo_paths, and plain
// root otherwise.
func TestKernelPeersAndSudo(t *testing.T) {
	scratch.NeedRoot(t, "the child process takes other uids")
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ask := func(sock, uids string) localapi.Identity {
		t.Helper()
		cmd := exec.Command(self)
		cmd.Env = append(os.Environ(), "GATEHOUSE_PEER_SOCKET="+sock, "GATEHOUSE_PEER_UIDS="+uids)
		var errb strings.Builder
		cmd.Stderr = &errb
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("child with uids %s: %v: %s", uids, err, errb.String())
		}
		var id localapi.Identity
		if err := json.Unmarshal(out, &id); err != nil {
			t.Fatalf("child output %q: %v", out, err)
		}
		return id
	}
	// The socket's directory must be reachable by uid 1000.
	os.Chmod(filepath.Dir(t.TempDir()), 0o755)
	asSudo := newEnv(t, func(c *enforcer.Config) { c.SudoPaths = []string{self} })
	os.Chmod(asSudo.dir, 0o755)
	for _, c := range []struct {
		uids string
		want localapi.Identity
	}{
		{"1000 0", localapi.Identity{UID: 1000, Kind: "sudo"}},
		{"1000 1000", localapi.Identity{UID: 1000, Kind: "user"}},
		{"0 0", localapi.Identity{UID: 0, Kind: "root", Root: true}},
	} {
		got := ask(asSudo.sock, c.uids)
		if got.UID != c.want.UID || got.Kind != c.want.Kind || got.Root != c.want.Root || got.PID <= 0 {
			t.Errorf("real, effective uid %s with sudo_paths = [this binary]: %+v, want %+v", c.uids, got, c.want)
		}
	}
	notSudo := newEnv(t, nil)
	os.Chmod(notSudo.dir, 0o755)
	if got := ask(notSudo.sock, "1000 0"); got.Kind != "root" || got.UID != 0 {
		t.Errorf("set-uid root run by uid 1000, not sudo: %+v, want root", got)
	}
}
