package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/console/consoletest"
	"github.com/gatehouse/gatehouse/console/server"
	"github.com/gatehouse/gatehouse/policy"
)

const draft = `id: fleet
revision: 5
default: allow
groups:
  - name: tool
    definitions: [{path: {starts_with: /opt/tool}}]
  - name: legacy
    definitions: [{path: {exact: /opt/legacy}}]
  - name: evil
    definitions: [{type: binary, publisher: {exact: Evil Corp}}]
  - name: risky-env
    definitions: [{type: binary, path: {exact: /usr/bin/env}, args: {contains: --rm}}]
rules:
  - {group: tool, action: deny}
  - {group: legacy, action: allow}
  - {group: evil, action: deny}
  - {group: risky-env, action: deny}
`

// What-if over a recorded event set with known answers: the draft denies
// /opt/tool (allowed for alice on mac-1 and bob on mac-2), allows
// /opt/legacy (denied), denies /usr/bin/env with --rm in its arguments
// (read from the events), and denies a publisher the events do not carry —
// which matches no event, and the answer says code signatures are
// missing. Programs decided alike, events of other kinds and events older
// than the days asked are not listed.
func TestWhatIfReplaysADraftOverTheEvents(t *testing.T) {
	eachConsole(t, func(t *testing.T, c *console) {
		m1, _ := c.machine("mac-1")
		m2, _ := c.machine("mac-2")
		now := time.Now().Add(-time.Hour)
		m1.UploadEvents(t.Context(), []server.EventWire{
			{ID: 1, Time: now, Kind: "exec", Action: "allow", Allowed: true, UID: 501, User: "alice", Path: "/opt/tool/run", SHA256: "aa"},
			{ID: 2, Time: now, Kind: "exec", Action: "deny", UID: 501, User: "alice", Path: "/opt/legacy", Rule: 4},
			{ID: 3, Time: now, Kind: "exec", Action: "allow", Allowed: true, UID: 501, User: "alice", Path: "/usr/bin/true", Detail: []byte(`{"app_type":"binary"}`)},
			{ID: 4, Time: now.Add(-30 * 24 * time.Hour), Kind: "exec", Action: "allow", Allowed: true, User: "old", Path: "/opt/tool/run"},
			{ID: 6, Time: now, Kind: "exec", Action: "allow", Allowed: true, User: "alice", Path: "/usr/bin/env", Detail: []byte(`{"args":["--rm","x"],"app_type":"binary"}`)},
			{ID: 7, Time: now, Kind: "exec", Action: "allow", Allowed: true, User: "alice", Path: "/usr/bin/env", Detail: []byte(`{"args":["ls"],"app_type":"binary"}`)},
			{ID: 5, Time: now, Kind: "policy", Action: "", Path: ""},
		})
		m2.UploadEvents(t.Context(), []server.EventWire{
			{ID: 1, Time: now, Kind: "exec", Action: "allow", Allowed: true, UID: 502, User: "bob", Path: "/opt/tool/run", SHA256: "aa"},
			{ID: 2, Time: now, Kind: "exec", Action: "deny", UID: 502, User: "bob", Path: "/opt/tool/run", SHA256: "aa"},
		})
		var res server.WhatIfResult
		if code := c.admin("aud", "POST", "/v1/admin/whatif", server.WhatIfRequest{Name: "fleet", YAML: draft, Days: 7}, &res); code != 200 {
			t.Fatalf("what-if: %d", code)
		}
		if res.Events != 7 || res.Revision != 5 {
			t.Errorf("%d events replayed (want the 7 execs of the last 7 days), revision %d", res.Events, res.Revision)
		}
		type row struct {
			path, was, would string
			events, rule     int
			users, computers string
		}
		want := []row{
			{"/opt/tool/run", "allow", "deny", 2, 1, "alice,bob", "mac-1,mac-2"},
			{"/opt/legacy", "deny", "allow", 1, 2, "alice", "mac-1"},
			{"/usr/bin/env", "allow", "deny", 1, 4, "alice", "mac-1"},
		}
		if len(res.Changed) != len(want) {
			t.Fatalf("changed %+v, want %d rows", res.Changed, len(want))
		}
		join := func(v []string) string {
			out := ""
			for i, s := range v {
				if i > 0 {
					out += ","
				}
				out += s
			}
			return out
		}
		for i, w := range want {
			g := res.Changed[i]
			got := row{g.Path, g.Was, g.Would, g.Events, g.WouldRule, join(g.Users), join(g.Computers)}
			if got != w {
				t.Errorf("row %d: %+v, want %+v", i, got, w)
			}
		}
		if len(res.Missing) != 1 || !strings.Contains(res.Missing[0], "code signature") || !strings.Contains(res.Missing[0], "for 7 execs") {
			t.Errorf("missing %q", res.Missing)
		}
		var bad map[string]any
		if code := c.admin("aud", "POST", "/v1/admin/whatif", server.WhatIfRequest{YAML: "id: x\nrules: [{group: nope, action: deny}]\n"}, &bad); code != 400 || bad["diagnostics"] == nil {
			t.Errorf("a draft with errors: %d %v", code, bad)
		}
		if code := c.admin("aud", "POST", "/v1/admin/whatif", server.WhatIfRequest{YAML: draft, Days: 365}, nil); code != 400 {
			t.Errorf("365 days: %d", code)
		}
	})
}

