// Package policyfile reads policy files — YAML, or strict JSON for a file
// named .json — into policy.Document values with source positions, and
// publishes the file format as a JSON Schema.
//
// Every problem is reported with file, line and column, and all of them at
// once: unknown keys (with a did-you-mean), values of the wrong kind,
// duplicate keys, and then everything policy.Compile finds.
package policyfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v4"

	"github.com/gatehouse/gatehouse/policy"
)

// MaxSize is the largest policy file Load reads. A 10,000-definition policy
// is about 1 MiB.
const MaxSize = 64 << 20

// maxNodes bounds how many YAML nodes a document may expand to, so anchors
// and aliases cannot blow up a small file ("billion laughs").
const maxNodes = 5_000_000

// Load reads, parses and compiles the policy file at path. The diagnostics
// include warnings even when the engine is returned; the engine is nil when
// any diagnostic is an error. The document is nil when the file could not be
// read or its structure is broken (syntax, unknown keys, wrong kinds of
// values): the meaning checks of policy.Compile then have not run yet.
func Load(path string) (*policy.Engine, *policy.Document, policy.Diagnostics) {
	data, err := readFile(path)
	if err != nil {
		return nil, nil, policy.Diagnostics{{Pos: policy.Pos{File: path}, Severity: policy.SeverityError, Message: err.Error()}}
	}
	return Compile(path, data)
}

// Compile parses data as the policy file named name and compiles it.
func Compile(name string, data []byte) (*policy.Engine, *policy.Document, policy.Diagnostics) {
	doc, diags := Parse(name, data)
	if diags.HasErrors() {
		return nil, nil, diags
	}
	eng, more := policy.Compile(doc)
	diags = append(diags, more...)
	diags.Sort()
	return eng, doc, diags
}

func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("policy file %s does not exist; give the path of a .yaml or .json policy", path)
		}
		return nil, fmt.Errorf("open policy file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read policy file %s: %w", path, err)
	}
	if len(data) > MaxSize {
		return nil, fmt.Errorf("policy file %s is larger than %d MiB; split it or remove unused groups", path, MaxSize>>20)
	}
	return data, nil
}

// Parse turns the text of a policy file into a Document. It does not
// compile it: call policy.Compile (or use Compile) for the semantic checks.
// A name ending in .json is read as strict JSON, anything else as YAML.
func Parse(name string, data []byte) (*policy.Document, policy.Diagnostics) {
	d := &decoder{file: name}
	doc := &policy.Document{Pos: policy.Pos{File: name, Line: 1, Col: 1}}
	var n *yaml.Node
	if isJSON(name) {
		n = d.parseJSON(data)
	} else {
		n = d.parseYAML(data)
	}
	if n != nil {
		d.decode(n, reflect.ValueOf(doc).Elem(), "")
	}
	d.diags.Sort()
	return doc, d.diags
}

func isJSON(name string) bool { return strings.EqualFold(filepath.Ext(name), ".json") }

// parseYAML parses data as one YAML document. On a syntax error it reports
// it and returns nil.
func (d *decoder) parseYAML(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			d.errorf(nil, "", "the file is empty; a policy needs at least id, revision, groups and rules")
			return nil
		}
		d.syntax(data, err)
		return nil
	}
	var second yaml.Node
	if err := dec.Decode(&second); err == nil {
		d.errorf(&second, "", "the file holds more than one YAML document (---); put one policy in each file")
	} else if !errors.Is(err, io.EOF) {
		d.syntax(data, err)
	}
	n := &root
	if n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	return n
}

type decoder struct {
	file  string
	diags policy.Diagnostics
	nodes int
}

func (d *decoder) pos(n *yaml.Node) policy.Pos {
	if n == nil {
		return policy.Pos{File: d.file}
	}
	return policy.Pos{File: d.file, Line: n.Line, Col: n.Column}
}

func (d *decoder) errorf(n *yaml.Node, where, format string, args ...any) {
	d.diags = append(d.diags, policy.Diagnostic{Pos: d.pos(n), Severity: policy.SeverityError, Where: where, Message: fmt.Sprintf(format, args...)})
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing (null)"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func join(where, key string) string {
	if where == "" {
		return key
	}
	return where + "." + key
}

