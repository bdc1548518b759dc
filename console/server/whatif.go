package server

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/console/store"
	"github.com/gatehouse/gatehouse/policy"
)

// What-if: a draft policy replayed, before it is published, over the
// exec events the machines uploaded in the last days — which programs,
// users and computers it would decide differently from what was decided.
//
// Each exec event carries the program's path, SHA-256, type, the user and
// groups, the arguments (when its decision or its record read them) and
// the nearest parent (the whole chain when the decision read it). The rest
// of what a criterion looks at comes from the machine's record of the
// program (store.Program: SHA-1, code signature, download source, folder
// protection, and the parent chain of its first exec), which machines send
// the first time a program runs there (program_facts). A parent chain not
// in the event is its nearest parent followed by that parent's own chain
// as first seen, and each parent's facts are its record on that machine.
//
// Execs allowed without audit and those answered from the kernel's cache
// are never recorded; every program's first exec is, so programs with no
// exec event since the window began are replayed once per machine, as
// first seen (Unrecorded).

// WhatIfRequest is POST /v1/admin/whatif.
type WhatIfRequest struct {
	Name string `json:"name"` // the policy's name (for its lint)
	YAML string `json:"yaml"`
	Days int    `json:"days"` // default 7, at most 90
}

// WhatIfChange is one program decided differently.
type WhatIfChange struct {
	Path       string   `json:"path"`
	SHA256     string   `json:"sha256,omitempty"`
	Was        string   `json:"was"`   // the action recorded
	Would      string   `json:"would"` // the draft's
	WouldRule  int      `json:"would_rule"`
	Events     int      `json:"events"`     // recorded execs
	Unrecorded int      `json:"unrecorded"` // computers where it ran unrecorded since the window began, replayed as first seen
	Users      []string `json:"users"`
	Computers  []string `json:"computers"`
}

// WhatIfResult is the replay's answer.
type WhatIfResult struct {
	Revision   int64          `json:"revision"`
	Since      time.Time      `json:"since"`
	Events     int            `json:"events"`     // exec events replayed
	Unrecorded int            `json:"unrecorded"` // programs replayed as first seen
	Truncated  bool           `json:"truncated"`  // more than whatIfMax of either: the newest replayed
	Changed    []WhatIfChange `json:"changed"`
	Missing    []string       `json:"missing"` // what the draft looks at that some replayed execs lack
	Notes      []string       `json:"notes"`
}

const whatIfMax = 50000

func (s *Server) whatIf(w http.ResponseWriter, r *http.Request, _ store.Token) {
	var req WhatIfRequest
	if err := decodeUpTo(w, r, &req, maxPolicy+(64<<10)); err != nil {
		s.reply(w, nil, err)
		return
	}
	if req.Days == 0 {
		req.Days = 7
	}
	if req.Days < 1 || req.Days > 90 {
		s.reply(w, nil, fail(http.StatusBadRequest, "days is 1 to 90"))
		return
	}
	name := req.Name
	if name == "" {
		name = "draft"
	}
	eng, diags := lint(name, req.YAML)
	if eng == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"error": "the draft has errors: fix them before replaying it", "diagnostics": diags})
		return
	}
	since := s.now().Add(-time.Duration(req.Days) * 24 * time.Hour)
	res, err := whatIfOn(r.Context(), s.st, eng, since)
	s.reply(w, res, err)
}

// whatIfOn replays eng over what st holds since since.
func whatIfOn(ctx context.Context, st *store.Store, eng *policy.Engine, since time.Time) (WhatIfResult, error) {
	execs, err := st.ExecsWithFacts(ctx, since, whatIfMax)
	if err != nil {
		return WhatIfResult{}, err
	}
	unrecorded, err := st.ProgramsUnrecorded(ctx, since, whatIfMax)
	if err != nil {
		return WhatIfResult{}, err
	}
	ms, err := st.Machines(ctx)
	if err != nil {
		return WhatIfResult{}, err
	}
	rp := &replayer{eng: eng, records: map[string]store.Program{}}
	if eng.Needs().Parents {
		if err := rp.fetchParents(ctx, st, execs, unrecorded); err != nil {
			return WhatIfResult{}, err
		}
	}
	return rp.replay(execs, unrecorded, ms, since), nil
}

