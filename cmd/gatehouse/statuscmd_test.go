package main

import (
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/localapi"
)

// standIn serves GET /v1/status with body on a real Unix socket, as a
// gatehoused would, and returns the socket's path.
func standIn(t *testing.T, body string) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "gatehoused.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(body))
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return sock
}

func statusBody(t *testing.T, audit *localapi.AuditHealth) string {
	t.Helper()
	b, err := json.Marshal(localapi.Status{Version: "v1", Started: time.Now().Add(-time.Hour), PolicyID: "corp",
		PolicyRevision: 3, Source: "fanotify", Counters: map[string]uint64{"audit_unwritten": 3002, "audit_dropped": 0},
		Audit: audit, You: localapi.Identity{User: "root", Root: true}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestStatusExitsNonZeroWhileAuditFails: gatehouse status prints the whole
// status and exits 3 while the daemon cannot write its audit log, 0 when
// it can, and 0 for a daemon too old to say.
func TestStatusExitsNonZeroWhileAuditFails(t *testing.T) {
	since := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	failing := &localapi.AuditHealth{Error: "write audit events to /var/lib/gatehouse/gatehouse.db: add events: database or disk is full; the disk is full: free space on the database's file system", FailingSince: since}
	for _, tc := range []struct {
		name  string
		audit *localapi.AuditHealth
		want  int
		says  []string
	}{
		{"failing", failing, exitAuditFailing, []string{"audit:   FAILING since " + since.Local().Format(time.RFC3339), "disk is full", "audit_unwritten", "3002", "policy:  corp revision 3"}},
		{"ok", &localapi.AuditHealth{OK: true}, exitOK, []string{"audit:   ok", "policy:  corp revision 3"}},
		{"older daemon", nil, exitOK, []string{"policy:  corp revision 3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sock := standIn(t, statusBody(t, tc.audit))
			code, out, errOut := runCLI(t, "status", "--socket", sock)
			if code != tc.want {
				t.Errorf("exit code %d, want %d; stderr %q", code, tc.want, errOut)
			}
			for _, s := range tc.says {
				if !strings.Contains(out, s) {
					t.Errorf("output lacks %q:\n%s", s, out)
				}
			}
			if tc.audit != nil && !tc.audit.OK && !strings.Contains(errOut, "audit log is failing") {
				t.Errorf("stderr %q, want it to say the audit log is failing", errOut)
			}
			// --json prints the status and exits alike.
			code, out, _ = runCLI(t, "status", "--json", "--socket", sock)
			var st localapi.Status
			if err := json.Unmarshal([]byte(out), &st); err != nil || code != tc.want || st.PolicyID != "corp" {
				t.Errorf("--json: exit %d (want %d), decode %v, status %+v", code, tc.want, err, st)
			}
		})
	}
}

// A user's status says their admin session: running, or what they may
// ask for, and the last one's end with what still runs as root.
func TestStatusSaysTheAdminSession(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	var b strings.Builder
	printAdmin(&b, &localapi.AdminStatus{GrantID: 4, Until: now.Add(12 * time.Minute)}, now)
	if !strings.Contains(b.String(), "(12m0s left)") {
		t.Errorf("running: %q", b.String())
	}
	b.Reset()
	printAdmin(&b, &localapi.AdminStatus{Offer: &localapi.AdminOffer{Entry: "dev", Require: "justification", Max: "1h0m0s", Default: "15m0s"},
		Ended: &localapi.EndedAdmin{GrantID: 3, At: now, Why: "ended at logout", StillRoot: []localapi.RootProcess{{PID: 72, Exe: "/bin/bash"}}}}, now)
	for _, want := range []string{"up to 1h0m0s, default 15m0s, requirement justification", "the last session ended at logout", "still running as root: /bin/bash (pid 72)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("offer and end: %q lacks %q", b.String(), want)
		}
	}
}
