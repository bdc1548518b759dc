package policyfile

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// genPolicyText writes a block-style policy of n definitions in groups of
// ten, one rule per group: exact paths, hashes, bundle ids with version
// ranges, regexes, flow-style definitions with arguments, negated
// publishers. About 110 bytes a definition: 10,000 make 1.1 MB.
func genPolicyText(n int) string {
	r := rand.New(rand.NewPCG(1, 2))
	var b strings.Builder
	b.WriteString("id: bench\nrevision: 1\ndefault: audit\ngroups:\n")
	for g := 0; g*10 < n; g++ {
		fmt.Fprintf(&b, "  - name: group-%05d\n    description: Generated group %d.\n    definitions:\n", g, g)
		for i := range 10 {
			id := g*10 + i
			switch r.IntN(6) {
			case 0:
				fmt.Fprintf(&b, "      - type: binary\n        path: /usr/local/bin/tool%06d\n        protected: true\n", id)
			case 1:
				fmt.Fprintf(&b, "      - sha256: %016x%016x%016x%016x\n", r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64())
			case 2:
				fmt.Fprintf(&b, "      - type: bundle\n        bundle_id: com.vendor%06d.app\n        version: {min: '2.0', max: '3.9.9'}\n", id)
			case 3:
				fmt.Fprintf(&b, "      - path: {regex: '^/opt/vendor%06d/bin/[a-z]+$'}\n        sha1: %016x%016x%08x\n", id, r.Uint64(), r.Uint64(), r.Uint32())
			case 4:
				fmt.Fprintf(&b, "      - {type: [binary, script], path: /usr/local/bin/tool%06d, args: {contains: --unsafe}, sha256: %016x%016x%016x%016x}\n", id, r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64())
			default:
				fmt.Fprintf(&b, "      - type: binary\n        path: {starts_with: \"/opt/vendor%06d/\"}\n        team_id: EQHXZ8M8AV\n        publisher: {contains: Vendor, not: true}\n", id)
			}
		}
	}
	b.WriteString("rules:\n")
	for g := 0; g*10 < n; g++ {
		fmt.Fprintf(&b, "  - name: rule %d\n    group: group-%05d\n    action: deny_message\n    message:\n      title: \"{name} is blocked\"\n      url: \"https://help.example.com/?app={path}\"\n", g, g)
	}
	return b.String()
}

func TestGenPolicyTextCompiles(t *testing.T) {
	eng, _, diags := Compile("gen.yaml", []byte(genPolicyText(100)))
	if eng == nil || diags.HasErrors() {
		t.Fatalf("generated policy does not compile:\n%v", diags)
	}
}

// benchFiles are a 10,000-definition policy as YAML and as JSON.
func benchFiles(b *testing.B) []struct {
	name string
	data []byte
} {
	y := []byte(genPolicyText(10_000))
	var v any
	if err := yaml.Unmarshal(y, &v); err != nil {
		b.Fatal(err)
	}
	j, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		b.Fatal(err)
	}
	return []struct {
		name string
		data []byte
	}{{"bench.yaml", y}, {"bench.json", j}}
}

// BenchmarkParse parses a 10,000-definition policy file into a Document
// (no compile); BenchmarkCompile also compiles it, as Load does.
// docs/benchmarks.md records the figures.
func BenchmarkParse(b *testing.B) {
	for _, f := range benchFiles(b) {
		b.Run(strings.TrimPrefix(filepath.Ext(f.name), "."), func(b *testing.B) {
			b.SetBytes(int64(len(f.data)))
			b.ReportAllocs()
			for b.Loop() {
				if _, diags := Parse(f.name, f.data); diags.HasErrors() {
					b.Fatal(diags.Err())
				}
			}
		})
	}
}

func BenchmarkCompile(b *testing.B) {
	for _, f := range benchFiles(b) {
		b.Run(strings.TrimPrefix(filepath.Ext(f.name), "."), func(b *testing.B) {
			b.SetBytes(int64(len(f.data)))
			b.ReportAllocs()
			for b.Loop() {
				if eng, _, diags := Compile(f.name, f.data); eng == nil {
					b.Fatal(diags.Err())
				}
			}
		})
	}
}
