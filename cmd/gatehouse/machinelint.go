package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gatehouse/gatehouse/policy"
)

// machineDiagnostics are the warnings only this machine can give about a
// policy: a path criterion that goes through a symbolic link here can never
// match, because the kernel reports the resolved path (on merged-/usr
// systems /bin/ls runs as /usr/bin/ls; on macOS /tmp is /private/tmp).
func machineDiagnostics(doc *policy.Document) policy.Diagnostics {
	if doc == nil {
		return nil
	}
	var out policy.Diagnostics
	for _, g := range doc.Groups {
		for i, d := range g.Definitions {
			m := d.Path
			if m == nil {
				continue
			}
			for _, c := range []struct {
				op string
				v  *string
			}{{"exact", m.Exact}, {"starts_with", m.StartsWith}} {
				if c.v == nil {
					continue
				}
				resolved, link, ok := throughSymlink(*c.v)
				if !ok {
					continue
				}
				out = append(out, policy.Diagnostic{Pos: m.Pos, Severity: policy.SeverityWarning,
					Where: fmt.Sprintf("group %q definition %d: path", g.Name, i+1),
					Message: fmt.Sprintf("%s %q goes through the symbolic link %s on this machine, and programs run under their resolved path, so it never matches here; use %q (or list both, for machines where it is not a link)",
						c.op, *c.v, link, resolved)})
			}
		}
	}
	return out
}

// throughSymlink reports whether the absolute path (or path prefix) v
// resolves to something else on this machine: the resolved form, and the
// link that makes the difference ("/bin -> usr/bin").
func throughSymlink(v string) (resolved, link string, ok bool) {
	if !filepath.IsAbs(v) {
		return "", "", false
	}
	trailing := strings.HasSuffix(v, "/") && v != "/"
	p := filepath.Clean(v)
	rest := ""
	// The deepest part of v that exists here: a starts_with prefix
	// often ends inside a name.
	for {
		if _, err := os.Lstat(p); err == nil {
			break
		}
		if p == "/" {
			return "", "", false
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = filepath.Dir(p)
	}
	r, err := filepath.EvalSymlinks(p)
	if err != nil || r == p {
		return "", "", false
	}
	// Name the first link on the way, for the message.
	link = p
	q := "/"
	for _, part := range strings.Split(strings.TrimPrefix(p, "/"), "/") {
		q = filepath.Join(q, part)
		if t, err := os.Readlink(q); err == nil {
			link = q + " → " + t
			break
		}
	}
	out := r
	if rest != "" {
		out = filepath.Join(r, rest)
	}
	if trailing {
		out += "/"
	}
	return out, link, true
}
