// Command gatehouse-pkg builds Gatehouse's packages (docs/packaging.md):
//
//	gatehouse-pkg deb [--version 1.2.0] [--arch amd64] [--out dist] [--no-agent]
//	gatehouse-pkg pkg [--version 1.2.0] [--arch arm64] [--out dist] [--agent PATH] [signing flags]
//	gatehouse-pkg verify [--ca ROOT.pem] PACKAGE.pkg
//	gatehouse-pkg profile --team-id TEAMID [...]
//
// deb builds the binaries for Linux and the Debian packages gatehouse and
// gatehouse-agent from them (packaging/deb), run from the repository.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/packaging/deb"
)

const usage = `usage: gatehouse-pkg <command> [flags]

commands:
  deb    the Debian packages gatehouse and gatehouse-agent (run from the repository)
  pkg      the macOS flat package, signed with Developer ID identities if given them (run from the repository)
  verify   check a signed macOS package's signatures (product, every program, entitlements, seals)
  profile  the macOS configuration profiles IT deploys with an MDM (PPPC, notifications, login items)

Run "gatehouse-pkg <command> -h" for its flags.
`

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "deb":
		return cmdDeb(args[1:], stdout, stderr)
	case "pkg":
		return cmdPkg(args[1:], stdout, stderr)
	case "profile":
		return cmdProfile(args[1:], stdout, stderr)
	case "verify":
		return cmdVerify(args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "gatehouse-pkg: unknown command %q\n\n%s", args[0], usage)
	return 2
}

func cmdDeb(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gatehouse-pkg deb", flag.ContinueOnError)
	fs.SetOutput(stderr)
	version := fs.String("version", "", "the packages' version, e.g. 1.2.0 (default: 0.0.0~git.COMMIT)")
	arch := fs.String("arch", runtime.GOARCH, "amd64 or arm64; the agent needs cgo and WebKit, so only this machine's")
	out := fs.String("out", "dist", "where the .deb files go")
	noAgent := fs.Bool("no-agent", false, "build the gatehouse package only (no WebKit needed)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gatehouse-pkg deb: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if _, err := os.Stat("go.mod"); err != nil {
		fmt.Fprintln(stderr, "gatehouse-pkg deb: run it from the repository's top directory (where go.mod is)")
		return 1
	}
	if *version == "" {
		*version = "0.0.0~git." + gitCommit()
	}
	if !*noAgent && *arch != runtime.GOARCH {
		fmt.Fprintf(stderr, "gatehouse-pkg deb: the agent needs cgo and WebKit for %s: build on such a machine, or add --no-agent\n", *arch)
		return 1
	}
	tmp, err := os.MkdirTemp("", "gatehouse-pkg-")
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse-pkg deb:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	b := deb.Build{Version: *version, Arch: *arch, Root: ".", Out: *out, MTime: sourceDate(),
		Daemon: filepath.Join(tmp, "gatehoused"), CLI: filepath.Join(tmp, "gatehouse")}
	builds := []goBuild{{out: b.Daemon, pkg: "./cmd/gatehoused"}, {out: b.CLI, pkg: "./cmd/gatehouse"}}
	if !*noAgent {
		b.Agent = filepath.Join(tmp, "gatehouse-agent")
		builds = append(builds, goBuild{out: b.Agent, pkg: ".", tags: "production,webkit2_41", cgo: true})
	}
	for _, gb := range builds {
		fmt.Fprintf(stderr, "gatehouse-pkg: building %s for linux/%s\n", filepath.Base(gb.out), *arch)
		start := time.Now()
		if err := gb.run(*arch, *version); err != nil {
			fmt.Fprintln(stderr, "gatehouse-pkg deb:", err)
			return 1
		}
		fmt.Fprintf(stderr, "gatehouse-pkg: built %s in %s\n", filepath.Base(gb.out), time.Since(start).Round(100*time.Millisecond))
	}
	paths, err := deb.Write(b)
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse-pkg deb:", err)
		return 1
	}
	for _, p := range paths {
		fmt.Fprintln(stdout, p)
	}
	return 0
}

// goBuild is one go build of the repository.
type goBuild struct {
	out, pkg, tags string
	cgo            bool // needs cgo (the agent); else cgo only for this machine's arch
}

func (g goBuild) run(arch, version string) error { return g.runFor("linux", arch, version) }

// runFor builds for goos/arch; a cross build (another OS or arch) has no
// C cross-compiler, so it uses the pure-Go SQLite driver.
func (g goBuild) runFor(goos, arch, version string) error {
	// Position-independent, stripped, relocations read-only and bound at
	// start (what Debian's hardening checks ask of a binary).
	ldflags := "-s -w -extldflags=-Wl,-z,relro,-z,now -X github.com/gatehouse/gatehouse/internal/version.release=" + version
	args := []string{"build", "-trimpath", "-buildmode=pie", "-ldflags", ldflags, "-o", g.out}
	env := append(os.Environ(), "GOOS="+goos, "GOARCH="+arch)
	tags := g.tags
	if (arch != runtime.GOARCH || goos != runtime.GOOS) && !g.cgo {
		// No C cross-compiler assumed: the pure-Go SQLite driver.
		env = append(env, "CGO_ENABLED=0")
		tags = strings.Trim(tags+",puresqlite", ",")
	}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", append(args, g.pkg)...)
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", g.pkg, err, b)
	}
	return nil
}

// sourceDate is the packaged files' time: $SOURCE_DATE_EPOCH, else the
// commit's, else now — the same build of the same commit makes the same
// package.
func sourceDate() time.Time {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		if b, err := exec.Command("git", "log", "-1", "--format=%ct").Output(); err == nil {
			s = strings.TrimSpace(string(b))
		}
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 {
		return time.Unix(n, 0).UTC()
	}
	return time.Now().UTC().Truncate(time.Second)
}

// gitCommit is the checkout's short commit, or "unknown".
func gitCommit() string {
	b, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}
