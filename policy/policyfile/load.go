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
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"go.yaml.in/yaml/v4"

	"github.com/gatehouse/gatehouse/policy"
)

// Limits bound the work of reading one policy file. The linter is given
// anything, and the daemon loads its policy with the same code, so nothing
// a file holds may cost much more than a large real policy: a file over
// MaxSize is refused before it is parsed; one with more values than a
// policy of that size could hold is refused before it is parsed too (the
// parsed tree costs about 200 bytes a value, however small the value);
// anchors and aliases may expand to no more than twice that; at most
// MaxDiagnostics are returned, then one that counts the rest; and once the
// structure is hopeless (ten times that many errors) checking stops.
// Messages about the structure quote a few dozen bytes of a value at most,
// and no message is longer than 1,000 bytes.
//
// The zero value means the defaults.
type Limits struct {
	// MaxSize is the largest file read, in bytes (DefaultMaxSize if 0).
	MaxSize int64
	// MaxDiagnostics is how many diagnostics are returned
	// (DefaultMaxDiagnostics if 0, all of them if negative).
	MaxDiagnostics int
	// Raise says how the reader of a message can raise the size limit,
	// for the messages that refuse a file ("with --max-size"); "" when
	// there is no way.
	Raise string
}

const (
	// DefaultMaxSize is the default size limit. A 10,000-definition
	// policy is about 1 MiB; a 4 MiB one lints in about half a second in
	// 150 MB (docs/benchmarks.md).
	DefaultMaxSize = 4 << 20
	// DefaultMaxDiagnostics is the default number of diagnostics shown.
	DefaultMaxDiagnostics = 100
	// bytesPerValue is the fewest bytes a value takes, on average, in a
	// policy: real ones take 8 to 10 (paths, hashes, names, comments).
	// A file denser than that within the size limit is no policy, and
	// would cost far more memory to parse than one.
	bytesPerValue = 7
	// maxMessage and maxWhere bound what a diagnostic may say; longer
	// ones quoted a value whole (a 50 MB scalar was echoed back).
	maxMessage = 1000
	maxWhere   = 200
)

func (l Limits) maxSize() int64 {
	if l.MaxSize <= 0 {
		return DefaultMaxSize
	}
	return l.MaxSize
}

func (l Limits) maxDiagnostics() int {
	if l.MaxDiagnostics == 0 {
		return DefaultMaxDiagnostics
	}
	return l.MaxDiagnostics
}

func (l Limits) raise() string {
	if l.Raise == "" {
		return ""
	}
	return ", or raise the size limit " + l.Raise
}

// maxValues is how many values a file may hold.
func (l Limits) maxValues() int { return int(l.maxSize() / bytesPerValue) }

// Load reads, parses and compiles the policy file at path with the default
// limits.
func Load(path string) (*policy.Engine, *policy.Document, policy.Diagnostics) {
	return Limits{}.Load(path)
}

// Compile parses data as the policy file named name and compiles it, with
// the default limits.
func Compile(name string, data []byte) (*policy.Engine, *policy.Document, policy.Diagnostics) {
	return Limits{}.Compile(name, data)
}

// Parse turns the text of a policy file into a Document, with the default
// limits.
func Parse(name string, data []byte) (*policy.Document, policy.Diagnostics) {
	return Limits{}.Parse(name, data)
}

// Load reads, parses and compiles the policy file at path. The diagnostics
// include warnings even when the engine is returned; the engine is nil when
// any diagnostic is an error. The document is nil when the file could not be
// read or its structure is broken (syntax, unknown keys, wrong kinds of
// values): the meaning checks of policy.Compile then have not run yet.
func (l Limits) Load(path string) (*policy.Engine, *policy.Document, policy.Diagnostics) {
	data, err := l.ReadFile(path)
	if err != nil {
		return nil, nil, policy.Diagnostics{{Pos: policy.Pos{File: path}, Severity: policy.SeverityError, Message: err.Error()}}
	}
	return l.Compile(path, data)
}

