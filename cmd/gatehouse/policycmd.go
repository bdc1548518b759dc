package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gatehouse/gatehouse/examples"
	"github.com/gatehouse/gatehouse/facts"
	"github.com/gatehouse/gatehouse/policy"
	"github.com/gatehouse/gatehouse/policy/policyfile"
)

func cmdLint(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("gatehouse policy lint", "gatehouse policy lint [--json] [--strict] [--portable] [--max-size SIZE] [--max-diagnostics N] FILE...", stderr)
	asJSON := fs.Bool("json", false, "print diagnostics as JSON")
	strict := fs.Bool("strict", false, "fail on warnings too")
	portable := fs.Bool("portable", false, "skip the checks against this machine (path criteria through symbolic links)")
	maxSize := sizeFlag(policyfile.DefaultMaxSize)
	fs.Var(&maxSize, "max-size", "refuse files larger than this (bytes, or with KiB, MiB or GiB)")
	maxDiags := fs.Int("max-diagnostics", policyfile.DefaultMaxDiagnostics, "show at most this many diagnostics per file, then count the rest (0: all)")
	files, err := parseArgs(fs, args)
	if err != nil {
		return flagErr(err)
	}
	if len(files) == 0 {
		fs.Usage()
		return exitUsage
	}
	if *maxDiags < 0 {
		fmt.Fprintln(stderr, "gatehouse policy lint: --max-diagnostics must be 0 (all) or more")
		return exitUsage
	}
	limits := policyfile.Limits{MaxSize: int64(maxSize), MaxDiagnostics: *maxDiags, Raise: "with --max-size"}
	if *maxDiags == 0 {
		limits.MaxDiagnostics = -1
	}
	type result struct {
		File        string             `json:"file"`
		OK          bool               `json:"ok"`
		Structural  bool               `json:"structural_errors,omitempty"`
		Diagnostics policy.Diagnostics `json:"diagnostics"`
	}
	var results []result
	code := exitOK
	for _, f := range files {
		_, doc, diags := limits.Load(f)
		if !*portable {
			diags = append(diags, machineDiagnostics(doc)...)
			diags.Sort()
			diags = diags.Limit(limits.MaxDiagnostics)
		}
		ok := !diags.HasErrors() && !(*strict && len(diags) > 0)
		if !ok {
			code = exitFail
		}
		results = append(results, result{File: f, OK: ok, Structural: doc == nil, Diagnostics: diags})
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			fmt.Fprintf(stderr, "gatehouse: %v\n", err)
			return exitFail
		}
		return code
	}
	for _, r := range results {
		errs, warns := 0, 0
		for _, d := range r.Diagnostics {
			fmt.Fprintln(stdout, d)
			switch {
			case d.Omitted():
				errs += d.OmittedErrors
				warns += d.OmittedWarnings
			case d.Severity == policy.SeverityError:
				errs++
			default:
				warns++
			}
		}
		switch {
		case errs > 0 && r.Structural:
			fmt.Fprintf(stdout, "%s: %s; the file's structure is checked first: fix these, then lint again for the policy's meaning\n", r.File, plural(errs, "error"))
		case errs > 0:
			fmt.Fprintf(stdout, "%s: %s, %s; the policy cannot be used until the errors are fixed\n", r.File, plural(errs, "error"), plural(warns, "warning"))
		case warns > 0:
			fmt.Fprintf(stdout, "%s: ok, %s\n", r.File, plural(warns, "warning"))
		default:
			fmt.Fprintf(stdout, "%s: ok\n", r.File)
		}
	}
	return code
}

// sizeFlag is a size in bytes, given as a number with an optional KiB,
// MiB or GiB.
type sizeFlag int64

func (s *sizeFlag) String() string {
	switch n := int64(*s); {
	case n > 0 && n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + "GiB"
	case n > 0 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "MiB"
	case n > 0 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "KiB"
	default:
		return strconv.FormatInt(n, 10)
	}
}

func (s *sizeFlag) Set(v string) error {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return fmt.Errorf("give a size in bytes, or with KiB, MiB or GiB (4MiB)")
	}
	*s = sizeFlag(n * mult)
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s + " " + word + "s"
}

