package importrules

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const mod = "github.com/gatehouse/gatehouse"

// rule says what pkg may depend on (directly or not). Only the module's
// own packages and other modules count; the standard library is always
// allowed unless banned by name.
type rule struct {
	pkg string
	why string
	// allow, when not nil, lists every non-standard package pkg may
	// depend on besides itself (prefixes ending in "/" match a tree).
	allow []string
	// ban lists packages (or trees, ending in "/") pkg must not depend on,
	// the standard library's included.
	ban []string
}

var rules = []rule{
	{pkg: "policy", why: "the decision core is pure: standard library only",
		allow: []string{}},
	{pkg: "request", why: "the request vocabulary is a leaf every side imports",
		allow: []string{}},
	{pkg: "localapi", why: "the wire contract depends on the vocabulary alone, so clients carry nothing of the daemon",
		allow: []string{mod + "/request"}},
	{pkg: "app", why: "the agent talks to the enforcer only through localapi: no engine, store or database",
		ban: []string{mod + "/enforcer", mod + "/enforcer/", "database/sql", "github.com/mattn/go-sqlite3", "modernc.org/sqlite"}},
	{pkg: "enforcer/fanotify", why: "a kernel adapter only translates: nothing of the engine",
		allow: []string{"golang.org/x/sys/"}},
	{pkg: "enforcer/endpointsecurity", why: "a kernel adapter only translates: nothing of the engine",
		allow: []string{"golang.org/x/sys/", "github.com/ebitengine/purego", "github.com/ebitengine/purego/"}},
	{pkg: "enforcer/backstop", why: "a kernel adapter only translates: nothing of the engine",
		allow: []string{"golang.org/x/sys/", "github.com/cilium/ebpf", "github.com/cilium/ebpf/"}},
	{pkg: "enforcer", why: "the engine loads no BPF: the backstop is wired in by cmd/gatehoused",
		ban: []string{"github.com/cilium/ebpf", "github.com/cilium/ebpf/", mod + "/enforcer/backstop"}},
	{pkg: "enforcer/proc", why: "the /proc readers know nothing of the engine",
		allow: []string{"golang.org/x/sys/"}},
	{pkg: "enforcer", why: "the engine has no HTTP in it and does not know the wire",
		ban: []string{"net/http", mod + "/localapi", mod + "/enforcer/apiserver"}},
	{pkg: "facts", why: "facts are shared by the daemon, the CLI and the console: no engine",
		ban: []string{mod + "/enforcer", mod + "/enforcer/"}},
	{pkg: "facts", why: "facts parse untrusted property lists (Info.plist, kMDItemWhereFroms, a signature's cdhash list) with internal/plist: howett.net/plist panics, overflows its stack and expands shared references on hostile input (docs/benchmarks.md)",
		ban: []string{"howett.net/plist"}},
	{pkg: "offline", why: "offline codes are shared by the daemon, the CLI and the console: no engine",
		ban: []string{mod + "/enforcer", mod + "/enforcer/"}},
	{pkg: "console/server", why: "the console is its own program: nothing of the engine or the agent",
		ban: []string{mod + "/enforcer", mod + "/enforcer/", mod + "/app"}},
	{pkg: "facts/codesign", why: "the enforcer links the signature verifier: relic's signing, timestamp (net/http) and key-loading code stays out",
		ban: []string{"net/http", "github.com/sassoftware/relic/v8/lib/pkcs9", "github.com/sassoftware/relic/v8/lib/certloader", "github.com/sassoftware/relic/v8/lib/fruit/"}},
	{pkg: "console/signed", why: "what gatehoused verifies of the console is a leaf: standard library only",
		allow: []string{}},
	{pkg: "consolesync", why: "the sync service talks to gatehoused only through the local API: nothing of the engine",
		ban: []string{mod + "/enforcer", mod + "/enforcer/", mod + "/app"}},
	{pkg: "console/client", why: "the endpoint's side of the console runs unprivileged in the sync service: nothing of the engine",
		ban: []string{mod + "/enforcer", mod + "/enforcer/", mod + "/app"}},
}

func matches(dep string, list []string) bool {
	for _, p := range list {
		if dep == p || strings.HasSuffix(p, "/") && strings.HasPrefix(dep, p) {
			return true
		}
	}
	return false
}

// deps lists pkg's dependencies for goos: all of them, and the
// non-standard ones.
func deps(t *testing.T, root, goos, pkg string) (all, nonStd []string) {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.Standard}} {{.ImportPath}}", "./"+pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH=arm64", "CGO_ENABLED=0")
	if goos == "linux" {
		cmd.Env = append(os.Environ(), "GOOS=linux")
	}
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go list -deps ./%s (GOOS=%s): %v\n%s", pkg, goos, err, msg)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		std, path, _ := strings.Cut(line, " ")
		if path == mod+"/"+pkg {
			continue
		}
		all = append(all, path)
		if std == "false" {
			nonStd = append(nonStd, path)
		}
	}
	return all, nonStd
}

func TestImportRules(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, goos := range []string{"linux", "darwin"} {
		for _, r := range rules {
			t.Run(goos+"/"+r.pkg, func(t *testing.T) {
				all, nonStd := deps(t, root, goos, r.pkg)
				if r.allow != nil {
					for _, d := range nonStd {
						if !matches(d, r.allow) {
							t.Errorf("%s depends on %s: %s", r.pkg, d, r.why)
						}
					}
				}
				for _, d := range all {
					if matches(d, r.ban) {
						t.Errorf("%s depends on %s: %s", r.pkg, d, r.why)
					}
				}
			})
		}
	}
}

// TestRulesCanFail: a rule that the tree breaks is reported (the checks
// above are not vacuous).
func TestRulesCanFail(t *testing.T) {
	root, _ := filepath.Abs("../..")
	_, nonStd := deps(t, root, "linux", "enforcer/apiserver")
	if !matches(mod+"/enforcer", nonStd) || !matches(mod+"/localapi", nonStd) {
		t.Fatalf("go list -deps of the API server lacks the engine or the wire: %v", nonStd)
	}
}