const factsDraft = `id: fleet
revision: 6
default: allow
groups:
  - name: evil
    definitions: [{type: binary, publisher: {exact: Evil Corp}}]
  - name: quiet
    definitions: [{type: binary, team_id: {exact: QUIET12345}}]
  - name: ctool
    definitions: [{path: {exact: /opt/ctool}}]
  - name: updater
    definitions: [{type: binary, publisher: {exact: Updater Inc}}]
  - name: curl-from-updater
    definitions: [{type: binary, path: {exact: /usr/bin/curl}, parent: {group: updater, any_ancestor: true}}]
rules:
  - {group: evil, action: deny}
  - {group: quiet, action: deny}
  - {group: ctool, action: deny, user_groups: [contractors]}
  - {group: curl-from-updater, action: deny}
`

// sha is a SHA-256 made of one repeated hex digit.
func sha(c byte) string { return strings.Repeat(string(c), 64) }

// programEvent is a machine's first record of a program, as consolesync
// sends it: the facts in the detail's detail.
func programEvent(t *testing.T, id int64, at time.Time, path string, rec policy.SubjectRecord, first map[string]any) server.EventWire {
	t.Helper()
	rec.Path, rec.Type = path, "binary"
	facts, _ := json.Marshal(rec)
	d := map[string]any{"app_type": "binary", "detail": string(facts)}
	ev := server.EventWire{ID: id, Time: at, Kind: "program", Path: path, SHA256: rec.SHA256}
	for k, v := range first {
		switch k {
		case "action":
			ev.Action, ev.Allowed = v.(string), v.(string) == "allow"
		case "user":
			ev.User = v.(string)
		default:
			d[k] = v
		}
	}
	ev.Detail, _ = json.Marshal(d)
	return ev
}

