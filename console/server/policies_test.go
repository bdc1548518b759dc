package server_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gatehouse/gatehouse/console/server"
)

const fleetPolicy = `# the fleet's policy
id: fleet
revision: %d   # raise on every change
default: allow
groups:
  - name: blocked
    definitions: [{path: {starts_with: %s}}]
rules:
  - {group: blocked, action: deny}
`

// Policies through the admin API as the policy page uses it: lint without
// storing (errors with line and column), the list with assignments, the
// history with each revision's text, and rollback, which stores an old
// text again as the newest revision, comments and layout kept.
func TestPoliciesLintHistoryAndRollback(t *testing.T) {
	eachConsole(t, func(t *testing.T, c *console) {
		var lint struct {
			Revision    int64
			Errors      bool
			Diagnostics []server.Diagnostic
		}
		if code := c.admin("aud", "POST", "/v1/admin/policies/lint", server.PolicyUpload{Name: "fleet", YAML: "id: fleet\nrevision: 1\nrules:\n  - {group: nope, action: deny}\n"}, &lint); code != 200 || !lint.Errors || len(lint.Diagnostics) == 0 || lint.Diagnostics[0].Line != 4 {
			t.Fatalf("lint of a broken policy: %d %+v", code, lint)
		}
		for _, v := range []struct {
			rev int64
			dir string
		}{{1, "/opt/one/"}, {2, "/opt/two/"}} {
			if code := c.admin("root", "POST", "/v1/admin/policies", server.PolicyUpload{Name: "fleet", YAML: fmt.Sprintf(fleetPolicy, v.rev, v.dir)}, nil); code != 200 {
				t.Fatalf("upload revision %d: %d", v.rev, code)
			}
		}
		if code := c.admin("root", "POST", "/v1/admin/assignments", server.AssignRequest{Target: "tag:lab", Policy: "fleet"}, nil); code != 200 {
			t.Fatal(code)
		}
		var list []server.PolicyInfo
		if code := c.admin("aud", "GET", "/v1/admin/policies", nil, &list); code != 200 || len(list) != 1 || list[0].Revision != 2 || len(list[0].AssignedTo) != 1 || list[0].AssignedTo[0] != "tag:lab" {
			t.Fatalf("list: %d %+v", code, list)
		}
		if code := c.admin("ann", "POST", "/v1/admin/policies/fleet/rollback", server.RollbackRequest{Revision: 1}, nil); code != 403 {
			t.Errorf("an approver rolls back: %d, want 403", code)
		}
		if code := c.admin("root", "POST", "/v1/admin/policies/fleet/rollback", server.RollbackRequest{Revision: 2}, nil); code != 409 {
			t.Errorf("rollback to the newest: %d, want 409", code)
		}
		if code := c.admin("root", "POST", "/v1/admin/policies/fleet/rollback", server.RollbackRequest{Revision: 7}, nil); code != 404 {
			t.Errorf("rollback to a revision never stored: %d, want 404", code)
		}
		var rb struct{ Revision, From int64 }
		if code := c.admin("root", "POST", "/v1/admin/policies/fleet/rollback", server.RollbackRequest{Revision: 1}, &rb); code != 200 || rb.Revision != 3 || rb.From != 1 {
			t.Fatalf("rollback: %d %+v", code, rb)
		}
		var hist []server.PolicyInfo
		if code := c.admin("aud", "GET", "/v1/admin/policies/fleet", nil, &hist); code != 200 || len(hist) != 3 {
			t.Fatalf("history: %d %+v", code, hist)
		}
		want := strings.Replace(fmt.Sprintf(fleetPolicy, 1, "/opt/one/"), "revision: 1 ", "revision: 3 ", 1)
		if hist[0].Revision != 3 || hist[0].Body != want || !strings.Contains(hist[0].UploadedBy, "rollback to 1") {
			t.Errorf("the rolled-back revision:\n%s\nby %s; want\n%s", hist[0].Body, hist[0].UploadedBy, want)
		}
		if code := c.admin("aud", "GET", "/v1/admin/policies/nope", nil, nil); code != 404 {
			t.Errorf("an unknown policy: %d", code)
		}
		var as []server.AssignmentWire
		if code := c.admin("aud", "GET", "/v1/admin/assignments", nil, &as); code != 200 || len(as) != 1 || as[0].By != "root" {
			t.Errorf("assignments: %d %+v", code, as)
		}
	})
}
