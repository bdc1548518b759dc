package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gatehouse/gatehouse/facts"
	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/request"
)

// Commands that talk to the running gatehoused over its local API. The
// daemon knows who is asking from the socket; nothing here claims an
// identity.

func clientFlags(name, synopsis string, stderr io.Writer) (*flag.FlagSet, *string) {
	fs := newFlagSet(name, synopsis, stderr)
	sock := fs.String("socket", localapi.DefaultSocket, "gatehoused's local API `socket`")
	return fs, sock
}

func apiCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 30*time.Second)
}

// apiFail prints an API error and returns the exit code.
func apiFail(stderr io.Writer, cmd string, err error) int {
	fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
	return exitFail
}

func cmdStatus(args []string, stdout, stderr io.Writer) int {
	fs, sock := clientFlags("gatehouse status", "gatehouse status [--json]", stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parseArgs(fs, args); err != nil {
		return flagErr(err)
	}
	ctx, cancel := apiCtx()
	defer cancel()
	st, err := localapi.NewClient(*sock).Status(ctx)
	if err != nil {
		return apiFail(stderr, "gatehouse status", err)
	}
	// The whole status is printed either way; a failing audit log is also
	// said on stderr and in the exit code, for scripts and monitoring.
	code := exitOK
	if st.Audit != nil && !st.Audit.OK {
		code = exitAuditFailing
		fmt.Fprintf(stderr, "gatehouse status: the audit log is failing since %s: %s\n", st.Audit.FailingSince.Local().Format(time.RFC3339), st.Audit.Error)
	}
	if *asJSON {
		if c := writeJSON(stdout, st); c != exitOK {
			return c
		}
		return code
	}
	fmt.Fprintf(stdout, "gatehoused %s running since %s (%s ago)\n", cmp.Or(st.DaemonVersion, "(version not reported)"), st.Started.Format(time.RFC3339), time.Since(st.Started).Round(time.Second))
	fmt.Fprintf(stdout, "policy:  %s revision %d from %s (loaded %s)\n", st.PolicyID, st.PolicyRevision, st.PolicyPath, st.PolicyLoaded.Format(time.RFC3339))
	if st.PolicyError != "" {
		fmt.Fprintf(stdout, "policy reload FAILED; the policy above is still in force:\n%s\n", st.PolicyError)
	}
	mode := "fail-open"
	if st.FailClosed {
		mode = "fail-closed"
	}
	fmt.Fprintf(stdout, "source:  %s, %s, %d marks: %s\n", st.Source, mode, len(st.Marks), strings.Join(st.Marks, " "))
	fmt.Fprintf(stdout, "you:     %s (uid %d)%s\n", st.You.User, st.You.UID, map[bool]string{true: ", root", false: ""}[st.You.Root])
	printAdmin(stdout, st.Admin, time.Now())
	for _, a := range st.Agents {
		fmt.Fprintf(stdout, "agent:   %s's, version %s, last heard %s\n", a.User, a.Version, a.LastSeen.Local().Format(time.RFC3339))
	}
	switch {
	case st.Audit == nil: // a gatehoused older than the field
	case st.Audit.OK:
		fmt.Fprintf(stdout, "audit:   ok\n")
	default:
		fmt.Fprintf(stdout, "audit:   FAILING since %s (%s ago); still enforcing, events not written are counted (audit_unwritten, audit_dropped):\n  %s\n",
			st.Audit.FailingSince.Local().Format(time.RFC3339), time.Since(st.Audit.FailingSince).Round(time.Second), st.Audit.Error)
	}
	printGaps(stdout, st.Gaps)
	keys := make([]string, 0, len(st.Counters))
	for k := range st.Counters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	for _, k := range keys {
		v := strconv.FormatUint(st.Counters[k], 10)
		if strings.HasSuffix(k, "_ns") {
			v = time.Duration(st.Counters[k]).String()
		}
		fmt.Fprintf(tw, "  %s\t%s\n", k, v)
	}
	tw.Flush()
	return code
}

// printAdmin says the caller's admin session: running, ended lately, or
// what they may ask for.
func printAdmin(w io.Writer, a *localapi.AdminStatus, now time.Time) {
	if a == nil {
		return
	}
	switch {
	case a.GrantID != 0:
		fmt.Fprintf(w, "admin:   rights until %s (%s left); gatehouse admin --end ends them\n", a.Until.Local().Format("15:04:05"), a.Until.Sub(now).Round(time.Second))
	case a.Offer != nil:
		req := cmp.Or(a.Offer.Require, "none")
		fmt.Fprintf(w, "admin:   none; gatehouse admin --for D asks (up to %s, default %s, requirement %s)\n", a.Offer.Max, a.Offer.Default, req)
	}
	if e := a.Ended; e != nil {
		fmt.Fprintf(w, "admin:   the last session %s at %s\n", e.Why, e.At.Local().Format("15:04:05"))
		for _, p := range e.StillRoot {
			fmt.Fprintf(w, "         still running as root: %s (pid %d)\n", p.Exe, p.PID)
		}
	}
}

// printGaps says which ways around the enforcer are open on the daemon's
// machine and what closes each; the closed ones in one line.
func printGaps(w io.Writer, gaps []localapi.Gap) {
	var closed []string
	for _, g := range gaps {
		if !g.Open {
			closed = append(closed, g.Name)
			continue
		}
		fmt.Fprintf(w, "gap:     %s: %s\n", g.Name, g.Detail)
		if g.Fix != "" {
			fmt.Fprintf(w, "         closes it: %s\n", g.Fix)
		}
	}
	if len(closed) > 0 {
		fmt.Fprintf(w, "closed:  %s\n", strings.Join(closed, ", "))
	}
}

func cmdEvents(args []string, stdout, stderr io.Writer) int {
	fs, sock := clientFlags("gatehouse events", "gatehouse events [--json] [--follow] [--kind K] [--action A] [--path TEXT] [--uid N] [--since DURATION|TIME] [--limit N]", stderr)
	asJSON := fs.Bool("json", false, "print one JSON object per line (for a SIEM)")
	follow := fs.Bool("follow", false, "keep printing new events")
	kind := fs.String("kind", "", "only events of this kind (exec, request, grant, policy, daemon; dropped, unwritten, unclean_stop: audit events lost, and how many)")
	action := fs.String("action", "", "only events with this action (allow, audit, deny, ...)")
	path := fs.String("path", "", "only events whose path contains this text")
	uid := fs.Int("uid", -1, "only this user's events (root)")
	since := fs.String("since", "", "only events after this: a duration like 1h or an RFC 3339 time")
	limit := fs.Int("limit", 100, "at most this many events per fetch")
	after := fs.Int64("after", 0, "only events with an id above this")
	if _, err := parseArgs(fs, args); err != nil {
		return flagErr(err)
	}
	f := localapi.EventFilter{Kind: *kind, Action: *action, PathContains: *path, Limit: *limit, AfterID: *after}
	if *uid >= 0 {
		u := uint32(*uid)
		f.UID = &u
	}
	if *since != "" {
		if d, err := time.ParseDuration(*since); err == nil {
			f.Since = time.Now().Add(-d)
		} else if t, err := time.Parse(time.RFC3339, *since); err == nil {
			f.Since = t
		} else {
			fmt.Fprintf(stderr, "gatehouse events: --since %q is neither a duration (1h) nor an RFC 3339 time\n", *since)
			return exitUsage
		}
	}
	c := localapi.NewClient(*sock)
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	if !*asJSON {
		fmt.Fprintln(tw, "ID\tTIME\tKIND\tACTION\tUSER\tPATH\tRULE\tDETAIL")
	}
	for {
		ctx, cancel := apiCtx()
		evs, err := c.Events(ctx, f)
		cancel()
		if err != nil {
			return apiFail(stderr, "gatehouse events", err)
		}
		for _, ev := range evs {
			if *asJSON {
				b, _ := json.Marshal(ev)
				fmt.Fprintf(stdout, "%s\n", b)
			} else {
				act := ev.Action
				if act == "" {
					act = "-"
				}
				rule := "-"
				if ev.Rule > 0 {
					rule = fmt.Sprintf("%d %s", ev.Rule, ev.RuleName)
				}
				detail := ev.Detail
				if ev.Reason != "" {
					detail = strings.TrimSpace(detail + " reason: " + ev.Reason)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", ev.ID, ev.Time.Local().Format("2006-01-02 15:04:05"),
					ev.Kind, act, orDash(ev.User), orDash(ev.Path), rule, detail)
			}
			f.AfterID = ev.ID
		}
		tw.Flush()
		if !*follow {
			return exitOK
		}
		if len(evs) < f.Limit {
			time.Sleep(time.Second)
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cmdCheck(args []string, stdout, stderr io.Writer) int {
	fs, sock := clientFlags("gatehouse check", "gatehouse check [--json] [--user U] [--arg A]... [--parent PATH]... PROGRAM", stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	user := fs.String("user", "", "check as this user (root only)")
	var argv, parents listFlag
	fs.Var(&argv, "arg", "an argument the program would get (repeatable)")
	fs.Var(&parents, "parent", "a parent process path, nearest first (repeatable)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return flagErr(err)
	}
	if len(pos) != 1 {
		fs.Usage()
		return exitUsage
	}
	// The files are opened here, with the caller's rights, and their
	// descriptors sent: the daemon reads nothing the caller could not.
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for i, p := range append([]string{pos[0]}, parents...) {
		what := ""
		if i > 0 {
			what = "parent: "
		}
		path, err := resolveProgram(p)
		if err == nil {
			var fs facts.Files
			if fs, err = facts.Open(path); err == nil {
				files = append(files, fs.List...)
			}
		}
		if err != nil {
			fmt.Fprintf(stderr, "gatehouse check: %s%v\n", what, err)
			return exitFail
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), localapi.CheckWait)
	defer cancel()
	res, err := localapi.NewClient(*sock).Check(ctx, localapi.Check{Args: argv, User: *user}, files)
	if err != nil {
		return apiFail(stderr, "gatehouse check", err)
	}
	if *asJSON {
		return writeJSON(stdout, res)
	}
	verdict := "ALLOWED"
	if !res.Allowed {
		verdict = "BLOCKED"
	}
	fmt.Fprintf(stdout, "%s for %s: %s (%s)\n", verdict, res.User, res.Path, res.AppType)
	fmt.Fprintf(stdout, "  sha256: %s\n", res.SHA256)
	if res.Rule > 0 {
		fmt.Fprintf(stdout, "  action %s by rule %d %q (group %s) of policy %s revision %d\n", res.Action, res.Rule, res.RuleName, res.Group, res.PolicyID, res.PolicyRevision)
	} else {
		fmt.Fprintf(stdout, "  action %s: no rule matched, the policy's default (policy %s revision %d)\n", res.Action, res.PolicyID, res.PolicyRevision)
	}
	if res.Grant != nil {
		fmt.Fprintf(stdout, "  a %s grant (id %d) lets it run until %s\n", res.Grant.Origin, res.Grant.ID, res.Grant.Expires.Local().Format(time.RFC3339))
	}
	for _, t := range res.Trace {
		fmt.Fprintf(stdout, "  %s\n", t)
	}
	return exitOK
}

func cmdRequests(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "approve" || args[0] == "deny") {
		return cmdDecide(args[0], args[1:], stdout, stderr)
	}
	fs, sock := clientFlags("gatehouse requests", "gatehouse requests [--json] [--state S]...   |   gatehouse requests approve|deny ID [--note TEXT]", stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	var states listFlag
	fs.Var(&states, "state", "only requests in this state (pending, submitted, approved, ...; repeatable)")
	if _, err := parseArgs(fs, args); err != nil {
		return flagErr(err)
	}
	ctx, cancel := apiCtx()
	defer cancel()
	want := make([]request.State, 0, len(states))
	for _, st := range states {
		want = append(want, request.State(st))
	}
	rs, err := localapi.NewClient(*sock).Requests(ctx, want...)
	if err != nil {
		return apiFail(stderr, "gatehouse requests", err)
	}
	if *asJSON {
		return writeJSON(stdout, rs)
	}
	if len(rs) == 0 {
		fmt.Fprintln(stdout, "no requests")
		return exitOK
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tUSER\tKIND\tSTATE\tPATH\tREASON\tWINDOW")
	for _, r := range rs {
		win := "-"
		if !r.WindowStart.IsZero() || !r.WindowEnd.IsZero() {
			win = fmtTime(r.WindowStart) + " to " + fmtTime(r.WindowEnd)
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Created.Local().Format("2006-01-02 15:04"), r.User, r.Kind, r.State, r.Path, orDash(r.Reason), win)
	}
	tw.Flush()
	return exitOK
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

func cmdDecide(verb string, args []string, stdout, stderr io.Writer) int {
	fs, sock := clientFlags("gatehouse requests "+verb, "gatehouse requests "+verb+" ID [--note TEXT]", stderr)
	note := fs.String("note", "", "a note recorded with the decision")
	id, code := parseID(fs, args, stderr)
	if code >= 0 {
		return code
	}
	var err error
	ctx, cancel := apiCtx()
	defer cancel()
	c := localapi.NewClient(*sock)
	var res localapi.AnswerResult
	if verb == "approve" {
		res, err = c.Approve(ctx, id, *note)
	} else {
		res, err = c.Deny(ctx, id, *note)
	}
	if err != nil {
		return apiFail(stderr, "gatehouse requests "+verb, err)
	}
	fmt.Fprintf(stdout, "request %d is now %s\n", res.Request.ID, res.Request.State)
	if res.Grant != nil {
		fmt.Fprintf(stdout, "%s may run %s from %s until %s\n", res.Request.User, res.Grant.Path,
			fmtTime(res.Request.WindowStart), res.Grant.Expires.Local().Format(time.RFC3339))
	}
	return exitOK
}

// cmdRequest answers one of the caller's own requests.
func cmdRequest(args []string, stdout, stderr io.Writer) int {
	fs, sock := clientFlags("gatehouse request", `gatehouse request ID [--continue | --reason TEXT [--from TIME --until TIME] | --code RESPONSE-CODE | --cancel]`, stderr)
	cont := fs.Bool("continue", false, "run it anyway (warning)")
	reason := fs.String("reason", "", "why you need it (justification or approval)")
	cancelReq := fs.Bool("cancel", false, "withdraw the request")
	from := fs.String("from", "", "approval window start, RFC 3339 (e.g. 2026-11-24T09:00:00+01:00)")
	until := fs.String("until", "", "approval window end, RFC 3339")
	respCode := fs.String("code", "", "the response code the help desk gave you (offline approval)")
	id, code := parseID(fs, args, stderr)
	if code >= 0 {
		return code
	}
	c := localapi.NewClient(*sock)
	ctx, cancel := apiCtx()
	defer cancel()
	if *respCode != "" {
		res, err := c.OfflineRespond(ctx, id, *respCode)
		if err != nil {
			return apiFail(stderr, "gatehouse request", err)
		}
		fmt.Fprintf(stdout, "approved: run %s again before %s\n", res.Grant.Path, res.Grant.Expires.Local().Format(time.RFC3339))
		return exitOK
	}
	if !*cont && *reason == "" && !*cancelReq {
		r, err := c.Request(ctx, id)
		if err != nil {
			return apiFail(stderr, "gatehouse request", err)
		}
		return writeJSON(stdout, r)
	}
	a := localapi.Answer{Cancel: *cancelReq, Reason: *reason}
	for _, x := range []struct {
		s string
		t *time.Time
	}{{*from, &a.WindowStart}, {*until, &a.WindowEnd}} {
		if x.s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339, x.s)
		if err != nil {
			fmt.Fprintf(stderr, "gatehouse request: %q is not an RFC 3339 time like 2026-11-24T09:00:00Z\n", x.s)
			return exitUsage
		}
		*x.t = t
	}
	res, err := c.Answer(ctx, id, a)
	if err != nil {
		return apiFail(stderr, "gatehouse request", err)
	}
	switch {
	case res.Grant != nil:
		fmt.Fprintf(stdout, "granted: run %s again before %s\n", res.Grant.Path, res.Grant.Expires.Local().Format("15:04:05"))
	default:
		fmt.Fprintf(stdout, "request %d is now %s\n", res.Request.ID, res.Request.State)
	}
	return exitOK
}

func writeJSON(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return exitFail
	}
	return exitOK
}

// parseID parses flags and the one request id of a command line. code is
// the exit code to return at once, or -1 to go on.
func parseID(fs *flag.FlagSet, args []string, stderr io.Writer) (id int64, code int) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return 0, flagErr(err)
	}
	if len(pos) != 1 {
		fs.Usage()
		return 0, exitUsage
	}
	id, err = strconv.ParseInt(pos[0], 10, 64)
	if err != nil || id <= 0 {
		fmt.Fprintf(stderr, "%s: %q is not a request id\n", fs.Name(), pos[0])
		return 0, exitUsage
	}
	return id, -1
}