func cmdSchema(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: gatehouse policy schema")
		return exitUsage
	}
	stdout.Write(policyfile.Schema())
	return exitOK
}

func cmdExample(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stderr, "usage: gatehouse policy example")
		return exitUsage
	}
	stdout.Write(examples.Policy)
	return exitOK
}

// explainRequest is what explain evaluates, gathered from the command line
// and the machine.
type explainRequest struct {
	user    string
	args    []string
	parents []string
	authURI string
	install bool
	delete  bool
}

// explanation is explain's JSON output.
type explanation struct {
	Policy   string                 `json:"policy"`
	Program  factsView              `json:"program"`
	Parents  []factsView            `json:"parents,omitempty"`
	User     string                 `json:"user"`
	UID      uint32                 `json:"uid"`
	Groups   []string               `json:"user_groups"`
	Machine  string                 `json:"machine"`
	Event    string                 `json:"event"`
	AuthURI  string                 `json:"auth_uri,omitempty"`
	Decision policy.Decision        `json:"decision"`
	Allowed  bool                   `json:"allowed_now"`
	Message  policy.RenderedMessage `json:"message"`
	Trace    []policy.RuleTrace     `json:"trace"`
}

// factsView is a program's facts in explain's JSON (and in --facts files).
type factsView = policy.SubjectRecord

func viewOf(s policy.Subject) factsView {
	v := policy.RecordOf(s)
	v.Type, v.Args = s.Type.String(), s.Args
	return v
}

func cmdExplain(args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("gatehouse policy explain",
		"gatehouse policy explain FILE [--user U] [--arg A]... [--parent PATH]... [--json] PROGRAM\n"+
			"gatehouse policy explain FILE --facts FACTS.json [--json]\n"+
			"  FILE may be - for the bundled example policy; PROGRAM is a path or a command name found in PATH.\n"+
			"  --parent is repeated nearest first: --parent /bin/bash --parent /usr/sbin/sshd\n"+
			"  --facts takes the facts from a JSON file (- for standard input) in the form of explain --json's\n"+
			"  program, parents, user, uid, user_groups, machine, event and auth_uri: any decision, reproduced anywhere", stderr)
	var req explainRequest
	var argList, parentList listFlag
	fs.StringVar(&req.user, "user", "", "evaluate as this user (default: the current user)")
	fs.Var(&argList, "arg", "a command-line argument of PROGRAM (repeat for each, in order)")
	fs.Var(&parentList, "parent", "a parent process executable, nearest first (repeat)")
	fs.StringVar(&req.authURI, "auth-uri", "", "evaluate an authorization request for this right instead of an exec")
	fs.BoolVar(&req.install, "install", false, "evaluate the install of a bundle instead of an exec")
	fs.BoolVar(&req.delete, "delete", false, "evaluate the deletion of a bundle instead of an exec")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	factsPath := fs.String("facts", "", "read the facts from this JSON file instead of the machine")
	var rootList listFlag
	fs.Var(&rootList, "trust-root", "also trust code signatures that chain to the CA certificates in this PEM `file` (your organisation's own code-signing CA; repeat for more), as the daemon's code_signing_roots does")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagErr(err)
	}
	if len(rootList) > 0 {
		roots, err := facts.ReadRoots(rootList)
		if err != nil {
			fmt.Fprintln(stderr, "gatehouse policy explain:", err)
			return exitUsage
		}
		facts.TrustCodeSigningRoots(roots)
	}
	req.args, req.parents = argList, parentList
	if *factsPath != "" {
		if len(pos) != 1 {
			fmt.Fprintln(stderr, "gatehouse policy explain: with --facts, give only the policy FILE: the facts name the program")
			return exitUsage
		}
		if req.user != "" || len(req.args) > 0 || len(req.parents) > 0 || req.authURI != "" || req.install || req.delete {
			fmt.Fprintln(stderr, "gatehouse policy explain: --facts gives every fact; put user, arguments, parents and the event in the file instead of --user, --arg, --parent, --auth-uri, --install or --delete")
			return exitUsage
		}
		pos = append(pos, "")
	}
	if len(pos) != 2 {
		fs.Usage()
		return exitUsage
	}
	file, program := pos[0], pos[1]

	var (
		eng   *policy.Engine
		diags policy.Diagnostics
		name  = file
	)
	var doc *policy.Document
	if file == "-" {
		name = examples.PolicyName
		eng, doc, diags = policyfile.Compile(name, examples.Policy)
	} else {
		eng, doc, diags = policyfile.Load(file)
	}
	if eng != nil {
		for _, d := range machineDiagnostics(doc) {
			fmt.Fprintln(stderr, d)
		}
	}
	if eng == nil {
		for _, d := range diags {
			fmt.Fprintln(stderr, d)
		}
		fmt.Fprintf(stderr, "gatehouse: %s has errors; run `gatehouse policy lint %s` after fixing them\n", file, file)
		return exitFail
	}
	var f *policy.Facts
	if *factsPath != "" {
		f, err = loadFacts(*factsPath)
	} else {
		f, err = gatherFacts(program, req)
	}
	if err != nil {
		fmt.Fprintf(stderr, "gatehouse: %v\n", err)
		return exitFail
	}
	d, trace := eng.Explain(f)
	out := explanation{
		Policy:  fmt.Sprintf("%s (id %s, revision %d)", name, eng.ID(), eng.Revision()),
		Program: viewOf(f.Subject), User: f.User, UID: f.UID, Groups: f.Groups, Machine: f.Machine,
		Event: f.Event.String(), AuthURI: f.AuthURI, Decision: d, Allowed: d.Action.Allows(),
		Message: d.Message.Render(&d, f), Trace: trace,
	}
	for _, p := range f.Parents {
		out.Parents = append(out.Parents, viewOf(p))
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(stderr, "gatehouse: %v\n", err)
			return exitFail
		}
		return exitOK
	}
	printExplanation(stdout, &out)
	return exitOK
}

