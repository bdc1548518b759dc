package server_test

import (
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/console/server"
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
		if len(res.Missing) != 1 || res.Missing[0] != "code signatures (publisher, team id, signing id)" {
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
