// Package consoletest runs a real console for tests: its server on
// loopback HTTPS over a real SQLite file or a real PostgreSQL database
// (console/pgtest), with its own CA and signing key, and the calls tests
// make of it — enrollment tokens, API tokens, machines enrolled through the
// real client. Imported by tests only.
package consoletest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/console/client"
	"github.com/gatehouse/gatehouse/console/pgtest"
	"github.com/gatehouse/gatehouse/console/pki"
	"github.com/gatehouse/gatehouse/console/server"
	"github.com/gatehouse/gatehouse/console/store"
)

// Console is a running console; it stops with the test.
type Console struct {
	Store  *store.Store
	CA     *pki.Authority
	Server *server.Server
	URL    string // https://127.0.0.1:port
}

// Backends are the databases a console runs on (On).
var Backends = []string{"sqlite", "postgres"}

// On runs a console on backend: SQLite in dir, or a new PostgreSQL
// database (skipping, or failing under CI, without a server: pgtest.DSN).
func On(t testing.TB, backend, dir string, opt server.Options) *Console {
	t.Helper()
	if backend == "postgres" {
		return StartPostgres(t, pgtest.DSN(t), opt)
	}
	return Start(t, dir, opt)
}

// Start runs a console whose database is SQLite in dir.
func Start(t testing.TB, dir string, opt server.Options) *Console {
	t.Helper()
	st, err := store.Open(filepath.Join(dir, "console.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ca, err := pki.Create(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if opt.Keep == nil {
		opt.Keep = server.KeepInDir(filepath.Join(dir, "pki"), st, time.Now)
	}
	return serve(t, st, ca, opt)
}

// StartPostgres runs a console node on the PostgreSQL database dsn, with
// the authority the database holds (made by the first node): calls with one
// dsn are nodes of one console.
func StartPostgres(t testing.TB, dsn string, opt server.Options) *Console {
	t.Helper()
	st, err := store.OpenPostgres(context.Background(), dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ca, _, err := server.SharedAuthority(context.Background(), st, time.Now(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if opt.Keep == nil {
		opt.Keep = server.KeepInStore(st, time.Now)
	}
	return serve(t, st, ca, opt)
}

func serve(t testing.TB, st *store.Store, ca *pki.Authority, opt server.Options) *Console {
	t.Helper()
	// The address first, so that the console knows its own URL (the links
	// it sends, single sign-on's way back).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "https://" + ln.Addr().String()
	if opt.PublicURL == "" {
		opt.PublicURL = url
	}
	srv := server.New(st, ca, opt)
	cert, err := ca.ServerCert([]string{"127.0.0.1"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.Listener.Close()
	ts.Listener = ln
	ts.TLS = srv.TLSConfig(cert)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.Run(ctx); close(done) }() // notifications
	t.Cleanup(func() { cancel(); <-done })
	return &Console{Store: st, CA: ca, Server: srv, URL: ts.URL}
}

// EnrollToken makes an enrollment token for uses machines (-1: any).
func (c *Console) EnrollToken(t testing.TB, uses int) string {
	t.Helper()
	secret := make([]byte, 32)
	rand.Read(secret)
	if err := c.Store.AddEnrollToken(context.Background(), server.EnrollSecretHash(secret), time.Now().Add(time.Hour), uses, nil, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	return server.FormatEnrollToken(secret, c.CA.CAHash())
}

// APIToken makes an API token for name with role.
func (c *Console) APIToken(t testing.TB, name, role string) string {
	t.Helper()
	tok := server.NewToken()
	if err := c.Store.AddAPIToken(context.Background(), server.HashToken(tok), store.Token{Name: name, Role: role}, "test", time.Now()); err != nil {
		t.Fatal(err)
	}
	return tok
}

// Enroll enrolls a machine named hostname (escrowing escrow) through the
// real client and returns a client speaking as it.
func (c *Console) Enroll(t testing.TB, hostname string, escrow []byte) (*client.Client, client.Identity) {
	t.Helper()
	id, err := client.Enroll(context.Background(), c.URL, c.EnrollToken(t, 1), client.Machine{Hostname: hostname, OfflineSecret: escrow})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(id)
	if err != nil {
		t.Fatal(err)
	}
	return cl, id
}

// HTTP is a client trusting the console's CA, for admin calls.
func (c *Console) HTTP() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.CA.ClientCAs()}}}
}

// Browser finds what the pages' Chromium tests need — node, Debian's
// chromium (or $CHROMIUM), playwright-core in frontend/node_modules (npm
// ci) — and returns node and the frontend directory, found from the
// working directory up. Without them the test skips, saying what is
// missing, except under CI, where scripts/setup installs them: there it
// fails.
func Browser(t testing.TB) (node, frontendDir string) {
	t.Helper()
	dir, _ := os.Getwd()
	for ; dir != filepath.Dir(dir); dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "frontend", "package.json")); err == nil {
			break
		}
	}
	frontendDir = filepath.Join(dir, "frontend")
	chromium := os.Getenv("CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	why := ""
	node, err := exec.LookPath("node")
	switch {
	case err != nil:
		why = "node is not installed (scripts/setup installs it)"
	case !exists(chromium):
		why = chromium + " is not installed (scripts/setup installs chromium)"
	case !exists(filepath.Join(frontendDir, "node_modules", "playwright-core")):
		why = "playwright-core is not installed: npm ci in frontend/ (scripts/setup does)"
	}
	if why != "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("the console's page tests need Chromium in CI: %s", why)
		}
		t.Skipf("needs Chromium: %s", why)
	}
	return node, frontendDir
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
