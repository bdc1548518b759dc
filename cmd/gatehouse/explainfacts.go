package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/policy"
)

// maxFactsFile bounds a --facts file: facts are a few kilobytes.
const maxFactsFile = 1 << 20

// factsFile is a --facts file: the facts part of `explain --json`'s
// output; the rest of that output (policy to trace) is read and ignored,
// so an earlier answer can be replayed as it is.
type factsFile struct {
	Program  *factsView  `json:"program"`
	Parents  []factsView `json:"parents"`
	User     string      `json:"user"`
	UID      uint32      `json:"uid"`
	Groups   []string    `json:"user_groups"`
	Machine  string      `json:"machine"`
	Event    string      `json:"event"`
	AuthURI  string      `json:"auth_uri"`
	Policy   any         `json:"policy"`
	Decision any         `json:"decision"`
	Allowed  any         `json:"allowed_now"`
	Message  any         `json:"message"`
	Trace    any         `json:"trace"`
}

// loadFacts reads the facts of one evaluation from a JSON file, so that a
// decision this machine cannot produce (a publisher, a bundle, an install
// on Linux) can be reproduced anywhere.
func loadFacts(path string) (*policy.Facts, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(os.Stdin, maxFactsFile+1))
	} else {
		var f *os.File
		if f, err = os.Open(path); err == nil {
			data, err = io.ReadAll(io.LimitReader(f, maxFactsFile+1))
			f.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("read facts: %w", err)
	}
	if len(data) > maxFactsFile {
		return nil, fmt.Errorf("facts file %s is larger than %d bytes", path, maxFactsFile)
	}
	return parseFacts(path, data)
}

// parseFacts decodes a facts file strictly: unknown keys (in the facts or
// in a program) are errors with the keys that are known.
func parseFacts(name string, data []byte) (*policy.Facts, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var ff factsFile
	if err := dec.Decode(&ff); err != nil {
		msg := jsonError(data, err)
		if strings.Contains(msg, "unknown field") {
			msg += "; facts have program, parents, user, uid, user_groups, machine, event and auth_uri, and a program type, path, args, sha1, sha256, bundle_id, version, publisher, team_id, signing_id, source, protection and protection_detail"
		}
		return nil, fmt.Errorf("%s: %s", name, msg)
	}
	if ff.Program == nil {
		return nil, fmt.Errorf("%s: no \"program\": give at least {\"program\": {\"type\": \"binary\", \"path\": \"/usr/bin/x\"}}", name)
	}
	f := &policy.Facts{User: ff.User, UID: ff.UID, Groups: ff.Groups, Machine: ff.Machine, AuthURI: ff.AuthURI}
	var err error
	if f.Subject, err = subjectOf(*ff.Program); err != nil {
		return nil, fmt.Errorf("%s: program: %w", name, err)
	}
	for i, p := range ff.Parents {
		s, err := subjectOf(p)
		if err != nil {
			return nil, fmt.Errorf("%s: parent %d: %w", name, i+1, err)
		}
		f.Parents = append(f.Parents, s)
	}
	switch ff.Event {
	case "", "exec":
		f.Event = policy.Exec
	case "auth_request":
		f.Event = policy.AuthRequest
	case "install":
		f.Event = policy.Install
	case "delete":
		f.Event = policy.Delete
	default:
		return nil, fmt.Errorf("%s: unknown event %q; use exec, auth_request, install or delete", name, ff.Event)
	}
	if (f.Event == policy.AuthRequest) != (f.AuthURI != "") {
		return nil, fmt.Errorf("%s: an auth_request event needs auth_uri, and auth_uri needs event auth_request", name)
	}
	return f, nil
}

// subjectOf is the policy subject of a program in a facts file.
func subjectOf(v factsView) (policy.Subject, error) {
	t, ok := policy.ParseType(v.Type)
	if v.Type == policy.TypeUnknown.String() {
		t, ok = policy.TypeUnknown, true
	}
	if !ok {
		names := policy.TypeNames()
		sort.Strings(names)
		return policy.Subject{}, fmt.Errorf("unknown type %q; use one of %s", v.Type, strings.Join(names, ", "))
	}
	if v.Path == "" {
		return policy.Subject{}, errors.New("no path")
	}
	switch v.Protection {
	case "", "unknown", policy.Protected.String(), policy.Unprotected.String():
	default:
		return policy.Subject{}, fmt.Errorf("unknown protection %q; use protected or unprotected (or leave it out)", v.Protection)
	}
	s := v.Subject()
	s.Type, s.SHA1, s.SHA256 = t, strings.ToLower(v.SHA1), strings.ToLower(v.SHA256)
	return s, nil
}

// jsonError gives a JSON error with the line and column it is at.
func jsonError(data []byte, err error) string {
	var off int64 = -1
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 {
		return err.Error()
	}
	line, col := 1, 1
	for _, c := range data[:min(int(off), len(data))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return fmt.Sprintf("line %d, column %d: %v", line, col, err)
}
