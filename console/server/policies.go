package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/gatehouse/gatehouse/console/store"
	"github.com/gatehouse/gatehouse/policy"
	"github.com/gatehouse/gatehouse/policy/policyfile"
)

// The policy page's calls: the policies with their history and where each
// is assigned, a lint that stores nothing (the editor's inline results),
// and rollback, which stores an old revision's text again as the newest.

// PolicyInfo is a policy revision as the pages list it.
type PolicyInfo struct {
	Name       string    `json:"name"`
	Revision   int64     `json:"revision"`
	Uploaded   time.Time `json:"uploaded"`
	UploadedBy string    `json:"uploaded_by"`
	Body       string    `json:"body,omitempty"`
	AssignedTo []string  `json:"assigned_to,omitempty"` // the newest of each policy: its targets
}

// AssignmentWire is a target's policy.
type AssignmentWire struct {
	Target   string    `json:"target"`
	Policy   string    `json:"policy"`
	Assigned time.Time `json:"assigned"`
	By       string    `json:"by"`
}

func policyInfo(p store.Policy, body bool) PolicyInfo {
	pi := PolicyInfo{Name: p.Name, Revision: p.Revision, Uploaded: p.Uploaded, UploadedBy: p.UploadedBy}
	if body {
		pi.Body = string(p.Body)
	}
	return pi
}

// listPolicies is GET /v1/admin/policies: each policy's newest revision
// and where it is assigned.
func (s *Server) listPolicies(w http.ResponseWriter, r *http.Request, _ store.Token) {
	ps, err := s.st.Policies(r.Context(), "")
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	as, err := s.st.Assignments(r.Context())
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	out := make([]PolicyInfo, 0, len(ps))
	for _, p := range ps {
		pi := policyInfo(p, false)
		for _, a := range as {
			if a.Policy == p.Name {
				pi.AssignedTo = append(pi.AssignedTo, a.Target)
			}
		}
		out = append(out, pi)
	}
	s.reply(w, out, nil)
}

// policyHistory is GET /v1/admin/policies/{name}: every revision, newest
// first, with its text.
func (s *Server) policyHistory(w http.ResponseWriter, r *http.Request, _ store.Token) {
	ps, err := s.st.Policies(r.Context(), r.PathValue("name"))
	if err == nil && len(ps) == 0 {
		err = fmt.Errorf("policy %s: %w", r.PathValue("name"), store.ErrNotFound)
	}
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	out := make([]PolicyInfo, 0, len(ps))
	for _, p := range ps {
		out = append(out, policyInfo(p, true))
	}
	s.reply(w, out, nil)
}

func (s *Server) listAssignments(w http.ResponseWriter, r *http.Request, _ store.Token) {
	as, err := s.st.Assignments(r.Context())
	out := make([]AssignmentWire, 0, len(as))
	for _, a := range as {
		out = append(out, AssignmentWire{Target: a.Target, Policy: a.Policy, Assigned: a.Assigned, By: a.By})
	}
	s.reply(w, out, err)
}

// lint compiles a policy as gatehoused would: its findings, line and
// column, and the engine when it has no errors (nil otherwise).
func lint(name, text string) (eng *policy.Engine, diags []Diagnostic) {
	eng, _, ds := policyfile.Compile(name, []byte(text))
	diags = []Diagnostic{}
	for _, d := range ds {
		diags = append(diags, Diagnostic{Line: d.Pos.Line, Column: d.Pos.Col, Severity: d.Severity.String(), Message: d.Message})
	}
	if ds.HasErrors() {
		return nil, diags
	}
	return eng, diags
}

// lintPolicy is POST /v1/admin/policies/lint: the findings, nothing
// stored.
func (s *Server) lintPolicy(w http.ResponseWriter, r *http.Request, _ store.Token) {
	var u PolicyUpload
	if err := decodeUpTo(w, r, &u, maxPolicy+(64<<10)); err != nil {
		s.reply(w, nil, err)
		return
	}
	name := u.Name
	if name == "" {
		name = "policy"
	}
	eng, diags := lint(name, u.YAML)
	rev := int64(0)
	if eng != nil {
		rev = eng.Revision()
	}
	s.reply(w, map[string]any{"revision": rev, "errors": eng == nil, "diagnostics": diags}, nil)
}

// RollbackRequest is POST /v1/admin/policies/{name}/rollback.
type RollbackRequest struct {
	Revision int64 `json:"revision"`
}

// rollback stores revision's text again as the policy's newest revision
// (its revision: line set one above the newest), linted as any upload;
// machines assigned the policy get it at once.
func (s *Server) rollback(w http.ResponseWriter, r *http.Request, who store.Token) {
	var req RollbackRequest
	if err := decode(w, r, &req); err != nil {
		s.reply(w, nil, err)
		return
	}
	name := r.PathValue("name")
	ps, err := s.st.Policies(r.Context(), name)
	if err != nil {
		s.reply(w, nil, err)
		return
	}
	i := slices.IndexFunc(ps, func(p store.Policy) bool { return p.Revision == req.Revision })
	if i < 0 {
		s.reply(w, nil, fail(http.StatusNotFound, "policy %s has no revision %d", name, req.Revision))
		return
	}
	if i == 0 {
		s.reply(w, nil, fail(http.StatusConflict, "revision %d is the newest already", req.Revision))
		return
	}
	next := ps[0].Revision + 1
	body, err := setRevision(ps[i].Body, next)
	if err != nil {
		s.reply(w, nil, fail(http.StatusConflict, "%v", err))
		return
	}
	if eng, diags := lint(name, string(body)); eng == nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		json.NewEncoder(w).Encode(map[string]any{"error": fmt.Sprintf("revision %d does not lint clean with this console's compiler; nothing was stored", req.Revision), "diagnostics": diags})
		return
	}
	err = s.st.AddPolicy(r.Context(), store.Policy{Name: name, Revision: next, Body: body, UploadedBy: who.Name + fmt.Sprintf(" (rollback to %d)", req.Revision)}, s.now())
	s.reply(w, map[string]any{"name": name, "revision": next, "from": req.Revision}, err)
}

// setRevision is body with its top-level revision: set to rev, the rest
// of the text (comments, layout) as it was.
func setRevision(body []byte, rev int64) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(body, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the stored policy is not a YAML mapping")
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Value != "revision" {
			continue
		}
		if v.Kind != yaml.ScalarNode || v.Style != 0 {
			return nil, errors.New("the policy's revision is not a plain number: edit it by hand")
		}
		lines := bytes.SplitAfter(body, []byte("\n"))
		if v.Line < 1 || v.Line > len(lines) {
			return nil, errors.New("the policy's revision is not where YAML says")
		}
		line := lines[v.Line-1]
		col := v.Column - 1
		if col < 0 || col+len(v.Value) > len(line) || string(line[col:col+len(v.Value)]) != v.Value {
			return nil, errors.New("the policy's revision is not where YAML says")
		}
		lines[v.Line-1] = slices.Concat(line[:col], []byte(strconv.FormatInt(rev, 10)), line[col+len(v.Value):])
		return bytes.Join(lines, nil), nil
	}
	return nil, errors.New("the policy names no revision")
}
