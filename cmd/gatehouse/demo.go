package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"

	"golang.org/x/sys/unix"

	"github.com/gatehouse/gatehouse/examples"
	"github.com/gatehouse/gatehouse/policy/policyfile"
)

// demoCase is one evaluation the demo shows.
type demoCase struct {
	what    string
	program string
	req     explainRequest
}

// demoDir is where the demo puts the programs it creates. The example
// policy denies its blocked/ folder.
const demoDir = "/tmp/gatehouse-demo"

func cmdDemo(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("gatehouse demo", "gatehouse demo [--dir DIR]", stderr)
	dir := fs.String("dir", demoDir, "where to create the demo programs (the example policy blocks "+demoDir+"/blocked/)")
	if pos, err := parseArgs(fs, args); err != nil {
		return flagErr(err)
	} else if len(pos) > 0 {
		fs.Usage()
		return exitUsage
	}
	eng, _, diags := policyfile.Compile(examples.PolicyName, examples.Policy)
	if eng == nil {
		fmt.Fprintf(stderr, "gatehouse: the bundled example policy does not compile:\n%v\n", diags)
		return exitFail
	}
	made, notes, err := makeDemoPrograms(*dir)
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse: %v\n", err)
		return exitFail
	}
	other := "nobody"
	cases := []demoCase{
		{what: "a system program", program: "ls"},
		{what: "a developer tool", program: "go"},
		{what: "a developer tool", program: "gcc"},
		{what: "curl run by a script (parent python3)", program: "curl", req: explainRequest{parents: []string{"python3"}}},
		{what: "curl typed at a shell", program: "curl", req: explainRequest{parents: []string{"bash"}, args: []string{"https://example.com"}}},
		{what: "apt-get install, as " + other, program: "apt-get", req: explainRequest{user: other, args: []string{"install", "cowsay"}}},
		{what: "apt-get install, as root", program: "apt-get", req: explainRequest{user: "root", args: []string{"install", "cowsay"}}},
		{what: "apt-get update, as " + other, program: "apt-get", req: explainRequest{user: other, args: []string{"update"}}},
		{what: "a program in the demo folder", program: made["blocked"]},
		{what: "a downloaded script", program: made["downloaded"]},
		{what: "a program nothing covers", program: made["unknown"]},
	}
	fmt.Fprintf(stdout, "Gatehouse demo: the bundled example policy (%s, id %s, revision %d)\n", examples.PolicyName, eng.ID(), eng.Revision())
	fmt.Fprintf(stdout, "evaluated against real programs of this machine (facts: path, SHA-1/SHA-256, type, download source).\n\n")
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHAT\tPROGRAM\tDECISION\tRULE\tNOW")
	shown := 0
	for _, c := range cases {
		if c.program == "" {
			continue
		}
		f, err := gatherFacts(c.program, c.req)
		if err != nil {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\tskipped: %v\n", c.what, c.program, err)
			continue
		}
		d := eng.Evaluate(f)
		rule := "default"
		if d.Rule > 0 {
			rule = fmt.Sprintf("%d %s", d.Rule, d.RuleName)
		}
		now := "denied"
		if d.Action.Allows() {
			now = "allowed"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.what, f.Path, d.Action, rule, now)
		shown++
	}
	tw.Flush()
	for _, n := range notes {
		fmt.Fprintf(stdout, "note: %s\n", n)
	}
	fmt.Fprintf(stdout, "\n%d programs evaluated. Ask why with, for example:\n", shown)
	fmt.Fprintf(stdout, "  gatehouse policy explain - --parent bash --arg https://example.com curl\n")
	if made["blocked"] != "" {
		fmt.Fprintf(stdout, "  gatehouse policy explain - %s\n", made["blocked"])
	}
	fmt.Fprintf(stdout, "(- is the bundled example policy; give a file to use your own.)\n")
	fmt.Fprintf(stdout, "\nNot built yet: the enforcer daemon that applies these decisions at exec time, the\nuser agent's dialogs and the notifications (see README.md).\n")
	return exitOK
}

// makeDemoPrograms creates a blocked script, a "downloaded" script (with
// the user.xdg.origin.url attribute browsers set) and an unknown program.
func makeDemoPrograms(dir string) (map[string]string, []string, error) {
	made := map[string]string{}
	var notes []string
	script := []byte("#!/bin/sh\necho hello from the Gatehouse demo\n")
	for _, sub := range []string{"blocked", "downloads", "tools"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, nil, fmt.Errorf("create demo folder: %w; choose another with --dir", err)
		}
	}
	blocked := filepath.Join(dir, "blocked", "hello.sh")
	if err := os.WriteFile(blocked, script, 0o755); err != nil {
		return nil, nil, fmt.Errorf("create demo program: %w", err)
	}
	made["blocked"] = blocked

	downloaded := filepath.Join(dir, "downloads", "installer.sh")
	if err := os.WriteFile(downloaded, script, 0o755); err != nil {
		return nil, nil, fmt.Errorf("create demo program: %w", err)
	}
	if err := unix.Setxattr(downloaded, "user.xdg.origin.url", []byte("https://downloads.example.com/installer.sh"), 0); err != nil {
		notes = append(notes, fmt.Sprintf("%s cannot hold the download URL attribute here (%v), so it shows as not downloaded", dir, err))
	}
	made["downloaded"] = downloaded

	// A copy of a real binary outside the system folders: nothing covers it.
	src := "/bin/true"
	data, err := os.ReadFile(src)
	if err != nil {
		notes = append(notes, fmt.Sprintf("could not copy %s for the unknown-program case: %v", src, err))
		return made, notes, nil
	}
	unknown := filepath.Join(dir, "tools", "mytool")
	if err := os.WriteFile(unknown, data, 0o755); err != nil {
		return nil, nil, fmt.Errorf("create demo program: %w", err)
	}
	made["unknown"] = unknown
	return made, notes, nil
}
