package codesign

import (
	"os/exec"
	"strings"
	"testing"
)

// The enforcer links this package and must not link net/http
// (internal/importrules); relic's csblob and pkcs9 packages would bring it.
func TestThePackageLinksNoHTTPAndNoRelicSigningCode(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is needed to list dependencies")
	}
	for _, goos := range []string{"linux", "darwin"} {
		cmd := exec.Command(goTool, "list", "-deps", ".")
		cmd.Env = append(cmd.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list -deps (GOOS=%s): %v", goos, err)
		}
		for _, dep := range strings.Fields(string(out)) {
			switch {
			case dep == "net/http",
				strings.HasPrefix(dep, "github.com/sassoftware/relic/v8/lib/pkcs9"),
				strings.HasPrefix(dep, "github.com/sassoftware/relic/v8/lib/certloader"),
				strings.HasPrefix(dep, "github.com/sassoftware/relic/v8/lib/fruit/"):
				t.Errorf("GOOS=%s: depends on %s", goos, dep)
			}
		}
	}
}