// execDetail is what replay reads of an event's detail (consolesync's).
type execDetail struct {
	Args    []string `json:"args"`
	Groups  []string `json:"groups"`
	Parent  string   `json:"parent"`
	Parents []string `json:"parents"`
	AppType string   `json:"app_type"`
	Source  string   `json:"source"`
}

func detailOf(e store.Event) execDetail {
	var d execDetail
	json.Unmarshal([]byte(e.Detail), &d)
	return d
}

// replayer evaluates a draft on recorded execs.
type replayer struct {
	eng *policy.Engine
	// records are the programs at the paths of parent chains, by machine
	// and path: the newest first seen there.
	records map[string]store.Program
	// Counts of what the draft looked at and the replay did not have.
	noFacts, noParentFacts int
}

func recordKey(machine, path string) string { return machine + "\x00" + path }

// fetchParents reads the records of the programs the parent chains name:
// their facts, and the chains of the nearest parents as first seen.
func (rp *replayer) fetchParents(ctx context.Context, st *store.Store, execs []store.ExecWithFacts, unrecorded []store.Program) error {
	want := map[string]bool{}
	add := func(d execDetail) {
		if d.Parent != "" {
			want[d.Parent] = true
		}
		for _, p := range d.Parents {
			want[p] = true
		}
	}
	for _, x := range execs {
		add(detailOf(x.Event))
	}
	for _, p := range unrecorded {
		add(detailOf(p.First))
	}
	for round := 0; round < 2 && len(want) > 0; round++ {
		paths := slices.Collect(maps.Keys(want))
		got, err := st.ProgramsAt(ctx, paths)
		if err != nil {
			return err
		}
		clear(want)
		for _, p := range got {
			k := recordKey(p.MachineID, p.Path)
			if old, ok := rp.records[k]; ok && !p.FirstSeen.After(old.FirstSeen) {
				continue
			}
			rp.records[k] = p
		}
		// The chains the nearest parents were first seen under.
		for _, p := range got {
			for _, q := range detailOf(p.First).Parents {
				if _, ok := rp.records[recordKey(p.MachineID, q)]; !ok {
					want[q] = true
				}
			}
		}
	}
	return nil
}

// subject is a program's facts: its record's when there is one.
func subject(path, sha string, d execDetail, facts string) (policy.Subject, bool) {
	var rec policy.SubjectRecord
	if facts != "" && json.Unmarshal([]byte(facts), &rec) == nil {
		s := rec.Subject()
		s.Path, s.SHA256 = path, sha // this exec's (the record is of the same contents)
		return s, true
	}
	typ, _ := policy.ParseType(d.AppType)
	return policy.Subject{Type: typ, Path: path, SHA256: sha, Source: d.Source}, false
}

// chain is the parent chain of an exec on machine: the event's, or its
// nearest parent followed by that parent's chain as first seen; each with
// its record's facts. complete is false when one has no record.
func (rp *replayer) chain(machine string, d execDetail) (out []policy.Subject, complete bool) {
	paths := d.Parents
	if len(paths) == 0 && d.Parent != "" {
		paths = []string{d.Parent}
		if p, ok := rp.records[recordKey(machine, d.Parent)]; ok {
			paths = append(paths, detailOf(p.First).Parents...)
		}
	}
	complete = true
	for _, path := range paths {
		s := policy.Subject{Path: path, Type: policy.Binary}
		if p, ok := rp.records[recordKey(machine, path)]; ok {
			s, _ = subject(path, p.SHA256, execDetail{}, p.Facts)
		} else if path != "" {
			complete = false
		}
		out = append(out, s)
	}
	return out, complete
}