// Compile parses data as the policy file named name and compiles it.
func (l Limits) Compile(name string, data []byte) (*policy.Engine, *policy.Document, policy.Diagnostics) {
	doc, diags := l.Parse(name, data)
	if diags.HasErrors() {
		return nil, nil, diags
	}
	if len(data) >= 1<<20 {
		// The parsed tree, about 20 times the file, is garbage now;
		// collected here, it does not set the heap's goal for the
		// compile, which would let the heap grow to twice the tree
		// (a 4 MiB file: 280 MB instead of 150).
		runtime.GC()
	}
	eng, more := policy.Compile(doc)
	diags = append(diags, more...)
	diags.Sort()
	return eng, doc, l.finish(diags)
}

// finish cuts diags to the limit and shortens what is too long to read.
func (l Limits) finish(diags policy.Diagnostics) policy.Diagnostics {
	diags = diags.Limit(l.maxDiagnostics())
	for i := range diags {
		diags[i].Message = shorten(diags[i].Message, maxMessage)
		diags[i].Where = shorten(diags[i].Where, maxWhere)
	}
	return diags
}

// ReadFile reads the policy file at path, refusing one over the size limit
// before reading it.
func (l Limits) ReadFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("policy file %s does not exist; give the path of a .yaml or .json policy", path)
		}
		return nil, fmt.Errorf("open policy file: %w", err)
	}
	defer f.Close()
	max := l.maxSize()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() > max {
		return nil, l.tooLarge(path, fi.Size())
	}
	data, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read policy file %s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, l.tooLarge(path, -1)
	}
	return data, nil
}

func (l Limits) tooLarge(name string, size int64) error {
	is := "is larger than"
	if size >= 0 {
		is = fmt.Sprintf("is %s bytes, over", thousands(int(size)))
	}
	return fmt.Errorf("policy file %s %s the size limit of %s (%s bytes; a policy of 10,000 definitions is about 1 MiB); split it or remove unused groups%s",
		name, is, sizeString(l.maxSize()), thousands(int(l.maxSize())), l.raise())
}

