package codesign

import (
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"

	"howett.net/plist"
)

// A bundle's resource seal, Contents/_CodeSignature/CodeResources: a
// property list naming every file of the bundle outside the main
// executable with its hashes, and the rules that chose them. The main
// executable's signature holds the seal's hash (special slot -3), so a
// file added to, changed in or taken out of the bundle breaks the
// signature. The rules are the ones codesign writes by default.

// rule is one entry of rules or rules2: files whose path (relative to
// Contents) matches pattern are hashed, unless omit; optional ones may be
// missing; nested ones are code with a signature of their own. The
// matching rule with the highest weight wins.
type rule struct {
	pattern  string
	re       *regexp.Regexp
	weight   float64
	omit     bool
	optional bool
	nested   bool
}

func (r rule) plistValue() any {
	if r.weight == 1 && !r.omit && !r.optional && !r.nested {
		return true
	}
	d := map[string]any{}
	if r.weight != 1 {
		d["weight"] = r.weight
	}
	if r.omit {
		d["omit"] = true
	}
	if r.optional {
		d["optional"] = true
	}
	if r.nested {
		d["nested"] = true
	}
	return d
}

func mustRules(rs []rule) []rule {
	for i := range rs {
		rs[i].re = regexp.MustCompile(rs[i].pattern)
		if rs[i].weight == 0 {
			rs[i].weight = 1
		}
	}
	return rs
}

// legacyRules are codesign's "rules" (read by macOS before 10.9).
var legacyRules = mustRules([]rule{
	{pattern: `^Resources/`},
	{pattern: `^Resources/.*\.lproj/`, optional: true, weight: 1000},
	{pattern: `^Resources/.*\.lproj/locversion.plist$`, omit: true, weight: 1100},
	{pattern: `^Resources/Base\.lproj/`, weight: 1010},
	{pattern: `^version.plist$`},
})

// rules2 are codesign's "rules2", the ones macOS checks.
var rules2 = mustRules([]rule{
	{pattern: `.*\.dSYM($|/)`, weight: 11},
	{pattern: `^(.*/)?\.DS_Store$`, omit: true, weight: 2000},
	{pattern: `^(Frameworks|SharedFrameworks|PlugIns|Plug-ins|XPCServices|Helpers|MacOS|Library/(Automator|Spotlight|LoginItems))/`, nested: true, weight: 10},
	{pattern: `^.*`},
	{pattern: `^Info\.plist$`, omit: true, weight: 20},
	{pattern: `^PkgInfo$`, omit: true, weight: 20},
	{pattern: `^Resources/`, weight: 20},
	{pattern: `^Resources/.*\.lproj/`, optional: true, weight: 1000},
	{pattern: `^Resources/.*\.lproj/locversion.plist$`, omit: true, weight: 1100},
	{pattern: `^Resources/Base\.lproj/`, weight: 1010},
	{pattern: `^[^/]+$`, nested: true, weight: 10},
	{pattern: `^embedded\.provisionprofile$`, weight: 20},
	{pattern: `^version\.plist$`, weight: 20},
})

// match is the winning rule for path, or false if none matches.
func match(rs []rule, path string) (rule, bool) {
	var best rule
	found := false
	for _, r := range rs {
		if r.re.MatchString(path) && (!found || r.weight > best.weight) {
			best, found = r, true
		}
	}
	return best, found
}

// maxSealedFile bounds one file read into the seal: a bundle's
// resources are small, and a huge one is a mistake worth stopping at.
const maxSealedFile = 1 << 30

// CodeResources is the resource seal of the bundle whose Contents
// directory is contents, whose main executable (relative to Contents, e.g.
// MacOS/gatehoused) is left out, as is _CodeSignature. Symbolic links
// are sealed by their target. A file where the rules expect nested code
// (a helper in MacOS/, a framework) is an error: Gatehouse's bundles have
// none, and sealing it as a plain file would make a bundle macOS rejects.
func CodeResources(contents, mainExecutable string) ([]byte, error) {
	files := map[string]any{}
	files2 := map[string]any{}
	err := filepath.WalkDir(contents, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(contents, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "_CodeSignature" {
				return fs.SkipDir
			}
			return nil
		}
		if rel == mainExecutable {
			return nil
		}
		var data []byte
		var link string
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		case d.Type().IsRegular():
			info, err := d.Info()
			if err != nil {
				return err
			}
			if info.Size() > maxSealedFile {
				return fmt.Errorf("%s: %d bytes, more than a bundle resource may be", rel, info.Size())
			}
			if data, err = os.ReadFile(p); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: not a file, a directory or a symbolic link; a bundle holds nothing else", rel)
		}
		if r, ok := match(rules2, rel); ok && !r.omit {
			if r.nested && link == "" {
				return fmt.Errorf("%s: nested code (a helper, framework or plug-in) in the bundle; Gatehouse's signer seals only bundles without it", rel)
			}
			files2[rel] = entry(data, link, r.optional, true)
		}
		if r, ok := match(legacyRules, rel); ok && !r.omit && link == "" {
			files[rel] = entry(data, "", r.optional, false)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sealing %s: %w", contents, err)
	}
	seal := map[string]any{
		"files":  files,
		"files2": files2,
		"rules":  rulesPlist(legacyRules),
		"rules2": rulesPlist(rules2),
	}
	out, err := plist.MarshalIndent(seal, plist.XMLFormat, "\t")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// entry is one file's line of the seal: in files the SHA-1 alone (or a
// dictionary if optional), in files2 both hashes (or the link target).
func entry(data []byte, link string, optional, v2 bool) any {
	if link != "" {
		return map[string]any{"symlink": link}
	}
	h1 := sha1.Sum(data)
	if !v2 {
		if !optional {
			return h1[:]
		}
		return map[string]any{"hash": h1[:], "optional": true}
	}
	h2 := sha256.Sum256(data)
	d := map[string]any{"hash": h1[:], "hash2": h2[:]}
	if optional {
		d["optional"] = true
	}
	return d
}

func rulesPlist(rs []rule) map[string]any {
	m := map[string]any{}
	for _, r := range rs {
		m[r.pattern] = r.plistValue()
	}
	return m
}

// sealedFiles2 reads the files2 of a seal: path to SHA-256 (or link
// target prefixed "->"), for comparing a bundle with its seal.
func sealedFiles2(seal []byte) (map[string]string, error) {
	var doc struct {
		Files2 map[string]struct {
			Hash2   []byte `plist:"hash2"`
			Symlink string `plist:"symlink"`
		} `plist:"files2"`
	}
	if _, err := plist.Unmarshal(seal, &doc); err != nil {
		return nil, fmt.Errorf("CodeResources: %w", err)
	}
	if doc.Files2 == nil {
		return nil, errors.New("CodeResources: no files2")
	}
	out := map[string]string{}
	for k, v := range doc.Files2 {
		if v.Symlink != "" {
			out[k] = "->" + v.Symlink
		} else {
			out[k] = fmt.Sprintf("%x", v.Hash2)
		}
	}
	return out, nil
}

// diffSeals names the files where two files2 maps differ, sorted.
func diffSeals(want, got map[string]string) []string {
	var d []string
	for k, v := range want {
		if g, ok := got[k]; !ok {
			d = append(d, k+": sealed, not in the bundle")
		} else if g != v {
			d = append(d, k+": changed since it was sealed")
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			d = append(d, k+": in the bundle, not sealed")
		}
	}
	sort.Strings(d)
	return d
}
