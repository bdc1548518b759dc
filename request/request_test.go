package request

import "testing"

// The stored values: a test that fails when one is renamed, since a
// database or an older agent would no longer understand it.
func TestStoredValuesNeverChange(t *testing.T) {
	kinds := map[Kind]string{Warning: "warning", Justification: "justification", Approval: "approval",
		ApprovalOffline: "approval_offline", DenyMessage: "deny_message", DenyNotify: "deny_notify"}
	states := map[State]string{Pending: "pending", Answered: "answered", Submitted: "submitted", Approved: "approved",
		Denied: "denied", Cancelled: "cancelled", Expired: "expired"}
	origins := map[Origin]string{FromWarning: "warning", FromJustification: "justification", FromApproval: "approval", FromOffline: "offline"}
	for k, v := range kinds {
		if string(k) != v || !k.Valid() {
			t.Errorf("kind %q: stored as %q, valid %v", v, k, k.Valid())
		}
	}
	for s, v := range states {
		if string(s) != v || !s.Valid() {
			t.Errorf("state %q: stored as %q, valid %v", v, s, s.Valid())
		}
	}
	for o, v := range origins {
		if string(o) != v {
			t.Errorf("origin %q stored as %q", v, o)
		}
	}
	if len(Kinds()) != len(kinds) || len(States()) != len(states) {
		t.Errorf("Kinds() has %d, States() %d; the test knows %d and %d", len(Kinds()), len(States()), len(kinds), len(states))
	}
	for _, bad := range []string{"", "Warning", "approved "} {
		if Kind(bad).Valid() || State(bad).Valid() {
			t.Errorf("%q is valid", bad)
		}
	}
}

func TestPredicates(t *testing.T) {
	for _, k := range Kinds() {
		n := 0
		for _, p := range []bool{k.Notice(), k.NeedsApprover(), k.GoesOnWithAnswer()} {
			if p {
				n++
			}
		}
		if n != 1 {
			t.Errorf("kind %s is in %d of notice / needs approver / goes on with an answer, want exactly 1", k, n)
		}
		if (k.GrantOrigin() != "") != k.GoesOnWithAnswer() {
			t.Errorf("kind %s: grant origin %q", k, k.GrantOrigin())
		}
	}
	for _, s := range States() {
		open := s == Pending || s == Submitted
		if s.Open() != open {
			t.Errorf("state %s: Open = %v", s, s.Open())
		}
	}
	if len(OpenStates()) != 2 {
		t.Errorf("OpenStates = %v", OpenStates())
	}
}