var posType = reflect.TypeFor[policy.Pos]()

// fieldInfo describes one yaml-tagged struct field.
type fieldInfo struct {
	name   string
	index  int
	scalar bool // a plain scalar in the file fills this field
}

// fieldCache holds fields per struct type: a large policy decodes tens of
// thousands of structs of a handful of types.
var fieldCache sync.Map // reflect.Type → []fieldInfo

func fields(t reflect.Type) []fieldInfo {
	if v, ok := fieldCache.Load(t); ok {
		return v.([]fieldInfo)
	}
	out := computeFields(t)
	fieldCache.Store(t, out)
	return out
}

func computeFields(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := range t.NumField() {
		tag := t.Field(i).Tag.Get("yaml")
		if tag == "" || tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		out = append(out, fieldInfo{name: name, index: i, scalar: opts == "scalar"})
	}
	return out
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, where string) {
	d.nodes++
	if d.nodes > maxNodes {
		if d.nodes == maxNodes+1 {
			d.errorf(n, where, "the document expands to more than %d values (anchors and aliases?); simplify it", maxNodes)
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.errorf(n, where, "alias *%s refers to no anchor", n.Value)
			return
		}
		n = n.Alias
	}
	switch v.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			return
		}
		p := reflect.New(v.Type().Elem())
		d.decode(n, p.Elem(), where)
		v.Set(p)
	case reflect.Struct:
		d.decodeStruct(n, v, where)
	case reflect.Slice:
		if isNull(n) {
			return
		}
		if n.Kind == yaml.ScalarNode && v.Type().Elem().Kind() == reflect.String {
			v.Set(reflect.Append(v, reflect.ValueOf(n.Value)))
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.errorf(n, where, "expected a list, got %s", kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			d.decode(c, s.Index(i), fmt.Sprintf("%s[%d]", where, i))
		}
		v.Set(s)
	case reflect.String:
		if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
			d.errorf(n, where, "expected text, got %s", kindName(n))
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			d.errorf(n, where, "expected true or false, got %s", kindName(n))
			return
		}
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err != nil {
			d.errorf(n, where, "expected true or false, got %q", n.Value)
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
			d.errorf(n, where, "expected a whole number, got %s", kindName(n))
			return
		}
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if err != nil || v.OverflowInt(i) {
			d.errorf(n, where, "number %s is out of range", n.Value)
			return
		}
		v.SetInt(i)
	default:
		d.errorf(n, where, "internal: cannot decode into %s", v.Type())
	}
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, where string) {
	t := v.Type()
	fs := fields(t)
	if p := v.FieldByName("Pos"); p.IsValid() && p.Type() == posType {
		p.Set(reflect.ValueOf(d.pos(n)))
	}
	if n.Kind == yaml.ScalarNode && !isNull(n) {
		for _, f := range fs {
			if f.scalar {
				d.decode(n, v.Field(f.index), join(where, f.name))
				return
			}
		}
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, where, "expected a mapping with keys %s; got %s", keyList(fs), kindName(n))
		return
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, where, "a key must be text, got %s", kindName(k))
			continue
		}
		if k.Value == "<<" {
			d.errorf(k, where, "merge keys (<<) are not supported; repeat the keys or use an alias for the whole value")
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			d.errorf(k, join(where, k.Value), "duplicate key %q; the first is on line %d; keep one", k.Value, prev.Line)
			continue
		}
		seen[k.Value] = k
		var fi *fieldInfo
		for j := range fs {
			if fs[j].name == k.Value {
				fi = &fs[j]
				break
			}
		}
		if fi == nil {
			names := make([]string, len(fs))
			for j, f := range fs {
				names[j] = f.name
			}
			hint := ""
			if s := policy.Suggest(k.Value, names); s != "" {
				hint = fmt.Sprintf("; did you mean %q?", s)
			}
			d.errorf(k, join(where, k.Value), "unknown key %q%s; valid keys here: %s", k.Value, hint, keyList(fs))
			continue
		}
		d.decode(val, v.Field(fi.index), join(where, k.Value))
	}
}

func keyList(fs []fieldInfo) string {
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.name
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