// evaluate decides one exec with the draft.
func (rp *replayer) evaluate(machine, name string, e store.Event, facts string) policy.Decision {
	d := detailOf(e)
	subj, haveFacts := subject(e.Path, e.SHA256, d, facts)
	f := &policy.Facts{Event: policy.Exec, Subject: subj, User: e.User, UID: e.UID, Groups: d.Groups, Machine: name}
	needs := rp.eng.Needs()
	if !haveFacts && (needs.Signature || needs.Source || needs.Protection || needs.SHA1) {
		rp.noFacts++
	}
	dec, _ := rp.eng.EvaluateLazy(f, func(f *policy.Facts, n policy.Needs) {
		if n.Args {
			f.Args = d.Args
		}
		if n.Parents && f.Parents == nil {
			var complete bool
			f.Parents, complete = rp.chain(machine, d)
			if !complete && needs.ParentFacts {
				rp.noParentFacts++
			}
		}
	})
	return dec
}

// replay evaluates the draft on each exec and each program unrecorded
// since, and gathers the programs decided differently.
func (rp *replayer) replay(execs []store.ExecWithFacts, unrecorded []store.Program, ms []store.Machine, since time.Time) WhatIfResult {
	names := map[string]string{} // machine id → the name its policy sees
	host := map[string]string{}
	for _, m := range ms {
		names[m.ID], host[m.ID] = m.OfflineName, m.Hostname
		if names[m.ID] == "" {
			names[m.ID] = m.Hostname
		}
	}
	res := WhatIfResult{Revision: rp.eng.Revision(), Since: since, Events: len(execs), Unrecorded: len(unrecorded),
		Truncated: len(execs) == whatIfMax || len(unrecorded) == whatIfMax, Changed: []WhatIfChange{}, Missing: []string{}}
	type key struct{ path, sha, was, would string }
	changes := map[key]*WhatIfChange{}
	var order []key
	note := func(e store.Event, dec policy.Decision, recorded bool) {
		would := dec.Action.String()
		if would == e.Action || e.Action == "" {
			return
		}
		k := key{e.Path, e.SHA256, e.Action, would}
		c := changes[k]
		if c == nil {
			c = &WhatIfChange{Path: e.Path, SHA256: e.SHA256, Was: e.Action, Would: would, WouldRule: dec.Rule, Users: []string{}, Computers: []string{}}
			changes[k] = c
			order = append(order, k)
		}
		if recorded {
			c.Events++
		} else {
			c.Unrecorded++
		}
		if u := e.User; u != "" && !slices.Contains(c.Users, u) {
			c.Users = append(c.Users, u)
		}
		if h := host[e.MachineID]; h != "" && !slices.Contains(c.Computers, h) {
			c.Computers = append(c.Computers, h)
		}
	}
	for _, x := range execs {
		note(x.Event, rp.evaluate(x.MachineID, names[x.MachineID], x.Event, x.Facts), true)
	}
	for _, p := range unrecorded {
		e := p.First
		e.Path, e.SHA256 = p.Path, p.SHA256
		note(e, rp.evaluate(p.MachineID, names[p.MachineID], e, p.Facts), false)
	}
	for _, k := range order {
		c := changes[k]
		slices.Sort(c.Users)
		slices.Sort(c.Computers)
		res.Changed = append(res.Changed, *c)
	}
	slices.SortStableFunc(res.Changed, func(a, b WhatIfChange) int {
		if n := (b.Events + b.Unrecorded) - (a.Events + a.Unrecorded); n != 0 {
			return n
		}
		return strings.Compare(a.Path, b.Path)
	})
	if rp.noFacts > 0 {
		res.Missing = append(res.Missing, fmt.Sprintf("the program's recorded facts (code signature, SHA-1, download source, folder protection) for %d execs: their computers did not send them (program_facts off, or a version without it)", rp.noFacts))
	}
	if rp.noParentFacts > 0 {
		res.Missing = append(res.Missing, fmt.Sprintf("the facts of a parent program for %d execs: no computer sent that parent's record", rp.noParentFacts))
	}
	res.Notes = []string{
		"Facts of each program come from the record its computer sent the first time it ran there; the download source and folder protection are as they were then.",
		"A parent chain the event does not carry is its nearest parent followed by that parent's chain when it was first seen.",
		"Allows without audit and those the kernel answered from its cache are not recorded: programs with no recorded start since the window began are replayed once per computer, as first seen (counted apart).",
		"Arguments are replayed where the start was recorded with them (a rule that read them, or a deny).",
	}
	return res
}
