package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/console/client"
)

// serve with nothing but a data directory makes its keys, listens, and a
// machine enrolls with a token from `token enroll`; a second start keeps
// the same CA.
func TestServeWithNoConfigurationWorks(t *testing.T) {
	data := t.TempDir()
	var tokOut, errb bytes.Buffer
	if code := run(context.Background(), []string{"token", "create", "--data", data, "--name", "alice", "--role", "admin"}, &tokOut, &errb); code != 0 || !strings.HasPrefix(tokOut.String(), "gha1.") {
		t.Fatalf("token create: %d %q %s", code, tokOut.String(), errb.String())
	}
	var enrollOut bytes.Buffer
	if code := run(context.Background(), []string{"token", "enroll", "--data", data, "--tag", "lab"}, &enrollOut, &errb); code != 0 {
		t.Fatalf("token enroll: %d %s", code, errb.String())
	}
	token := strings.TrimSpace(enrollOut.String())

	addr, caHash, stop := start(t, data)
	if !strings.HasSuffix(token, "."+caHash) {
		t.Errorf("the enrollment token %s does not name the CA the server serves (%s)", token, caHash)
	}
	id, err := client.Enroll(context.Background(), "https://"+addr, token, "mac-01", nil)
	if err != nil {
		t.Fatal(err)
	}
	if id.MachineID == "" || len(id.SigningKeys) != 1 {
		t.Errorf("identity %+v", id)
	}
	stop()
	_, again, stop2 := start(t, data)
	defer stop2()
	if again != caHash {
		t.Errorf("a restart made a new CA: %s, was %s", again, caHash)
	}
	if code := run(context.Background(), []string{"token", "create", "--data", data, "--name", "x", "--role", "root"}, io.Discard, &errb); code != 2 {
		t.Errorf("an unknown role: code %d", code)
	}
}

// start runs serve on a free port and returns its address and CA hash.
func start(t *testing.T, data string) (addr, caHash string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--data", data, "--listen", "127.0.0.1:0", "--name", "127.0.0.1"}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("serve printed nothing: %v", err)
	}
	go io.Copy(io.Discard, pr)
	m := regexp.MustCompile(`listening on https://(\S+) .*CA sha256 ([0-9a-f]{64})`).FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("serve said %q", line)
	}
	return m[1], m[2], func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("serve exited %d", code)
			}
		case <-time.After(10 * time.Second):
			t.Error("serve did not stop within 10 s")
		}
	}
}