// resolveProgram finds PROGRAM as a shell would: a name without a slash is
// looked up in PATH.
func resolveProgram(p string) (string, error) {
	if !strings.Contains(p, "/") {
		found, err := exec.LookPath(p)
		if err != nil {
			return "", fmt.Errorf("%s is not in PATH; give its full path", p)
		}
		p = found
	}
	return filepath.Abs(p)
}

func gatherFacts(program string, req explainRequest) (*policy.Facts, error) {
	path, err := resolveProgram(program)
	if err != nil {
		return nil, err
	}
	subj, err := facts.Program(path)
	if err != nil {
		return nil, err
	}
	subj.Args = req.args
	// The daemon's admin_groups may differ; explain uses the defaults.
	subj.Protection, subj.ProtectionDetail = facts.ProtectionOf(subj.Path, nil, facts.NewAdmins(facts.DefaultAdminGroups))
	f := &policy.Facts{Subject: subj, Event: policy.Exec, Machine: facts.Machine()}
	switch {
	case req.authURI != "" && (req.install || req.delete), req.install && req.delete:
		return nil, fmt.Errorf("choose one of --auth-uri, --install and --delete")
	case req.authURI != "":
		f.Event, f.AuthURI = policy.AuthRequest, req.authURI
	case req.install:
		f.Event = policy.Install
	case req.delete:
		f.Event = policy.Delete
	}
	if req.user == "" {
		f.User, f.UID, f.Groups, err = facts.CurrentUser()
	} else {
		f.User = req.user
		f.UID, f.Groups, err = facts.LookupUser(req.user)
	}
	if err != nil {
		return nil, err
	}
	for _, p := range req.parents {
		pp, err := resolveProgram(p)
		if err != nil {
			return nil, fmt.Errorf("parent: %w", err)
		}
		ps, err := facts.Program(pp)
		if err != nil {
			return nil, fmt.Errorf("parent: %w", err)
		}
		f.Parents = append(f.Parents, ps)
	}
	return f, nil
}

