// Command hostile writes policy files built to hurt a linter — random
// top-level keys, one huge scalar, deep nesting, many duplicate keys, a
// flat list of tiny values, keys without values, aliases that fan out, an
// alias bomb, a policy whose every definition is wrong, a large valid
// policy — each as large as the linter's limits let through, and runs
// `gatehouse policy lint` on each under /usr/bin/time -v, reporting the
// wall time, the maximum resident set and the size of the output as a
// Markdown table (docs/benchmarks.md, "Policy files").
//
//	go build -o /tmp/gatehouse ./cmd/gatehouse
//	go run ./policy/policyfile/testdata/hostile -gatehouse /tmp/gatehouse -size 16MiB
//
// It lives under testdata so that go build ./... and go test ./... leave it
// alone; it is a measuring tool, not a test.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

type input struct {
	name string
	ext  string
	gen  func(w *bufio.Writer, b budget)
}

var inputs = []input{
	{"random-keys", ".yaml", randomKeys},
	{"huge-scalar", ".yaml", hugeScalar},
	{"huge-key", ".yaml", hugeKey},
	{"deep-flow", ".yaml", deepFlow},
	{"deep-block", ".yaml", deepBlock},
	{"duplicate-keys", ".yaml", duplicateKeys},
	{"null-keys", ".yaml", nullKeys},
	{"tiny-list", ".yaml", tinyList},
	{"alias-fanout", ".yaml", aliasFanout},
	{"alias-bomb", ".yaml", aliasBomb},
	{"bad-definitions", ".yaml", badDefinitions},
	{"valid", ".yaml", valid},
	{"random-keys", ".json", randomKeysJSON},
	{"deep-json", ".json", deepJSON},
}

func main() {
	gatehouse := flag.String("gatehouse", "gatehouse", "the gatehouse binary to run")
	sizeFlag := flag.String("size", "4MiB", "the largest size of each file (a number with an optional KiB, MiB suffix)")
	values := flag.Int("values", 4<<20/7, "the most values (words, keys, list items) in each file: the linter refuses more before parsing (4 MiB / 7)")
	dir := flag.String("dir", "", "where to write the files (default: a temporary directory, removed after)")
	only := flag.String("only", "", "run only the inputs whose name contains this")
	flag.Parse()
	size, err := parseSize(*sizeFlag)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hostile:", err)
		os.Exit(2)
	}
	keep := *dir != ""
	if !keep {
		d, err := os.MkdirTemp("", "hostile")
		if err != nil {
			fmt.Fprintln(os.Stderr, "hostile:", err)
			os.Exit(1)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	fmt.Printf("| input | file | exit | wall | max RSS | output | lines |\n|---|--:|--:|--:|--:|--:|--:|\n")
	for _, in := range inputs {
		name := in.name + in.ext
		if *only != "" && !strings.Contains(name, *only) {
			continue
		}
		path := filepath.Join(*dir, name)
		if err := write(path, budget{size: size, values: *values}, in.gen); err != nil {
			fmt.Fprintln(os.Stderr, "hostile:", err)
			os.Exit(1)
		}
		fi, _ := os.Stat(path)
		r, err := measure(*gatehouse, path)
		if err != nil {
			fmt.Fprintf(os.Stderr, "hostile: %s: %v\n", name, err)
			os.Exit(1)
		}
		fmt.Printf("| %s | %.1f MiB | %d | %.2f s | %.0f MB | %s | %d |\n", name, float64(fi.Size())/(1<<20), r.exit, r.wall.Seconds(), float64(r.maxRSSKiB)*1024/1e6, bytesString(r.outBytes), r.outLines)
		if !keep {
			os.Remove(path)
		}
	}
}

func parseSize(s string) (int, error) {
	mult := 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q: give bytes, or a number with KiB, MiB or GiB", s)
	}
	return n * mult, nil
}

