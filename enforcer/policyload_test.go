package enforcer_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPolicyLoadIsBounded: the daemon reads its policy within the limits
// lint has — a huge file is refused unread, with a message saying so, and
// a file with thousands of errors is reported in a hundred lines and a
// count — and the policy in force stays.
func TestPolicyLoadIsBounded(t *testing.T) {
	h := newHarness(t, nil)
	path := filepath.Join(h.dir, "policy.yaml")
	if err := os.Truncate(path, 1<<30); err != nil { // sparse: reading it would take seconds
		t.Fatal(err)
	}
	waitFor(t, "reload failure", func() bool { return h.e.PolicyError() != "" })
	if msg := h.e.PolicyError(); !strings.Contains(msg, "is 1,073,741,824 bytes, over the size limit of 4 MiB") {
		t.Errorf("policy error: %s", msg)
	}
	if rev := h.e.PolicyRevision(); rev != 1 {
		t.Errorf("revision %d after a refused reload, want 1 kept", rev)
	}

	var b strings.Builder
	b.WriteString("id: x\nrevision: 2\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "key%04d: %d\n", i, i)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second reload failure", func() bool { return strings.Contains(h.e.PolicyError(), "key0000") })
	msg := h.e.PolicyError()
	if n := strings.Count(msg, "\n"); n > 110 || !strings.Contains(msg, "more errors not shown; checking stopped after 1,000 errors") {
		t.Errorf("policy error of %d lines:\n%.2000s", n, msg)
	}
}