// sizeString says n bytes the way people say file sizes.
func sizeString(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// Parse turns the text of a policy file into a Document. It does not
// compile it: call policy.Compile (or use Compile) for the semantic checks.
// A name ending in .json is read as strict JSON, anything else as YAML.
func (l Limits) Parse(name string, data []byte) (*policy.Document, policy.Diagnostics) {
	d := &decoder{file: name, maxDiags: l.maxDiagnostics(), maxNodes: 2 * l.maxValues()}
	if d.maxDiags >= 0 {
		d.hopeless = max(10*d.maxDiags, 1000)
	}
	doc := &policy.Document{Pos: policy.Pos{File: name, Line: 1, Col: 1}}
	if int64(len(data)) > l.maxSize() {
		d.errorf(nil, "", "%v", l.tooLarge(name, int64(len(data))))
		return doc, d.diags
	}
	if n := countValues(data); n > l.maxValues() {
		d.errorf(nil, "", "the file holds %s values (words, keys and list items), more than a policy within the %s size limit holds (%s: one for every %d bytes); if this is a policy, split it%s",
			thousands(n), sizeString(l.maxSize()), thousands(l.maxValues()), bytesPerValue, l.raise())
		return doc, d.diags
	}
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
	if d.omitted > 0 {
		more := ""
		if d.hopelessly {
			more = fmt.Sprintf("; checking stopped after %s errors: fix these first, the file may not be a policy at all", thousands(d.hopeless))
		}
		d.diags = append(d.diags, policy.OmittedSummary(name, d.omitted, 0, more))
	}
	for i := range d.diags {
		d.diags[i].Message = shorten(d.diags[i].Message, maxMessage)
		d.diags[i].Where = shorten(d.diags[i].Where, maxWhere)
	}
	return doc, d.diags
}

// valueByte marks the bytes that can be part of a word: not white space,
// not a flow indicator.
var valueByte = func() (t [256]bool) {
	for i := range t {
		t[i] = true
	}
	for _, c := range " \t\r\n[]{},:" {
		t[c] = false
	}
	return t
}()

// countValues counts the values in data from above, without parsing it:
// every run of bytes that are neither white space nor one of []{},: is
// one, and so is every [ and {. A YAML node is one of those or the null
// or the collection begun by one (key:, - ), so there are at most twice as
// many nodes.
func countValues(data []byte) int {
	n, in := 0, false
	for _, c := range data {
		v := valueByte[c]
		if v && !in || c == '[' || c == '{' {
			n++
		}
		in = v
	}
	return n
}

// thousands formats n with commas: 2,800,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// shorten cuts s to about max bytes, keeping its start and its end (a
// message ends with what to do), and says how much it left out.
func shorten(s string, max int) string {
	if len(s) <= max {
		return s
	}
	keep := max/2 - 20
	head, tail := s[:keep], s[len(s)-keep:]
	for len(head) > 0 && !utf8.RuneStart(s[len(head)]) {
		head = head[:len(head)-1]
	}
	for len(tail) > 0 && !utf8.RuneStart(tail[0]) {
		tail = tail[1:]
	}
	return fmt.Sprintf("%s…[%s bytes left out]…%s", head, thousands(len(s)-len(head)-len(tail)), tail)
}

// keyName is a key as the Where of a diagnostic names it: its start, if
// it is long.
func keyName(k string) string {
	if len(k) <= 48 {
		return k
	}
	cut := 40
	for cut > 0 && !utf8.RuneStart(k[cut]) {
		cut--
	}
	return k[:cut] + "…"
}

// quote quotes s for a message, or as much of its start as is readable.
func quote(s string) string {
	const max = 48
	if len(s) <= max {
		return strconv.Quote(s)
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%s… (%s bytes)", strconv.Quote(s[:cut]), thousands(len(s)))
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
	// maxNodes bounds the values the document may expand to, so
	// anchors and aliases cannot blow up a small file ("billion laughs").
	maxNodes int
	// maxDiags diagnostics are kept (all if negative); omitted counts
	// the errors after them, up to hopeless, when checking stops.
	maxDiags, hopeless int
	omitted            int
	// stopped: checking stopped, hopelessly (at the hopeless count)
	// or because the document expands too far.
	stopped, hopelessly bool
}

func (d *decoder) pos(n *yaml.Node) policy.Pos {
	if n == nil {
		return policy.Pos{File: d.file}
	}
	return policy.Pos{File: d.file, Line: n.Line, Col: n.Column}
}

func (d *decoder) errorf(n *yaml.Node, where, format string, args ...any) {
	if d.maxDiags >= 0 && len(d.diags) >= d.maxDiags {
		// Counted, not formatted: a file of random keys has millions.
		d.omitted++
		if len(d.diags)+d.omitted >= d.hopeless {
			d.stopped, d.hopelessly = true, true
		}
		return
	}
	d.diags = append(d.diags, policy.Diagnostic{Pos: d.pos(n), Severity: policy.SeverityError, Where: where, Message: fmt.Sprintf(format, args...)})
}

// stop reports why checking stops, whatever the limit, and stops.
func (d *decoder) stop(n *yaml.Node, where, format string, args ...any) {
	d.diags = append(d.diags, policy.Diagnostic{Pos: d.pos(n), Severity: policy.SeverityError, Where: where, Message: fmt.Sprintf(format, args...)})
	d.stopped = true
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
		return quote(n.Value)
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
	if d.stopped {
		return
	}
	d.nodes++
	if d.nodes > d.maxNodes {
		d.stop(n, where, "the document expands to more than %s values (anchors and aliases?); simplify it", thousands(d.maxNodes))
		return
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			d.errorf(n, where, "alias *%s refers to no anchor", shorten(n.Value, 64))
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
		// Grown as the items are decoded, not made at the length of
		// the list: a list of a million scalars where definitions
		// belong stops at the hopeless count, after a few thousand.
		s := reflect.MakeSlice(v.Type(), 0, min(len(n.Content), 1024))
		zero := reflect.Zero(v.Type().Elem())
		for i, c := range n.Content {
			if d.stopped {
				break
			}
			s = reflect.Append(s, zero)
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
			d.errorf(n, where, "expected true or false, got %s", quote(n.Value))
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
			d.errorf(n, where, "number %s is out of range", shorten(n.Value, 64))
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
	for i := 0; i+1 < len(n.Content) && !d.stopped; i += 2 {
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
			d.errorf(k, join(where, keyName(k.Value)), "duplicate key %s; the first is on line %d; keep one", quote(k.Value), prev.Line)
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
			d.errorf(k, join(where, keyName(k.Value)), "unknown key %s%s; valid keys here: %s", quote(k.Value), hint, keyList(fs))
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