func bytesString(n int) string {
	switch {
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%d B", n)
}

func write(path string, b budget, gen func(*bufio.Writer, budget)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	gen(w, b)
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

type result struct {
	exit      int
	wall      time.Duration
	maxRSSKiB int
	outBytes  int
	outLines  int
}

var (
	rssLine  = regexp.MustCompile(`Maximum resident set size \(kbytes\): (\d+)`)
	wallLine = regexp.MustCompile(`Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)`)
)

// measure runs gatehouse policy lint on path under /usr/bin/time -v.
func measure(gatehouse, path string) (result, error) {
	var out, errb bytes.Buffer
	cmd := exec.Command("/usr/bin/time", "-v", gatehouse, "policy", "lint", "--portable", path)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var r result
	if ee, ok := err.(*exec.ExitError); ok {
		r.exit = ee.ExitCode()
	} else if err != nil {
		return r, err
	}
	m := rssLine.FindStringSubmatch(errb.String())
	w := wallLine.FindStringSubmatch(errb.String())
	if m == nil || w == nil {
		return r, fmt.Errorf("no figures from /usr/bin/time:\n%s", tail(errb.String()))
	}
	r.maxRSSKiB, _ = strconv.Atoi(m[1])
	h, _ := strconv.Atoi(w[1])
	mi, _ := strconv.Atoi(w[2])
	s, _ := strconv.ParseFloat(w[3], 64)
	r.wall = time.Duration((float64(h*3600+mi*60) + s) * float64(time.Second))
	r.outBytes = out.Len()
	r.outLines = bytes.Count(out.Bytes(), []byte("\n"))
	return r, nil
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}

var rng = rand.New(rand.NewPCG(1, 2))

func randomWord(n int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[rng.IntN(len(letters))]
	}
	return string(b)
}

// budget bounds a generated file: its size in bytes and the values in it
// as the linter counts them (runs of bytes that are not white space or one
// of []{},:, and every [ and {). Inputs denser than the value limit are
// refused before parsing; these stay just under it, where parsing them
// costs the most.
type budget struct {
	size, values int
}

// fits reports whether one more unit of n bytes and v values fits, having
// written bytes and values so far; 256 bytes and 32 values are kept for
// the start and the end of the file.
func (b budget) fits(bytes, values, n, v int) bool {
	return bytes+n <= b.size-256 && values+v <= b.values-32
}

// randomKeys is the report's case: a mapping of random top-level keys.
func randomKeys(w *bufio.Writer, b budget) {
	for n, v := 0, 0; ; {
		line := fmt.Sprintf("%s: %d\n", randomWord(8+rng.IntN(8)), rng.IntN(1000))
		if !b.fits(n, v, len(line), 2) {
			return
		}
		w.WriteString(line)
		n, v = n+len(line), v+2
	}
}

func randomKeysJSON(w *bufio.Writer, b budget) {
	w.WriteString("{")
	for n, v := 0, 1; ; {
		line := fmt.Sprintf("%q: %d,\n", randomWord(8+rng.IntN(8)), rng.IntN(1000))
		if !b.fits(n, v, len(line), 2) {
			break
		}
		w.WriteString(line)
		n, v = n+len(line), v+2
	}
	w.WriteString("\"last\": 0}\n")
}

// hugeScalar is one value of the whole file's size where a number belongs.
func hugeScalar(w *bufio.Writer, b budget) {
	w.WriteString("id: huge\nrevision: ")
	for range b.size - 256 {
		w.WriteByte('a')
	}
	w.WriteString("\n")
}

// hugeKey is one unknown key of the whole file's size.
func hugeKey(w *bufio.Writer, b budget) {
	w.WriteString("id: huge\n")
	for range b.size - 256 {
		w.WriteByte('k')
	}
	w.WriteString(": 1\n")
}

// deepFlow nests flow lists as deep as the budget allows (the parser stops
// at a depth of 10,000).
func deepFlow(w *bufio.Writer, b budget) {
	w.WriteString("groups: ")
	d := min((b.size-256)/2, b.values-32)
	for range d {
		w.WriteByte('[')
	}
	for range d {
		w.WriteByte(']')
	}
	w.WriteString("\n")
}

// deepBlock nests block mappings, one more space of indentation per level.
func deepBlock(w *bufio.Writer, b budget) {
	for i, n := 0, 0; ; i++ {
		line := strings.Repeat(" ", i) + "a:\n"
		if !b.fits(n, i, len(line), 1) {
			return
		}
		w.WriteString(line)
		n += len(line)
	}
}

// duplicateKeys repeats one key.
func duplicateKeys(w *bufio.Writer, b budget) {
	w.WriteString("id: dup\nrevision: 1\n")
	for n, v := 0, 4; b.fits(n, v, 12, 2); n, v = n+12, v+2 {
		w.WriteString("revision: 2\n")
	}
}

// nullKeys is the most parsed nodes per value: a key with no value is two
// nodes (the key and a null).
func nullKeys(w *bufio.Writer, b budget) {
	for n, v := 0, 0; b.fits(n, v, 3, 1); n, v = n+3, v+1 {
		w.WriteString("a:\n")
	}
}

// tinyList is the most values per byte: a flow list of one-letter items.
func tinyList(w *bufio.Writer, b budget) {
	w.WriteString("id: list\nrevision: 1\ngroups: [")
	for n, v := 0, 6; b.fits(n, v, 2, 1); n, v = n+2, v+1 {
		w.WriteString("a,")
	}
	w.WriteString("a]\n")
}

// aliasFanout aliases one group of 100 definitions again and again, so the
// document expands to far more values than the file holds.
func aliasFanout(w *bufio.Writer, b budget) {
	w.WriteString("id: fan\nrevision: 1\ngroups:\n  - &g\n    name: g\n    definitions:\n")
	for i := range 100 {
		fmt.Fprintf(w, "      - {type: binary, path: /usr/bin/tool%03d}\n", i)
	}
	for n, v := 0, 1000; b.fits(n, v, 7, 2); n, v = n+7, v+2 {
		w.WriteString("  - *g\n")
	}
	w.WriteString("rules: [{group: g, action: deny}]\n")
}

// aliasBomb is the billion laughs: nine levels of ten aliases each.
func aliasBomb(w *bufio.Writer, b budget) {
	w.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(w, "a%d: &a%d [", i, i)
		for k := range 10 {
			if k > 0 {
				w.WriteString(", ")
			}
			fmt.Fprintf(w, "*a%d", i-1)
		}
		w.WriteString("]\n")
	}
	w.WriteString("id: bomb\nrevision: 1\ngroups: [{name: g, definitions: [{type: *a8}]}]\n")
}

