package app

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportBan keeps the agent on its side of the trust boundary: it talks
// to the enforcer only through package localapi, never through enforcer
// internals or the database.
func TestImportBan(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		switch {
		case strings.HasPrefix(dep, "github.com/gatehouse/gatehouse/enforcer"),
			dep == "database/sql", strings.HasPrefix(dep, "github.com/mattn/go-sqlite3"):
			t.Errorf("package app imports %s (directly or not); the agent may only use localapi", dep)
		}
	}
}
