package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehouse/gatehouse/packaging/pkg"
)

// agentStandIn is what an unsigned package built off a Mac carries for
// the agent, which needs cgo and the macOS SDK (Wails): it says so and
// does nothing else.
const agentStandIn = `#!/bin/sh
echo "gatehouse-agent: this package was built without a Mac; the agent (Wails, cgo) is built on one: gatehouse-pkg pkg --agent PATH (docs/packaging.md)" >&2
exit 1
`

// cmdPkg: gatehouse-pkg pkg builds the unsigned flat product archive.
func cmdPkg(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gatehouse-pkg pkg", flag.ContinueOnError)
	fs.SetOutput(stderr)
	version := fs.String("version", "", "the package's version, e.g. 1.2.0 (default: 0.0.0)")
	arch := fs.String("arch", "arm64", "arm64 or amd64")
	out := fs.String("out", "dist", "where the .pkg goes")
	agent := fs.String("agent", "", "a gatehouse-agent built on a Mac (default: a stand-in that says it is one)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || (*arch != "arm64" && *arch != "amd64") {
		fmt.Fprintln(stderr, "gatehouse-pkg pkg: flags only; --arch is arm64 or amd64")
		return 2
	}
	if _, err := os.Stat("go.mod"); err != nil {
		fmt.Fprintln(stderr, "gatehouse-pkg pkg: run it from the repository's top directory (where go.mod is)")
		return 1
	}
	if *version == "" {
		*version = "0.0.0"
	}
	tmp, err := os.MkdirTemp("", "gatehouse-pkg-")
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse-pkg pkg:", err)
		return 1
	}
	defer os.RemoveAll(tmp)
	p := pkg.Product{Version: *version, Root: ".", MTime: sourceDate(),
		Daemon: filepath.Join(tmp, "gatehoused"), CLI: filepath.Join(tmp, "gatehouse"), Agent: *agent}
	for _, b := range []struct{ out, pkg string }{{p.Daemon, "./cmd/gatehoused"}, {p.CLI, "./cmd/gatehouse"}} {
		fmt.Fprintf(stderr, "gatehouse-pkg: building %s for darwin/%s\n", filepath.Base(b.out), *arch)
		start := time.Now()
		if err := (goBuild{out: b.out, pkg: b.pkg}).runFor("darwin", *arch, *version); err != nil {
			fmt.Fprintln(stderr, "gatehouse-pkg pkg:", err)
			return 1
		}
		fmt.Fprintf(stderr, "gatehouse-pkg: built %s in %s\n", filepath.Base(b.out), time.Since(start).Round(100*time.Millisecond))
	}
	if p.Agent == "" {
		p.Agent = filepath.Join(tmp, "gatehouse-agent")
		if err := os.WriteFile(p.Agent, []byte(agentStandIn), 0o755); err != nil {
			fmt.Fprintln(stderr, "gatehouse-pkg pkg:", err)
			return 1
		}
		fmt.Fprintln(stderr, "gatehouse-pkg: the agent is a stand-in (build it on a Mac and pass --agent)")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(stderr, "gatehouse-pkg pkg:", err)
		return 1
	}
	dst := filepath.Join(*out, fmt.Sprintf("Gatehouse-%s-%s-unsigned.pkg", *version, *arch))
	f, err := os.CreateTemp(*out, ".pkg-*")
	if err == nil {
		err = pkg.Build(p, f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			err = os.Chmod(f.Name(), 0o644)
		}
		if err == nil {
			err = os.Rename(f.Name(), dst)
		}
		if err != nil {
			os.Remove(f.Name())
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse-pkg pkg:", err)
		return 1
	}
	fmt.Fprintln(stdout, dst)
	return 0
}