func printExplanation(w io.Writer, x *explanation) {
	p := x.Program
	fmt.Fprintf(w, "Program    %s (%s)\n", p.Path, p.Type)
	if len(p.Args) > 0 {
		fmt.Fprintf(w, "Arguments  %s\n", strings.Join(p.Args, " "))
	}
	for _, kv := range [][2]string{{"SHA-256", p.SHA256}, {"SHA-1", p.SHA1}, {"Bundle id", p.BundleID}, {"Version", p.Version},
		{"Publisher", p.Publisher}, {"Team id", p.TeamID}, {"Signing id", p.SigningID}, {"Signature", p.Signature}, {"Source", p.Source}} {
		if kv[1] != "" {
			fmt.Fprintf(w, "%-10s %s\n", kv[0], kv[1])
		}
	}
	if p.Protection != "" {
		fmt.Fprintf(w, "Location   %s\n", strings.TrimSuffix(p.Protection+": "+p.ProtectionDetail, ": "))
	}
	for i, pa := range x.Parents {
		fmt.Fprintf(w, "Parent %-3d %s (%s)\n", i+1, pa.Path, pa.Type)
	}
	fmt.Fprintf(w, "User       %s (groups: %s) on %s\n", x.User, strings.Join(x.Groups, ", "), x.Machine)
	if x.Event != "exec" {
		fmt.Fprintf(w, "Event      %s\n", strings.TrimSpace(x.Event+" "+x.AuthURI))
	}
	fmt.Fprintf(w, "Policy     %s\n\n", x.Policy)

	d := x.Decision
	verdict := "DENIED now"
	switch {
	case d.Action.Allows():
		verdict = "ALLOWED"
	case d.Action == policy.Elevate && d.Require == policy.ActionUnset:
		verdict = "runs as root through `gatehouse sudo`"
	case d.Action == policy.Elevate:
		verdict = fmt.Sprintf("runs as root through `gatehouse sudo` once its %s is given", d.Require)
	case d.Action.Interactive():
		verdict = "DENIED now; the user is asked, and their answer can let a relaunch through"
	}
	if d.Rule == 0 {
		fmt.Fprintf(w, "Decision   %s — no rule matched, so the policy default applies (%s)\n", d.Action, verdict)
	} else {
		name := ""
		if d.RuleName != "" {
			name = fmt.Sprintf(" %q", d.RuleName)
		}
		fmt.Fprintf(w, "Decision   %s — rule %d%s, group %q, definition %d (%s)\n", d.Action, d.Rule, name, d.Group, d.Definition, verdict)
	}
	if d.Require != policy.ActionUnset {
		fmt.Fprintf(w, "Requires   %s first\n", d.Require)
	}
	if d.MinJustification > 0 {
		fmt.Fprintf(w, "Reason     at least %d characters\n", d.MinJustification)
	}
	if !d.Audit {
		fmt.Fprintf(w, "Audit      not logged (the rule sets audit: false)\n")
	}
	if m := x.Message; m.Title != "" || m.Body != "" || m.URL != "" {
		fmt.Fprintf(w, "Message    %s\n", strings.TrimSpace(m.Title+"\n           "+m.Body))
		if m.URL != "" {
			fmt.Fprintf(w, "URL        %s\n", m.URL)
		}
	}
	var earlier []policy.RuleTrace
	for _, rt := range x.Trace {
		if !rt.Matched {
			earlier = append(earlier, rt)
		}
	}
	if len(earlier) == 0 {
		return
	}
	fmt.Fprintf(w, "\nWhy earlier rules did not match:\n")
	for _, rt := range earlier {
		name := ""
		if rt.Name != "" {
			name = fmt.Sprintf(" %q", rt.Name)
		}
		fmt.Fprintf(w, "  rule %d%s (%s, group %q):", rt.Rule, name, rt.Action, rt.Group)
		if rt.OutOfScope != "" {
			fmt.Fprintf(w, " not in scope: %s\n", rt.OutOfScope)
			continue
		}
		fmt.Fprintln(w)
		for _, dt := range rt.Definitions {
			line := ""
			if dt.Line > 0 {
				line = fmt.Sprintf(" (line %d)", dt.Line)
			}
			fmt.Fprintf(w, "    definition %d%s: %s\n", dt.Definition, line, strings.Join(dt.Failed, "; "))
		}
	}
}
