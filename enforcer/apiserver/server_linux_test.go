package apiserver_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gatehouse/gatehouse/enforcer"
	"github.com/gatehouse/gatehouse/facts"
	"github.com/gatehouse/gatehouse/internal/scratch"
	"github.com/gatehouse/gatehouse/localapi"
)

// The tests' child: it takes the credentials it is told to and then does
// what GATEHOUSE_CHILD says (by default: asks the daemon who it is).
func TestMain(m *testing.M) {
	if sock := os.Getenv("GATEHOUSE_PEER_SOCKET"); sock != "" {
		var r, e int
		fmt.Sscanf(os.Getenv("GATEHOUSE_PEER_UIDS"), "%d %d", &r, &e)
		if err := unix.Setresuid(r, e, e); err != nil {
			fmt.Fprintln(os.Stderr, "setresuid:", err)
			os.Exit(3)
		}
		var out any
		var err error
		switch os.Getenv("GATEHOUSE_CHILD") {
		case "race":
			out, err = childRace(sock, os.Getenv("GATEHOUSE_CHILD_DIR"), os.Getenv("GATEHOUSE_CHILD_SECRET"))
		case "hold":
			out, err = childHold(sock)
		default:
			var st localapi.Status
			st, err = localapi.NewClient(sock).Status(context.Background())
			out = st.You
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(4)
		}
		json.NewEncoder(os.Stdout).Encode(out)
		if os.Getenv("GATEHOUSE_CHILD") == "hold" {
			io.Copy(io.Discard, os.Stdin) // hold the connections until the parent is done
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child runs this test binary as a child with real and effective uids
// uids, in mode, and decodes what it prints into out. A "hold" child keeps
// running until the returned stop is called.
func child(t *testing.T, sock, uids, mode string, env []string, out any) (stop func()) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(append(os.Environ(), "GATEHOUSE_PEER_SOCKET="+sock, "GATEHOUSE_PEER_UIDS="+uids, "GATEHOUSE_CHILD="+mode), env...)
	var errb strings.Builder
	cmd.Stderr = &errb
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop = func() {
		stdin.Close()
		cmd.Wait()
	}
	if mode != "hold" {
		stdin.Close()
	}
	if err := json.NewDecoder(stdout).Decode(out); err != nil {
		stop()
		t.Fatalf("child %s with uids %s: %v: %s", mode, uids, err, errb.String())
	}
	if mode != "hold" {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child %s with uids %s: %v: %s", mode, uids, err, errb.String())
		}
		return func() {}
	}
	return stop
}

// raceResult is what the race child saw.
type raceResult struct {
	Answers  int            `json:"answers"`
	Statuses map[string]int `json:"statuses"`
	Hashes   []string       `json:"hashes"`
	// OpenErr is the error of opening the link to the secret itself.
	OpenErr string `json:"open_err"`
	// Own is the check of the child's own file sent as a descriptor.
	Own localapi.CheckResult `json:"own"`
}

// childRace is the attack: in its own directory, it swaps (RENAME_EXCHANGE)
// a file it may read with a symbolic link to a secret it may not, while
// asking the daemon to check the file by path, for two seconds.
func childRace(sock, dir, secret string) (raceResult, error) {
	res := raceResult{Statuses: map[string]int{}}
	x, y := filepath.Join(dir, "x"), filepath.Join(dir, "y")
	if err := os.WriteFile(x, []byte("#!/bin/sh\necho mine\n"), 0o755); err != nil {
		return res, err
	}
	if err := os.Symlink(secret, y); err != nil {
		return res, err
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
				unix.Renameat2(unix.AT_FDCWD, x, unix.AT_FDCWD, y, unix.RENAME_EXCHANGE)
			}
		}
	}()
	c := localapi.NewClient(sock)
	hashes := map[string]bool{}
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); {
		r, err := c.Check(context.Background(), localapi.Check{Path: x}, nil)
		res.Answers++
		var ae *localapi.APIError
		var ad *localapi.AccessDeniedError
		switch {
		case err == nil:
			res.Statuses["200"]++
			hashes[r.SHA256] = true
		case errors.As(err, &ad):
			res.Statuses["403"]++
		case errors.As(err, &ae):
			res.Statuses[strconv.Itoa(ae.Status)]++
		default:
			return res, err
		}
	}
	close(stop)
	wg.Wait()
	for h := range hashes {
		res.Hashes = append(res.Hashes, h)
	}
	// Opening the secret through the link fails here, in the client:
	// there is nothing to send.
	os.Remove(x)
	os.Remove(y)
	if err := os.Symlink(secret, y); err != nil {
		return res, err
	}
	if _, err := facts.Open(y); err != nil {
		res.OpenErr = err.Error()
	}
	// Its own file, sent as a descriptor, is checked, under the kernel's
	// name for it.
	if err := os.WriteFile(x, []byte("#!/bin/sh\necho mine\n"), 0o755); err != nil {
		return res, err
	}
	fs, err := facts.Open(x)
	if err != nil {
		return res, err
	}
	defer fs.Close()
	res.Own, err = c.Check(context.Background(), localapi.Check{}, fs.List)
	return res, err
}

// holdResult is what the hold child got.
type holdResult struct {
	Held    int    `json:"held"`
	Refused int    `json:"refused"`
	Message string `json:"message"`
}

// childHold opens 250 connections and sends nothing on them.
func childHold(sock string) (holdResult, error) {
	var res holdResult
	conns := make([]net.Conn, 0, 250)
	for range 250 {
		c, err := net.Dial("unix", sock)
		if err != nil {
			return res, err
		}
		conns = append(conns, c)
	}
	// A refused connection is answered at once and closed; an admitted
	// one waits for its request.
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			b, _ := io.ReadAll(c)
			mu.Lock()
			defer mu.Unlock()
			if len(b) > 0 {
				res.Refused++
				res.Message = string(b)
			} else {
				res.Held++
			}
		}()
	}
	wg.Wait()
	return res, nil
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
		var id localapi.Identity
		child(t, sock, uids, "", nil, &id)
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