// badDefinitions is a well-formed policy whose every definition has a
// meaning error (a regex that does not compile), for the compile phase.
func badDefinitions(w *bufio.Writer, b budget) {
	w.WriteString("id: bad\nrevision: 1\ngroups:\n  - name: g\n    definitions:\n")
	for n, v := 0, 10; ; {
		line := fmt.Sprintf("      - path: {regex: '(%s'}\n", randomWord(12))
		if !b.fits(n, v, len(line), 5) {
			break
		}
		w.WriteString(line)
		n, v = n+len(line), v+5
	}
	w.WriteString("rules: [{group: g, action: deny}]\n")
}

// valid is a correct policy as large as the budget allows.
func valid(w *bufio.Writer, b budget) {
	w.WriteString("id: big\nrevision: 1\ndefault: audit\ngroups:\n")
	var rules strings.Builder
	for g, n, v := 0, 0, 10; ; g++ {
		group := fmt.Sprintf("  - name: group-%06d\n    definitions:\n      - type: binary\n        path: /usr/local/bin/tool%06d\n      - sha256: %016x%016x%016x%016x\n      - {type: bundle, bundle_id: com.vendor%06d.app, version: {min: '2.0'}}\n",
			g, g, rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64(), g)
		rule := fmt.Sprintf("  - {group: group-%06d, action: deny_message, message: {title: \"{name} is blocked\"}}\n", g)
		if !b.fits(n+rules.Len(), v, len(group)+len(rule), 35) {
			break
		}
		w.WriteString(group)
		rules.WriteString(rule)
		n, v = n+len(group), v+35
	}
	w.WriteString("rules:\n")
	w.WriteString(rules.String())
}

// deepJSON nests JSON arrays as deep as the budget allows.
func deepJSON(w *bufio.Writer, b budget) {
	w.WriteString(`{"groups": `)
	d := min((b.size-256)/2, b.values-32)
	for range d {
		w.WriteByte('[')
	}
	for range d {
		w.WriteByte(']')
	}
	w.WriteString("}\n")
}