// What-if on criteria the exec events do not carry, from the programs'
// records: a publisher (Evil Corp, recorded on mac-1 only: mac-2's exec of
// it has no record and is counted as missing facts), a team id of a
// program allowed without audit (no exec event: replayed once as first
// seen), the user's groups (contractors), and a publisher two parents up
// (curl under a helper the updater daemon started; the exec carries the
// nearest parent only, the helper's record the rest of the chain).
func TestWhatIfUsesTheProgramsRecords(t *testing.T) {
	eachConsole(t, func(t *testing.T, c *console) {
		m1, _ := c.machine("mac-1")
		m2, _ := c.machine("mac-2")
		now := time.Now().Add(-time.Hour)
		old := now.Add(-20 * 24 * time.Hour) // first seen long before the window
		if _, err := m1.UploadEvents(t.Context(), []server.EventWire{
			programEvent(t, 1, old, "/opt/evil", policy.SubjectRecord{SHA256: sha('e'), Publisher: "Evil Corp"}, map[string]any{"action": "allow", "user": "alice"}),
			{ID: 2, Time: now, Kind: "exec", Action: "allow", Allowed: true, User: "alice", Path: "/opt/evil", SHA256: sha('e'), Detail: []byte(`{"app_type":"binary"}`)},
			programEvent(t, 3, old, "/Applications/Quiet", policy.SubjectRecord{SHA256: sha('9'), TeamID: "QUIET12345"}, map[string]any{"action": "allow", "user": "carol", "groups": []string{"staff"}}),
			{ID: 4, Time: now, Kind: "exec", Action: "allow", Allowed: true, User: "dave", Path: "/opt/ctool", SHA256: sha('c'), Detail: []byte(`{"app_type":"binary","groups":["staff","contractors"]}`)},
			{ID: 5, Time: now, Kind: "exec", Action: "allow", Allowed: true, User: "erin", Path: "/opt/ctool", SHA256: sha('c'), Detail: []byte(`{"app_type":"binary","groups":["staff"]}`)},
			programEvent(t, 6, old, "/opt/updater/daemon", policy.SubjectRecord{SHA256: sha('d'), Publisher: "Updater Inc"}, nil),
			programEvent(t, 7, old, "/opt/updater/helper", policy.SubjectRecord{SHA256: sha('b'), Publisher: "Someone Else"},
				map[string]any{"action": "allow", "parents": []string{"/opt/updater/daemon", "/sbin/launchd"}}),
			{ID: 8, Time: now, Kind: "exec", Action: "allow", Allowed: true, User: "root", Path: "/usr/bin/curl", SHA256: sha('a'), Detail: []byte(`{"app_type":"binary","parent":"/opt/updater/helper"}`)},
			{ID: 9, Time: now, Kind: "exec", Action: "allow", Allowed: true, User: "alice", Path: "/usr/bin/curl", SHA256: sha('a'), Detail: []byte(`{"app_type":"binary","parent":"/bin/zsh"}`)},
			// A record whose facts are of another program is kept as an event only.
			programEvent(t, 10, old, "/opt/liar", policy.SubjectRecord{SHA256: sha('e'), Publisher: "Evil Corp"}, map[string]any{"action": "allow"}),
		}); err != nil {
			t.Fatal(err)
		}
		if _, err := m2.UploadEvents(t.Context(), []server.EventWire{
			{ID: 1, Time: now, Kind: "exec", Action: "allow", Allowed: true, User: "bob", Path: "/opt/evil", SHA256: sha('e'), Detail: []byte(`{"app_type":"binary"}`)},
		}); err != nil {
			t.Fatal(err)
		}
		var res server.WhatIfResult
		if code := c.admin("aud", "POST", "/v1/admin/whatif", server.WhatIfRequest{Name: "fleet", YAML: factsDraft, Days: 7}, &res); code != 200 {
			t.Fatalf("what-if: %d", code)
		}
		type row struct {
			path, would      string
			rule             int
			events, unrec    int
			users, computers string
		}
		var got []row
		for _, g := range res.Changed {
			got = append(got, row{g.Path, g.Would, g.WouldRule, g.Events, g.Unrecorded, strings.Join(g.Users, ","), strings.Join(g.Computers, ",")})
		}
		want := []row{
			{"/Applications/Quiet", "deny", 2, 0, 1, "carol", "mac-1"},
			{"/opt/ctool", "deny", 3, 1, 0, "dave", "mac-1"},
			{"/opt/evil", "deny", 1, 1, 0, "alice", "mac-1"},
			{"/usr/bin/curl", "deny", 4, 1, 0, "root", "mac-1"},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("changed:\n got %+v\nwant %+v", got, want)
		}
		// mac-1's curl and helper are recorded (their programs have no
		// other exec since): /opt/updater/helper is unrecorded but decided
		// alike; mac-2's /opt/evil has no record.
		if res.Events != 6 || res.Unrecorded != 2 {
			t.Errorf("replayed %d execs and %d unrecorded programs, want 6 and 2 (Quiet, the helper)", res.Events, res.Unrecorded)
		}
		// And a parent without a record for both curls (zsh; launchd above
		// the updater daemon).
		if len(res.Missing) != 2 || !strings.Contains(res.Missing[0], "for 5 execs") || !strings.Contains(res.Missing[1], "parent program for 2 execs") {
			t.Errorf("missing %q, want the facts of 5 execs without a record (mac-2's evil, ctool twice, curl twice) and a parent's of 2", res.Missing)
		}
	})
}

