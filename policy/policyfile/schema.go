package policyfile

import (
	"encoding/json"
	"reflect"

	"github.com/gatehouse/gatehouse/policy"
)

// SchemaID is the $id of the published schema.
const SchemaID = "https://gatehouse.dev/schema/policy.schema.json"

// Schema returns the JSON Schema (draft 2020-12) of the policy file format.
// It is generated from the same struct tags the decoder reads, so the two
// cannot drift apart; docs/policy.schema.json is a copy kept current by a
// test.
func Schema() []byte {
	g := &schemaGen{defs: map[string]any{}}
	root := g.object(reflect.TypeFor[policy.Document]())
	root["$schema"] = "https://json-schema.org/draft/2020-12/schema"
	root["$id"] = SchemaID
	root["title"] = "Gatehouse policy"
	root["$defs"] = g.defs
	out, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		panic(err) // only plain maps and strings: cannot fail
	}
	return append(out, '\n')
}

type schemaGen struct {
	defs map[string]any
}

var enums = map[string]func() []string{
	"action":  policy.ActionNames,
	"type":    policy.TypeNames,
	"require": func() []string { return []string{"none", "justification", "approval", "approval_offline"} },
}

func (g *schemaGen) ref(t reflect.Type) map[string]any {
	name := t.Name()
	if _, ok := g.defs[name]; !ok {
		g.defs[name] = nil // reserve: stops recursion
		g.defs[name] = g.object(t)
	}
	return map[string]any{"$ref": "#/$defs/" + name}
}

func (g *schemaGen) object(t reflect.Type) map[string]any {
	props := map[string]any{}
	var required []string
	var scalar map[string]any
	var ops []any
	for _, f := range fields(t) {
		sf := t.Field(f.index)
		s := g.schemaOf(sf.Type, sf.Tag.Get("enum"))
		if doc := sf.Tag.Get("doc"); doc != "" {
			s["description"] = doc
		}
		props[f.name] = s
		if sf.Tag.Get("required") == "true" {
			required = append(required, f.name)
		}
		if f.scalar {
			scalar = g.schemaOf(sf.Type, sf.Tag.Get("enum"))
		}
		if t == reflect.TypeFor[policy.StringMatch]() && f.name != "not" {
			ops = append(ops, map[string]any{"required": []string{f.name}})
		}
	}
	obj := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		obj["required"] = required
	}
	if len(ops) > 0 {
		obj["oneOf"] = ops
	}
	if scalar != nil {
		return map[string]any{"anyOf": []any{scalar, obj}}
	}
	return obj
}

func (g *schemaGen) schemaOf(t reflect.Type, enum string) map[string]any {
	switch t.Kind() {
	case reflect.Pointer:
		return g.schemaOf(t.Elem(), enum)
	case reflect.Struct:
		return g.ref(t)
	case reflect.Slice:
		items := g.schemaOf(t.Elem(), enum)
		arr := map[string]any{"type": "array", "items": items}
		if t.Elem().Kind() == reflect.String {
			return map[string]any{"anyOf": []any{g.schemaOf(t.Elem(), enum), arr}}
		}
		return arr
	case reflect.String:
		s := map[string]any{"type": "string"}
		if f := enums[enum]; f != nil {
			s["enum"] = f()
		}
		return s
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int64:
		return map[string]any{"type": "integer"}
	}
	return map[string]any{}
}
