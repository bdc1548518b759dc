package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/console/client"
	"github.com/gatehouse/gatehouse/console/pgtest"
	"github.com/gatehouse/gatehouse/console/pki"
	"github.com/gatehouse/gatehouse/console/server"
	"github.com/gatehouse/gatehouse/console/signed"
	"github.com/gatehouse/gatehouse/console/store"
	"github.com/gatehouse/gatehouse/offline"
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

	addr, caHash, stop := start(t, "--data", data)
	if !strings.HasSuffix(token, "."+caHash) {
		t.Errorf("the enrollment token %s does not name the CA the server serves (%s)", token, caHash)
	}
	id, err := client.Enroll(context.Background(), "https://"+addr, token, client.Machine{Hostname: "mac-01"})
	if err != nil {
		t.Fatal(err)
	}
	if id.MachineID == "" || len(id.SigningKeys) != 1 {
		t.Errorf("identity %+v", id)
	}
	stop()
	_, again, stop2 := start(t, "--data", data)
	defer stop2()
	if again != caHash {
		t.Errorf("a restart made a new CA: %s, was %s", again, caHash)
	}
	if code := run(context.Background(), []string{"token", "create", "--data", data, "--name", "x", "--role", "root"}, io.Discard, &errb); code != 2 {
		t.Errorf("an unknown role: code %d", code)
	}
}