// BenchmarkWhatIf is one replay over a recorded fleet on SQLite: 20
// machines, each with 1,000 programs recorded and 1,000 exec events
// (20,000 of each), a draft with a publisher rule and a parent rule that
// reads the chains, through the API.
func BenchmarkWhatIf(b *testing.B) {
	cc := consoletest.Start(b, b.TempDir(), server.Options{})
	token := cc.APIToken(b, "aud", "auditor")
	now := time.Now().Add(-time.Hour)
	for m := range 20 {
		cl, _ := cc.Enroll(b, fmt.Sprintf("mac-%02d", m), nil)
		var evs []server.EventWire
		for i := range 1000 {
			h := fmt.Sprintf("%064x", i+1)
			path := fmt.Sprintf("/Applications/App %d.app/Contents/MacOS/app", i)
			facts, _ := json.Marshal(policy.SubjectRecord{Type: "binary", Path: path, SHA256: h, Publisher: fmt.Sprintf("Vendor %d", i%50)})
			d, _ := json.Marshal(map[string]any{"detail": string(facts), "parents": []string{"/sbin/launchd"}})
			evs = append(evs, server.EventWire{ID: int64(2*i + 1), Time: now.Add(-48 * time.Hour), Kind: "program", Action: "allow", Allowed: true, Path: path, SHA256: h, Detail: d},
				server.EventWire{ID: int64(2*i + 2), Time: now, Kind: "exec", Action: "allow", Allowed: true, User: "alice", Path: path, SHA256: h,
					Detail: []byte(`{"app_type":"binary","parent":"/sbin/launchd"}`)})
		}
		for chunk := range slices.Chunk(evs, 1000) {
			if _, err := cl.UploadEvents(b.Context(), chunk); err != nil {
				b.Fatal(err)
			}
		}
	}
	draft := "id: d\nrevision: 1\ndefault: allow\ngroups:\n  - name: v7\n    definitions: [{type: binary, publisher: {exact: Vendor 7}}]\n" +
		"  - name: launchd\n    definitions: [{path: {exact: /sbin/launchd}}]\n  - name: under-launchd\n    definitions: [{type: binary, path: {starts_with: /Applications/App 9}, parent: {group: launchd}}]\n" +
		"rules:\n  - {group: v7, action: deny}\n  - {group: under-launchd, action: audit}\n"
	body, _ := json.Marshal(server.WhatIfRequest{YAML: draft, Days: 7})
	hc := cc.HTTP()
	b.ResetTimer()
	for b.Loop() {
		req, _ := http.NewRequest("POST", cc.URL+"/v1/admin/whatif", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var res server.WhatIfResult
		json.NewDecoder(resp.Body).Decode(&res)
		resp.Body.Close()
		if res.Events != 20000 || len(res.Changed) == 0 {
			b.Fatalf("replayed %d events, %d changes", res.Events, len(res.Changed))
		}
	}
	b.ReportMetric(20000, "execs/op")
}