// TestCheckReadsOnlyWhatTheCallerCan: a user who swaps a file they may read
// with a link to one they may not, while asking for checks of it by path,
// learns nothing of the secret (it returned /etc/shadow's hash 8,868 times
// in 20 s): only root checks by path; a user sends descriptors they opened,
// and cannot open the secret to send it.
func TestCheckReadsOnlyWhatTheCallerCan(t *testing.T) {
	scratch.NeedRoot(t, "the attacker is another uid, the secret root's")
	e := newEnv(t, nil)
	os.Chmod(filepath.Dir(e.dir), 0o755)
	os.Chmod(e.dir, 0o755)
	secretDir := filepath.Join(e.dir, "secret")
	if err := os.Mkdir(secretDir, 0o700); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(secretDir, "shadow")
	content := fmt.Sprintf("root:$6$%d:secret\n", time.Now().UnixNano())
	if err := os.WriteFile(secret, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	secretHash := fmt.Sprintf("%x", sha256.Sum256([]byte(content)))
	mine := filepath.Join(e.dir, "mine")
	if err := os.Mkdir(mine, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(mine, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	var res raceResult
	child(t, e.sock, "1000 1000", "race", []string{"GATEHOUSE_CHILD_DIR=" + mine, "GATEHOUSE_CHILD_SECRET=" + secret}, &res)
	t.Logf("race: %d checks by path: %v", res.Answers, res.Statuses)
	if slices.Contains(res.Hashes, secretHash) {
		t.Errorf("the daemon returned the secret's SHA-256 to uid 1000 (%d checks: %v)", res.Answers, res.Statuses)
	}
	if res.Answers == 0 || res.Statuses["403"] != res.Answers {
		t.Errorf("checks by path as uid 1000: %v of %d, want all refused (403)", res.Statuses, res.Answers)
	}
	if !strings.Contains(res.OpenErr, "permission denied") {
		t.Errorf("uid 1000 opening the secret through a link: %q, want permission denied", res.OpenErr)
	}
	want := fmt.Sprintf("%x", sha256.Sum256([]byte("#!/bin/sh\necho mine\n")))
	if res.Own.SHA256 != want || res.Own.Path != filepath.Join(mine, "x") || res.Own.AppType != "script" {
		t.Errorf("uid 1000's own file sent as a descriptor: %+v, want %s with sha256 %s", res.Own, filepath.Join(mine, "x"), want)
	}
}

// TestOneUserCannotLockOthersOut: a user holding 250 idle connections gets
// 16; root and other users are still served (the 128 slots were global,
// and such a user locked everyone out, root included).
func TestOneUserCannotLockOthersOut(t *testing.T) {
	scratch.NeedRoot(t, "the user holding connections is another uid")
	e := newEnv(t, nil)
	os.Chmod(filepath.Dir(e.dir), 0o755)
	os.Chmod(e.dir, 0o755)
	var held holdResult
	stop := child(t, e.sock, "1000 1000", "hold", nil, &held)
	defer stop()
	if held.Held != 16 || held.Refused != 250-16 || !strings.Contains(held.Message, "503") || !strings.Contains(held.Message, "uid 1000 has 16 connections open") {
		t.Errorf("uid 1000 with 250 connections: %d held, %d refused (%.200q); want 16 held and the rest refused with a 503 that says why", held.Held, held.Refused, held.Message)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if st, err := e.client.Status(ctx); err != nil || !st.You.Root {
		t.Errorf("root's status while uid 1000 holds its connections: %+v %v", st.You, err)
	}
	var other localapi.Identity
	child(t, e.sock, "1001 1001", "", nil, &other)
	if other.UID != 1001 {
		t.Errorf("uid 1001's status while uid 1000 holds its connections: %+v", other)
	}
}

// TestCheckIsBounded: a file over the size limit is refused at once (a
// 1 TiB sparse file was hashed to its end, two cores busy long after the
// client left), and so is a pipe sent as the program.
func TestCheckIsBounded(t *testing.T) {
	e := newEnv(t, nil)
	huge, err := os.Create(filepath.Join(e.dir, "huge"))
	if err != nil {
		t.Fatal(err)
	}
	defer huge.Close()
	if err := huge.Truncate(1 << 40); err != nil {
		t.Fatalf("make a 1 TiB sparse file: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := e.client.Check(ctx, localapi.Check{}, []*os.File{huge}); !isStatus(err, 400) || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("check of a 1 TiB file: %v, want a 400 saying it is too large", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	before := openPipes(t, r) // its two ends
	for range 3 {
		if _, err := e.client.Check(ctx, localapi.Check{}, []*os.File{r}); !isStatus(err, 400) || !strings.Contains(err.Error(), "pipe") {
			t.Errorf("check of a pipe: %v, want a 400 refusing it", err)
		}
	}
	// The daemon keeps none of the descriptors it was sent.
	if n := openPipes(t, r); n != before {
		t.Errorf("the pipe is open %d times in this process after the checks, %d before (the daemon must close what it was sent)", n, before)
	}
}

// openPipes counts this process's descriptors open on the same pipe as f.
func openPipes(t *testing.T, f *os.File) int {
	t.Helper()
	want, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ent := range ents {
		if l, err := os.Readlink("/proc/self/fd/" + ent.Name()); err == nil && l == want {
			n++
		}
	}
	return n
}