// start runs serve (with where: --data DIR or --database DSN) on a free
// port and returns its address and CA hash.
func start(t *testing.T, where ...string) (addr, caHash string, stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0", "--name", "127.0.0.1"}, where...), pw, io.Discard)
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

// Two nodes on one PostgreSQL database are one console: the first to start
// makes the CA both serve, a machine enrolled through one is known to the
// other, and a decision given on one reaches the machine's long poll on the
// other within a second (LISTEN/NOTIFY).
func TestTwoNodesOnPostgreSQLAreOneConsole(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	var tokOut, enrollOut, errb bytes.Buffer
	if code := run(ctx, []string{"token", "create", "--database", dsn, "--name", "ann", "--role", "approver"}, &tokOut, &errb); code != 0 {
		t.Fatalf("token create: %d %s", code, errb.String())
	}
	if code := run(ctx, []string{"token", "enroll", "--database", dsn}, &enrollOut, &errb); code != 0 {
		t.Fatalf("token enroll: %d %s", code, errb.String())
	}
	addrA, hashA, stopA := start(t, "--database", dsn)
	defer stopA()
	addrB, hashB, stopB := start(t, "--database", dsn)
	defer stopB()
	if hashA != hashB || !strings.HasSuffix(strings.TrimSpace(enrollOut.String()), "."+hashA) {
		t.Fatalf("the nodes serve CAs %s and %s; the token names %s", hashA, hashB, enrollOut.String())
	}
	id, err := client.Enroll(ctx, "https://"+addrA, strings.TrimSpace(enrollOut.String()), client.Machine{Hostname: "mac-01"})
	if err != nil {
		t.Fatal(err)
	}
	id.URL = "https://" + addrB // the load balancer sends it to the other node
	cl, err := client.New(id)
	if err != nil {
		t.Fatal(err)
	}
	rid, err := cl.UploadRequest(ctx, server.RequestUpload{EndpointID: 1, Created: time.Now(), UID: 501, User: "alice", Kind: "approval", Path: "/opt/tool"})
	if err != nil {
		t.Fatalf("node B refused the machine node A enrolled: %v", err)
	}
	type result struct {
		ds  []server.DecisionWire
		err error
		at  time.Time
	}
	got := make(chan result, 1)
	go func() {
		ds, _, err := cl.Decisions(ctx, 0, 20*time.Second)
		got <- result{ds, err, time.Now()}
	}()
	time.Sleep(200 * time.Millisecond) // the poll is waiting on node B
	ca, err := pki.PinCA(id.CAPEM, hashA)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest("POST", fmt.Sprintf("https://%s/v1/admin/requests/%d/decide", addrA, rid), strings.NewReader(`{"approve":true,"note":"ok"}`))
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tokOut.String()))
	decided := time.Now()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("decide on node A: HTTP %d", resp.StatusCode)
	}
	select {
	case r := <-got:
		if r.err != nil || len(r.ds) != 1 || !r.ds[0].Approve {
			t.Fatalf("the poll on node B got %+v, %v", r.ds, r.err)
		}
		if lag := r.at.Sub(decided); lag > time.Second {
			t.Errorf("the decision reached node B's poll after %v, want at most 1 s", lag)
		} else {
			t.Logf("decided on node A, received from node B %v later", lag)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the decision made on node A never reached the poll on node B")
	}

	// The signing key rotated on node A: node B signs with the new key and
	// announces it (it reloaded the keys from the database), signed by the
	// key the machine pinned.
	admin := func(addr, token, path, body string) int {
		req, _ := http.NewRequest("POST", "https://"+addr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	var rootOut bytes.Buffer
	if code := run(ctx, []string{"token", "create", "--database", dsn, "--name", "root", "--role", "admin"}, &rootOut, &errb); code != 0 {
		t.Fatalf("token create: %d %s", code, errb.String())
	}
	if code := admin(addrA, strings.TrimSpace(rootOut.String()), "/v1/admin/signing-key/rotate", ""); code != 200 {
		t.Fatalf("rotate on node A: %d", code)
	}
	rid2, err := cl.UploadRequest(ctx, server.RequestUpload{EndpointID: 2, Created: time.Now(), UID: 501, User: "alice", Kind: "approval", Path: "/opt/tool"})
	if err != nil {
		t.Fatal(err)
	}
	var keys *server.KeysWire
	deadline := time.Now().Add(5 * time.Second)
	for keys == nil && time.Now().Before(deadline) { // node B hears of the rotation through NOTIFY
		if _, keys, err = cl.Decisions(ctx, 1, 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	if code := admin(addrB, strings.TrimSpace(tokOut.String()), fmt.Sprintf("/v1/admin/requests/%d/decide", rid2), `{"approve":true}`); code != 200 {
		t.Fatalf("decide on node B: %d", code)
	}
	ds, keys, err := cl.Decisions(ctx, 1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if keys == nil || len(keys.Keys) != 2 || len(ds) != 1 {
		t.Fatalf("node B after the rotation on node A: keys %v, decisions %+v", keys, ds)
	}
	f := signed.DecisionFields(id.MachineID, ds[0].EndpointID, ds[0].Approve, ds[0].WindowStart, ds[0].WindowEnd, ds[0].PolicyRevision)
	if !signed.Verify([]ed25519.PublicKey{keys.Keys[0]}, ds[0].Signature, signed.KindDecision, f...) {
		t.Error("node B did not sign with the new key")
	}
}

// An administrator's own CA (--ca-cert, --ca-key) is the one machines pin,
// and a configured server certificate (--tls-cert, --tls-key) is served
// only when it chains to it.
func TestServeWithYourOwnCAAndCertificate(t *testing.T) {
	dir := t.TempDir()
	own, err := pki.Create(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	files, _ := own.Files()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	caCert, caKey := write("ca.pem", files["ca.pem"]), write("ca-key.pem", files["ca-key.pem"])
	writeCert := func(prefix string, a *pki.Authority) (string, string) {
		c, err := a.ServerCert([]string{"127.0.0.1"}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		k, _ := pki.KeyPEM(c.PrivateKey)
		return write(prefix+"-cert.pem", pki.CertPEM(c.Certificate[0])), write(prefix+"-key.pem", k)
	}
	cert, key := writeCert("server", own)
	data := filepath.Join(dir, "data")
	addr, hash, stop := start(t, "--data", data, "--ca-cert", caCert, "--ca-key", caKey, "--tls-cert", cert, "--tls-key", key)
	if hash != own.CAHash() {
		t.Errorf("serving CA %s, want the administrator's %s", hash, own.CAHash())
	}
	var tok, errOut bytes.Buffer
	if code := run(context.Background(), []string{"token", "enroll", "--data", data}, &tok, &errOut); code != 0 {
		t.Fatalf("token enroll: %s", errOut.String())
	}
	if _, err := client.Enroll(context.Background(), "https://"+addr, strings.TrimSpace(tok.String()), client.Machine{Hostname: "mac-9"}); err != nil {
		t.Errorf("enrolling through the configured certificate: %v", err)
	}
	stop()
	other, _ := pki.Create(time.Now())
	badCert, badKey := writeCert("other", other)
	var errb bytes.Buffer
	code := run(context.Background(), []string{"serve", "--data", data, "--listen", "127.0.0.1:0", "--tls-cert", badCert, "--tls-key", badKey}, io.Discard, &errb)
	if code != 1 || !strings.Contains(errb.String(), "does not chain to the console's CA") {
		t.Errorf("a server certificate from another CA: exit %d, %q", code, errb.String())
	}
	otherFiles, _ := other.Files()
	oc, ok := write("o.pem", otherFiles["ca.pem"]), write("ok.pem", otherFiles["ca-key.pem"])
	code = run(context.Background(), []string{"serve", "--data", data, "--listen", "127.0.0.1:0", "--ca-cert", oc, "--ca-key", ok}, io.Discard, &errb)
	if code != 1 || !strings.Contains(errb.String(), "holds another CA already") {
		t.Errorf("another CA over the one in use: exit %d, %q", code, errb.String())
	}
}

// The help desk's code from the command line: the machine found by the
// name its user reads out, the code the machine accepts, the use audited
// with the account and the reason; a name two machines share is refused.
func TestOfflineCodeFromTheCommandLine(t *testing.T) {
	data := t.TempDir()
	addr, _, stop := start(t, "--data", data)
	defer stop()
	secret := offline.NewSecret()
	for i := range 2 {
		var tok, errb bytes.Buffer
		if code := run(context.Background(), []string{"token", "enroll", "--data", data}, &tok, &errb); code != 0 {
			t.Fatal(errb.String())
		}
		m := client.Machine{Hostname: "Finance laptop 7", OfflineName: "laptop-7", OfflineSecret: []byte(secret.Export())}
		if i == 1 {
			m = client.Machine{Hostname: "desk-2", OfflineName: "desk-2", OfflineSecret: []byte(offline.NewSecret().Export())}
		}
		if _, err := client.Enroll(context.Background(), "https://"+addr, strings.TrimSpace(tok.String()), m); err != nil {
			t.Fatal(err)
		}
	}
	rc := offline.NewRequestCode()
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"offline-code", "--data", data, "--machine", "LAPTOP-7", "--request-code", rc, "--revision", "12", "--reason", "ticket 4711, user on the phone"}, &out, &errb); code != 0 {
		t.Fatalf("offline-code: %d %s", code, errb.String())
	}
	got, _, _ := strings.Cut(out.String(), "\t")
	if err := offline.Verify(secret, offline.Challenge{Machine: "laptop-7", Revision: 12, RequestCode: rc, Day: offline.DayOf(time.Now())}, got); err != nil {
		t.Errorf("the machine refuses the code %q: %v", got, err)
	}
	st, err := store.Open(filepath.Join(data, "console.db"))
	if err != nil {
		t.Fatal(err)
	}
	log, _ := st.Audit(context.Background())
	st.Close()
	audited := false
	for _, e := range log {
		audited = audited || e.Action == "offline-code" && strings.HasPrefix(e.Actor, "gatehouse-console offline-code (") && strings.Contains(e.Detail, "ticket 4711")
	}
	if !audited {
		t.Error("the code issued from the command line is not audited with the account and the reason")
	}
	errb.Reset()
	if code := run(context.Background(), []string{"offline-code", "--data", data, "--machine", "nobody-here", "--request-code", rc, "--revision", "12", "--reason", "ticket 4711"}, io.Discard, &errb); code != 1 || !strings.Contains(errb.String(), "no machine is called") {
		t.Errorf("an unknown machine: %d %q", code, errb.String())
	}
	errb.Reset()
	if code := run(context.Background(), []string{"offline-code", "--data", data, "--machine", "desk-2", "--request-code", rc, "--revision", "12", "--reason", "no"}, io.Discard, &errb); code != 1 || !strings.Contains(errb.String(), "reason is required") {
		t.Errorf("a short reason: %d %q", code, errb.String())
	}
}

// user add takes the password from stdin or makes one (printed once);
// user password sets a new one.
func TestUsersFromTheCommandLine(t *testing.T) {
	data := t.TempDir()
	var out, errb bytes.Buffer
	if code := userCmd("add", []string{"--data", data, "--name", "ann", "--role", "approver"}, strings.NewReader("correct horse battery\n"), &out, &errb); code != 0 || out.Len() != 0 {
		t.Fatalf("user add with a password: %d %q %s", code, out.String(), errb.String())
	}
	if code := userCmd("add", []string{"--data", data, "--name", "bob", "--role", "auditor"}, strings.NewReader(""), &out, &errb); code != 0 || len(strings.TrimSpace(out.String())) != 26 {
		t.Fatalf("user add making a password: %d %q %s", code, out.String(), errb.String())
	}
	errb.Reset()
	if code := userCmd("add", []string{"--data", data, "--name", "ann", "--role", "approver"}, strings.NewReader("another long password\n"), io.Discard, &errb); code != 1 || !strings.Contains(errb.String(), "exists already") {
		t.Errorf("the same name again: %d %q", code, errb.String())
	}
	errb.Reset()
	if code := userCmd("add", []string{"--data", data, "--name", "cat", "--role", "root"}, strings.NewReader(""), io.Discard, &errb); code != 2 {
		t.Errorf("an unknown role: %d", code)
	}
	if code := userCmd("password", []string{"--data", data, "--name", "ann"}, strings.NewReader("a new long password\n"), io.Discard, &errb); code != 0 {
		t.Errorf("user password: %d %s", code, errb.String())
	}
	st, err := store.Open(filepath.Join(data, "console.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if u, err := st.GetUser(context.Background(), "ann"); err != nil || u.Role != "approver" || !strings.HasPrefix(u.Password, "$argon2id$") {
		t.Errorf("ann: %+v, %v", u, err)
	}
}
