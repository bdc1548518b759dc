package authdb

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"howett.net/plist"

	"github.com/gatehouse/gatehouse/localapi"
)

// The authorization plugin's C shim (build/darwin/authplugin) is held
// here: it must stay valid C without a macOS SDK, and its exchange is run
// on a real Unix socket, through a harness that stands in for authd
// (testdata/shimharness.c), against a stand-in server that answers what
// each test needs; cmd/gatehoused's TestE2EAuthPluginShim runs the same
// harness against the real gatehoused.

var pluginDir = filepath.Join("..", "..", "build", "darwin", "authplugin")

// compiler returns gcc, or skips the test without it (fails under CI,
// where scripts/setup installs it).
func compiler(t *testing.T) string {
	t.Helper()
	gcc, err := exec.LookPath("gcc")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("gcc is needed to check the authorization plugin's C (scripts/setup installs it): %v", err)
		}
		t.Skipf("no gcc, so the authorization plugin's C is not checked (scripts/setup installs it): %v", err)
	}
	return gcc
}

var cflags = []string{"-std=gnu11", "-Wall", "-Wextra", "-Werror", "-I", filepath.Join(pluginDir, "stub")}

func TestShimIsValidC(t *testing.T) {
	gcc := compiler(t)
	args := append(append([]string{"-fsyntax-only"}, cflags...), filepath.Join(pluginDir, "GatehouseAuth.c"))
	if out, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// The shim's constants are the Go side's.
func TestShimAndBundleMatchTheGoSide(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(pluginDir, "GatehouseAuth.c"))
	if err != nil {
		t.Fatal(err)
	}
	darwin, err := os.ReadFile(filepath.Join("..", "..", "localapi", "socket_darwin.go"))
	if err != nil {
		t.Fatal(err)
	}
	goSocket := regexp.MustCompile(`const DefaultSocket = "([^"]+)"`).FindSubmatch(darwin)
	cSocket := regexp.MustCompile(`#define GH_SOCKET "([^"]+)"`).FindSubmatch(src)
	if goSocket == nil || cSocket == nil || string(goSocket[1]) != string(cSocket[1]) {
		t.Errorf("the shim's socket %q is not localapi.DefaultSocket on darwin %q", cSocket, goSocket)
	}
	if !strings.Contains(string(src), `strcmp(id, "decide")`) || Mechanism != Plugin+":decide,privileged" {
		t.Errorf("the shim's mechanism is not %s", Mechanism)
	}

	info, err := os.ReadFile(filepath.Join(pluginDir, "Info.plist"))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if _, err := plist.Unmarshal(info, &got); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"CFBundleIdentifier": BundleID, "CFBundleExecutable": BundleExecutable, "CFBundlePackageType": "BNDL"} {
		if got[k] != want {
			t.Errorf("Info.plist %s = %v, want %s", k, got[k], want)
		}
	}
	mk, err := os.ReadFile(filepath.Join(pluginDir, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{Plugin + ".bundle", "/Contents/MacOS/" + BundleExecutable, PluginDir} {
		if !strings.Contains(string(mk), want) {
			t.Errorf("the Makefile does not build or install %s", want)
		}
	}
}

// harness builds testdata/shimharness.c, which includes the shim.
func harness(t *testing.T) string {
	t.Helper()
	gcc := compiler(t)
	bin := filepath.Join(t.TempDir(), "shimharness")
	args := append(append([]string{}, cflags...), "-I", pluginDir, "-o", bin, filepath.Join("testdata", "shimharness.c"))
	if out, err := exec.Command(gcc, args...).CombinedOutput(); err != nil {
		t.Fatalf("gcc %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return bin
}

// socketPath is a short path (sun_path holds about 100 bytes).
func socketPath(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ghshim")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "s")
}

// run runs the harness and returns the result it printed.
func run(t *testing.T, bin string, args ...string) string {
	t.Helper()
	// The shim's budget is 2 s; this bounds a hang, it measures nothing.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("shimharness %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// gatehoused is a local API that answers POST /v1/authorize as
// apiserver does (JSON from json.Encoder) and records what it was asked.
type gatehoused struct {
	path    string
	answer  func(q localapi.Authorize) (int, any)
	mu      sync.Mutex
	asked   []localapi.Authorize
	headers []http.Header
}

func serve(t *testing.T, answer func(q localapi.Authorize) (int, any)) *gatehoused {
	t.Helper()
	g := &gatehoused{path: socketPath(t), answer: answer}
	l, err := net.Listen("unix", g.path)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/authorize", func(w http.ResponseWriter, r *http.Request) {
		var q localapi.Authorize
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&q); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"error":%q}`, err.Error())
			return
		}
		g.mu.Lock()
		g.asked = append(g.asked, q)
		g.headers = append(g.headers, r.Header.Clone())
		g.mu.Unlock()
		code, out := g.answer(q)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(out)
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return g
}

func (g *gatehoused) questions() []localapi.Authorize {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]localapi.Authorize(nil), g.asked...)
}

func verdict(v string) func(localapi.Authorize) (int, any) {
	return func(q localapi.Authorize) (int, any) {
		return http.StatusOK, localapi.AuthorizeResult{Verdict: v, Action: "allow", Rule: 3, RuleName: "settings",
			Program: "/System/Applications/System Settings.app/Contents/MacOS/System Settings", Title: "Network settings"}
	}
}

func TestShimRelaysGatehousedsVerdicts(t *testing.T) {
	bin := harness(t)
	const right = "system.preferences.network"
	for _, tc := range []struct {
		verdict, want string
	}{
		{"yes", "allow"},
		{"no", "canceled"},
		{"not_handled", "deny"},
		{"maybe", "deny"},
	} {
		t.Run(tc.verdict, func(t *testing.T) {
			g := serve(t, verdict(tc.verdict))
			if got := run(t, bin, g.path, right, "token", "4242", "501"); got != tc.want {
				t.Errorf("verdict %s: the mechanism set %s, want %s", tc.verdict, got, tc.want)
			}
			want := []localapi.Authorize{{Right: right, PID: 4242, UID: 501}}
			if diff := cmp.Diff(want, g.questions()); diff != "" {
				t.Errorf("gatehoused was asked (-want +got):\n%s", diff)
			}
			if ua := g.headers[0].Get("User-Agent"); ua != "gatehouse-authplugin" {
				t.Errorf("User-Agent %q", ua)
			}
		})
	}
	t.Run("the client when there is no creator token", func(t *testing.T) {
		g := serve(t, verdict("yes"))
		if got := run(t, bin, g.path, right, "client", "777", "502"); got != "allow" {
			t.Errorf("got %s", got)
		}
		if diff := cmp.Diff([]localapi.Authorize{{Right: right, PID: 777, UID: 502}}, g.questions()); diff != "" {
			t.Errorf("gatehoused was asked (-want +got):\n%s", diff)
		}
	})
	t.Run("an answer net/http would chunk over HTTP/1.1", func(t *testing.T) {
		g := serve(t, func(localapi.Authorize) (int, any) {
			return http.StatusOK, localapi.AuthorizeResult{Verdict: "yes", Program: "/Applications/" + strings.Repeat("x", 3000)}
		})
		if got := run(t, bin, g.path, right, "token", "1", "0"); got != "allow" {
			t.Errorf("got %s", got)
		}
	})
	t.Run("a refusal", func(t *testing.T) {
		g := serve(t, func(localapi.Authorize) (int, any) {
			return http.StatusForbidden, localapi.Error{Error: "uid 501 may not decide authorization requests"}
		})
		if got := run(t, bin, g.path, right, "token", "1", "0"); got != "deny" {
			t.Errorf("got %s", got)
		}
	})
}

func TestShimLeavesTheRightToItsRulesWithoutAQuestion(t *testing.T) {
	bin := harness(t)
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no right hint", []string{"-", "token", "1", "501"}},
		{"a right gatehoused would refuse", []string{"system.preferences network", "token", "1", "501"}},
		{"a right too long", []string{strings.Repeat("a", 256), "token", "1", "501"}},
		{"no subject hints", []string{"system.preferences", "none"}},
		{"pid 0", []string{"system.preferences", "token", "0", "501"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := serve(t, verdict("yes"))
			if got := run(t, bin, append([]string{g.path}, tc.args...)...); got != "deny" {
				t.Errorf("got %s, want deny", got)
			}
			if q := g.questions(); len(q) != 0 {
				t.Errorf("gatehoused was asked %v", q)
			}
		})
	}
	t.Run("no gatehoused", func(t *testing.T) {
		if got := run(t, bin, socketPath(t), "system.preferences", "token", "1", "501"); got != "deny" {
			t.Errorf("got %s, want deny", got)
		}
	})
}

// raw serves one canned answer per connection, after reading the request
// as Go's server would.
func raw(t *testing.T, answer string, hold time.Duration) (string, *atomic.Int32) {
	t.Helper()
	path := socketPath(t)
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var bad atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil || req.Method != "POST" || req.URL.Path != "/v1/authorize" || req.Header.Get("Content-Type") != "application/json" {
					bad.Add(1)
					return
				}
				time.Sleep(hold)
				c.Write([]byte(answer))
			}()
		}
	}()
	return path, &bad
}

func TestShimRefusesAnythingUnexpected(t *testing.T) {
	bin := harness(t)
	ok := func(body string) string {
		return fmt.Sprintf("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	}
	for _, tc := range []struct {
		name, answer, want string
	}{
		{"the plain answer", ok(`{"verdict":"yes","action":"allow","rule":3,"program":"/bin/x"}` + "\n"), "allow"},
		{"verdict last, spaced", ok(`{ "rule" : 0 , "title" : "a \"verdict\": \"yes\"" , "verdict" : "no" }`), "canceled"},
		{"an HTTP/1.1 status line", strings.Replace(ok(`{"verdict":"yes"}`), "HTTP/1.0", "HTTP/1.1", 1), "allow"},
		{"no Content-Length", "HTTP/1.0 200 OK\r\n\r\n{\"verdict\":\"yes\"}", "allow"},
		{"a Content-Length that does not match", "HTTP/1.0 200 OK\r\nContent-Length: 99\r\n\r\n{\"verdict\":\"yes\"}", "deny"},
		{"two Content-Lengths", "HTTP/1.0 200 OK\r\nContent-Length: 17\r\nContent-Length: 17\r\n\r\n{\"verdict\":\"yes\"}", "deny"},
		{"a chunked body", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n11\r\n{\"verdict\":\"yes\"}\r\n0\r\n\r\n", "deny"},
		{"another status", "HTTP/1.0 201 Created\r\n\r\n{\"verdict\":\"yes\"}", "deny"},
		{"no header end", "HTTP/1.0 200 OK\r\nContent-Length: 17\r\n{\"verdict\":\"yes\"}", "deny"},
		{"not HTTP", `{"verdict":"yes"}`, "deny"},
		{"nothing", "", "deny"},
		{"an escaped verdict", ok(`{"verdict":"y\u0065s"}`), "deny"},
		{"an escaped key", ok(`{"verd\u0069ct":"yes"}`), "deny"},
		{"two verdicts", ok(`{"verdict":"no","verdict":"yes"}`), "deny"},
		{"a verdict not a string", ok(`{"verdict":true}`), "deny"},
		{"a nested value", ok(`{"verdict":"yes","extra":{"a":1}}`), "deny"},
		{"an array", ok(`["verdict","yes"]`), "deny"},
		{"an empty object", ok(`{}`), "deny"},
		{"no verdict", ok(`{"action":"allow"}`), "deny"},
		{"data after the object", ok(`{"verdict":"yes"} {"verdict":"yes"}`), "deny"},
		{"a trailing comma", ok(`{"verdict":"yes",}`), "deny"},
		{"an unterminated string", ok(`{"verdict":"yes`), "deny"},
		{"a control character in a string", ok("{\"title\":\"a\x01b\",\"verdict\":\"yes\"}"), "deny"},
		{"an answer larger than the buffer", ok(`{"verdict":"yes","title":"` + strings.Repeat("x", 9000) + `"}`), "deny"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, bad := raw(t, tc.answer, 0)
			if got := run(t, bin, path, "system.install.software", "token", "99", "501"); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
			if bad.Load() != 0 {
				t.Errorf("the shim's request did not read as POST /v1/authorize with JSON")
			}
		})
	}
	t.Run("no answer within the budget", func(t *testing.T) {
		// gatehoused says yes after 5 s: deny means the 2 s budget ended the wait.
		path, _ := raw(t, ok(`{"verdict":"yes"}`), 5*time.Second)
		if got := run(t, bin, path, "system.install.software", "token", "99", "501"); got != "deny" {
			t.Errorf("got %s, want deny", got)
		}
	})
}
