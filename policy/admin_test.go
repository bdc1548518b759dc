package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/policy"
	"github.com/gatehouse/gatehouse/policy/policyfile"
)

func TestAdminSessions(t *testing.T) {
	eng, _, diags := policyfile.Compile("t", []byte(`id: t
revision: 1
rules: []
admin_sessions:
  - {name: contractors-never, user_groups: [contractors], require: approval, approvers: 2, max_duration: 10m, default_duration: 5m}
  - {name: developers, user_groups: [developers], require: justification, min_justification: 10, max_duration: 2h}
  - {name: carol, users: [carol]}
`))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	for _, tt := range []struct {
		user   string
		groups []string
		want   string
		req    policy.Action
		max    time.Duration
		def    time.Duration
	}{
		{"alice", []string{"developers"}, "developers", policy.Justification, 2 * time.Hour, 15 * time.Minute},
		{"bob", []string{"developers", "contractors"}, "contractors-never", policy.Approval, 10 * time.Minute, 5 * time.Minute},
		{"carol", nil, "carol", policy.ActionUnset, time.Hour, 15 * time.Minute},
		{"dave", []string{"staff"}, "", 0, 0, 0},
	} {
		d, ok := eng.AdminSession(&policy.Facts{User: tt.user, Groups: tt.groups})
		if ok != (tt.want != "") || d.Name != tt.want || d.Require != tt.req || d.Max != tt.max || d.Default != tt.def || ok && d.Revision != 1 {
			t.Errorf("%s %v: %+v %v, want %q", tt.user, tt.groups, d, ok, tt.want)
		}
	}
	for _, bad := range []struct{ yaml, want string }{
		{`{max_duration: 48h}`, "use 1m to 24h0m0s"},
		{`{max_duration: soon}`, "is not a duration"},
		{`{max_duration: 10m, default_duration: 20m}`, "longer than max_duration"},
		{`{require: sometimes}`, "unknown require"},
		{`{approvers: 2}`, "approvers applies to require: approval"},
		{`{users: [""]}`, "empty"},
	} {
		_, _, diags := policyfile.Compile("t", []byte("id: t\nrevision: 1\nrules: []\nadmin_sessions:\n  - "+bad.yaml+"\n"))
		if !diags.HasErrors() || !strings.Contains(diags.Error(), bad.want) {
			t.Errorf("%s: %v, want an error saying %q", bad.yaml, diags, bad.want)
		}
	}
}
