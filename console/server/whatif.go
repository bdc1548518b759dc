package server

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/console/store"
	"github.com/gatehouse/gatehouse/policy"
)

// What-if: a draft policy replayed over the exec events the machines
// uploaded in the last days, before it is published — which programs,
// users and computers it would decide differently from what was decided.
// The events carry the program's path, SHA-256, type, arguments and its
// nearest parent, the user and the computer; not its code signature,
// download source, the folders' protection, the user's groups or the rest
// of the parent chain. Criteria on those see empty values here (a rule on
// a publisher matches no replayed event), and the answer lists which of
// them the draft uses. Allows with `audit: false`, and those the kernel
// answered from its cache, are never recorded, so they are not replayed
// either.

// WhatIfRequest is POST /v1/admin/whatif.
type WhatIfRequest struct {
	Name string `json:"name"` // the policy's name (for its lint)
	YAML string `json:"yaml"`
	Days int    `json:"days"` // default 7, at most 90
}

// WhatIfChange is one program decided differently.
type WhatIfChange struct {
	Path      string   `json:"path"`
	SHA256    string   `json:"sha256,omitempty"`
	Was       string   `json:"was"`   // the action recorded
	Would     string   `json:"would"` // the draft's
	WouldRule int      `json:"would_rule"`
	Events    int      `json:"events"`
	Users     []string `json:"users"`
	Computers []string `json:"computers"`
}

// WhatIfResult is the replay's answer.
type WhatIfResult struct {
	Revision  int64          `json:"revision"`
	Since     time.Time      `json:"since"`
	Events    int            `json:"events"`    // exec events replayed
	Truncated bool           `json:"truncated"` // more than whatIfMax: the newest replayed
	Changed   []WhatIfChange `json:"changed"`
	Missing   []string       `json:"missing"` // what the draft looks at that the events do not carry
	Notes     []string       `json:"notes"`
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
	evs, err := s.st.Events(r.Context(), store.EventFilter{Kind: "exec", Since: since, Limit: whatIfMax, Newest: true})
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	ms, err := s.st.Machines(r.Context())
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	s.reply(w, replay(eng, evs, ms, since), nil)
}

// replay evaluates eng on each event and gathers the programs decided
// differently.
func replay(eng *policy.Engine, evs []store.Event, ms []store.Machine, since time.Time) WhatIfResult {
	names := map[string]string{} // machine id → the name its policy sees
	host := map[string]string{}
	for _, m := range ms {
		names[m.ID], host[m.ID] = m.OfflineName, m.Hostname
		if names[m.ID] == "" {
			names[m.ID] = m.Hostname
		}
	}
	needs := eng.Needs()
	res := WhatIfResult{Revision: eng.Revision(), Since: since, Events: len(evs), Truncated: len(evs) == whatIfMax, Changed: []WhatIfChange{}, Missing: []string{}}
	for _, m := range []struct {
		on   bool
		what string
	}{{needs.Signature, "code signatures (publisher, team id, signing id)"}, {needs.Source, "download sources"},
		{needs.Protection, "whether users could write the program's folder"}, {needs.SHA1, "SHA-1 hashes"},
		{needs.ParentFacts, "the parents' hashes and signatures"}} {
		if m.on {
			res.Missing = append(res.Missing, m.what)
		}
	}
	res.Notes = []string{
		"Events carry the program's path, SHA-256, type, arguments and nearest parent, the user and the computer; criteria on anything else (listed as missing) see empty values here, so a rule on them matches no replayed event.",
		"The parent chain is the nearest parent only; users' groups are not in the events, so rules scoped to groups are replayed without them.",
		"Allows with audit: false and those the kernel answered from its cache are never recorded, so they are not replayed.",
	}
	type key struct{ path, sha, was, would string }
	changes := map[key]*WhatIfChange{}
	var order []key
	for _, e := range evs {
		var d struct {
			Args    []string `json:"args"`
			Parent  string   `json:"parent"`
			AppType string   `json:"app_type"`
		}
		json.Unmarshal([]byte(e.Detail), &d)
		typ, _ := policy.ParseType(d.AppType)
		f := &policy.Facts{Event: policy.Exec, Subject: policy.Subject{Type: typ, Path: e.Path, SHA256: e.SHA256},
			User: e.User, UID: e.UID, Machine: names[e.MachineID]}
		dec, _ := eng.EvaluateLazy(f, func(f *policy.Facts, n policy.Needs) {
			if n.Args {
				f.Args = d.Args
			}
			if n.Parents && d.Parent != "" {
				f.Parents = []policy.Subject{{Path: d.Parent}}
			}
		})
		would := dec.Action.String()
		if would == e.Action || e.Action == "" {
			continue
		}
		k := key{e.Path, e.SHA256, e.Action, would}
		c := changes[k]
		if c == nil {
			c = &WhatIfChange{Path: e.Path, SHA256: e.SHA256, Was: e.Action, Would: would, WouldRule: dec.Rule, Users: []string{}, Computers: []string{}}
			changes[k] = c
			order = append(order, k)
		}
		c.Events++
		if u := e.User; u != "" && !slices.Contains(c.Users, u) {
			c.Users = append(c.Users, u)
		}
		if h := host[e.MachineID]; h != "" && !slices.Contains(c.Computers, h) {
			c.Computers = append(c.Computers, h)
		}
	}
	for _, k := range order {
		c := changes[k]
		slices.Sort(c.Users)
		slices.Sort(c.Computers)
		res.Changed = append(res.Changed, *c)
	}
	slices.SortStableFunc(res.Changed, func(a, b WhatIfChange) int {
		if a.Events != b.Events {
			return b.Events - a.Events
		}
		return strings.Compare(a.Path, b.Path)
	})
	return res
}
