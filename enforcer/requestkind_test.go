package enforcer

import (
	"testing"

	"github.com/gatehouse/gatehouse/policy"
)

// TestRequestKindOfEveryAction: the interactive actions and the notices
// make requests of their own kind, named as the policy names the action;
// the others make none.
func TestRequestKindOfEveryAction(t *testing.T) {
	for a := policy.Allow; a <= policy.Elevate; a++ {
		k := requestKind(a)
		makesRequest := a.Interactive() || a == policy.DenyMessage || a == policy.DenyNotify
		switch {
		case makesRequest && (!k.Valid() || string(k) != a.String()):
			t.Errorf("action %s makes request kind %q", a, k)
		case !makesRequest && k != "":
			t.Errorf("action %s makes a request (%q); it should make none", a, k)
		case a.Interactive() && k.Notice(), !a.Interactive() && makesRequest && !k.Notice():
			t.Errorf("action %s: kind %s has the wrong notice-ness", a, k)
		}
	}
	if k := requestKind(policy.ActionUnset); k != "" {
		t.Errorf("unset action makes %q", k)
	}
}
