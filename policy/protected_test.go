package policy

import (
	"fmt"
	"strings"
	"testing"
)

// TestProtectedCriterion: protected: true matches only a protected file,
// false only an unprotected or unknown one; EvaluateLazy gathers the fact
// only for a definition whose other criteria match, and a decision that
// looked at it is never cacheable (the folders above can change without
// the file).
func TestProtectedCriterion(t *testing.T) {
	yes, no := true, false
	e := compileOK(t, &Document{ID: "p", Revision: 1, Default: Default{Action: "deny"},
		Groups: []Group{
			{Name: "safe", Definitions: []Definition{{Path: pathPrefix("/opt/"), Protected: &yes}}},
			{Name: "unsafe", Definitions: []Definition{{Path: pathPrefix("/home/"), Protected: &no}}},
		},
		Rules: []Rule{{Group: "safe", Action: "allow", Audit: &no}, {Group: "unsafe", Action: "deny_notify"}}})
	for _, c := range []struct {
		path  string
		prot  Protection
		rule  int
		loads int
	}{
		{"/opt/tool", Protected, 1, 1},
		{"/opt/tool", Unprotected, 0, 1},
		{"/opt/tool", ProtectionUnknown, 0, 1},
		{"/home/u/tool", Unprotected, 2, 1},
		{"/home/u/tool", ProtectionUnknown, 2, 1},
		{"/home/u/tool", Protected, 0, 1},
		{"/usr/bin/ls", Unprotected, 0, 0},
	} {
		loads := 0
		f := &Facts{Subject: Subject{Type: Binary, Path: c.path}}
		d, cacheable := e.EvaluateLazy(f, func(f *Facts, n Needs) {
			if n.Protection {
				loads++
				f.Protection, f.ProtectionDetail = c.prot, "because"
			}
		})
		if d.Rule != c.rule || loads != c.loads || cacheable {
			t.Errorf("%s %s: rule %d, %d loads, cacheable %v; want rule %d, %d loads, not cacheable", c.path, c.prot, d.Rule, loads, cacheable, c.rule, c.loads)
		}
		// Evaluate on the completed facts agrees.
		full := &Facts{Subject: Subject{Type: Binary, Path: c.path, Protection: c.prot}}
		if got := e.Evaluate(full); got.Rule != c.rule {
			t.Errorf("%s %s: Evaluate rule %d, EvaluateLazy %d", c.path, c.prot, got.Rule, c.rule)
		}
	}
	if !e.Needs().Protection {
		t.Error("Needs().Protection is false for a policy with a protected criterion")
	}
	_, tr := e.Explain(&Facts{Subject: Subject{Type: Binary, Path: "/opt/tool", Protection: Unprotected, ProtectionDetail: "/opt is writable by everyone"}})
	if !strings.Contains(fmt.Sprint(tr), "protected: true: /opt is writable by everyone") {
		t.Errorf("trace %v does not say why the file is not protected", tr)
	}
}
