package policy

import (
	"fmt"
	"testing"
)

// nestedParentPolicy builds depth groups g0..g(depth-1) where g(k) wants
// any ancestor in g(k+1), the last wants /bin/init; the chain has n
// parents of which only the farthest is /bin/init.
func nestedParentPolicy(depth, n int) (*Document, *Facts) {
	doc := &Document{ID: "nested", Revision: 1}
	for k := 0; k < depth; k++ {
		d := Definition{Type: []string{"binary"}}
		if k == depth-1 {
			v := "/bin/init"
			d.Path = &StringMatch{Exact: &v}
		} else {
			d.Parent = &ParentMatch{Group: fmt.Sprintf("g%d", k+1), AnyAncestor: true}
		}
		doc.Groups = append(doc.Groups, Group{Name: fmt.Sprintf("g%d", k), Definitions: []Definition{d}})
	}
	doc.Rules = []Rule{{Group: "g0", Action: "deny"}}
	f := &Facts{Subject: Subject{Type: Binary, Path: "/usr/bin/x"}}
	for i := 0; i < n; i++ {
		f.Parents = append(f.Parents, Subject{Type: Binary, Path: fmt.Sprintf("/usr/bin/p%d", i)})
	}
	return doc, f
}

// TestNestedParentsAreBounded checks the answer of deep nesting over a long
// chain, with and without the one matching ancestor. Before memoization a
// depth of 7 over 64 parents took about a second per evaluation.
func TestNestedParentsAreBounded(t *testing.T) {
	for _, depth := range []int{2, 4, 8} {
		for _, last := range []string{"/bin/init", "/bin/other"} {
			t.Run(fmt.Sprintf("depth%d/%s", depth, last), func(t *testing.T) {
				doc, f := nestedParentPolicy(depth, 64)
				f.Parents[63].Path = last
				e, diags := Compile(doc)
				if e == nil {
					t.Fatal(diags)
				}
				// depth groups need depth-1 ancestors below the subject
				// before /bin/init: the chain of 64 has room.
				want := Deny
				if last != "/bin/init" {
					want = Allow
				}
				if got := e.Evaluate(f).Action; got != want {
					t.Errorf("Evaluate = %v, want %v", got, want)
				}
				if got, _ := e.Explain(f); got.Action != want {
					t.Errorf("Explain = %v, want %v", got.Action, want)
				}
			})
		}
	}
}

func BenchmarkNestedParents(b *testing.B) {
	for _, depth := range []int{1, 3, 7} {
		b.Run(fmt.Sprintf("depth%d-chain64", depth), func(b *testing.B) {
			doc, f := nestedParentPolicy(depth+1, 64)
			f.Parents[63].Path = "/bin/other" // no match: the worst case
			e, _ := Compile(doc)
			b.ReportAllocs()
			for b.Loop() {
				e.Evaluate(f)
			}
		})
	}
}
