package authdb

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"howett.net/plist"
)

var update = flag.Bool("update", false, "rewrite testdata/*.installed.plist")

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var d map[string]any
	if _, err := plist.Unmarshal(b, &d); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return d
}

func names(ws []Write) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Name)
	}
	return out
}

func TestInstallWrapsRealRightsAroundTheirOriginals(t *testing.T) {
	for _, tc := range []struct {
		right string
		rule  []any
		keep  map[string]any // what the wrapper carries from the original
	}{
		{"system.preferences", []any{"is-root", DecideRight, OriginalName("system.preferences")}, map[string]any{"version": uint64(0)}},
		{"system.install.software", []any{"is-root", DecideRight, OriginalName("system.install.software")}, map[string]any{"version": uint64(2)}},
		// Class rule, no allow-root: root's way in is the original's own is-root.
		{"system.services.systemconfiguration.network", []any{DecideRight, OriginalName("system.services.systemconfiguration.network")}, map[string]any{"version": uint64(2)}},
	} {
		t.Run(tc.right, func(t *testing.T) {
			current := read(t, tc.right+".plist")
			p, err := Install(tc.right, current)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{DecideRight, OriginalName(tc.right), tc.right}, names(p.Writes)); diff != "" {
				t.Fatalf("writes (-want +got):\n%s", diff)
			}
			if !bytes.Equal(p.Writes[0].Definition, Decide()) {
				t.Errorf("first write is not Decide()")
			}
			if !bytes.Equal(p.Writes[1].Definition, current) || !bytes.Equal(p.Original, current) {
				t.Errorf("the copy and Original are not the definition as read")
			}
			if len(p.Removes) != 0 || p.Replaced {
				t.Errorf("install removes %v, replaced %v", p.Removes, p.Replaced)
			}
			w := p.Writes[2].Definition
			golden := filepath.Join("testdata", tc.right+".installed.plist")
			if *update {
				if err := os.WriteFile(golden, w, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if diff := cmp.Diff(string(read(t, tc.right+".installed.plist")), string(w)); diff != "" {
				t.Errorf("wrapper differs from %s (-want +got; -update rewrites it):\n%s", golden, diff)
			}
			want := map[string]any{"class": "rule", "k-of-n": uint64(1), "rule": tc.rule}
			for k, v := range tc.keep {
				want[k] = v
			}
			got := decode(t, w)
			delete(got, "comment")
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("wrapper (-want +got):\n%s", diff)
			}
			if m, err := Managed(w); err != nil || !m {
				t.Errorf("Managed(wrapper) = %v, %v", m, err)
			}
			if m, err := Managed(current); err != nil || m {
				t.Errorf("Managed(original) = %v, %v", m, err)
			}
			if _, err := Install(tc.right, w); !errors.Is(err, ErrManaged) {
				t.Errorf("Install(wrapper) = %v, want ErrManaged", err)
			}
		})
	}
}

func TestWrapperCarriesWhatAuthdReadsFromTheRightItself(t *testing.T) {
	def := []byte(`<?xml version="1.0" encoding="UTF-8"?>
<plist version="1.0"><dict>
	<key>class</key><string>user</string>
	<key>allow-root</key><false/>
	<key>group</key><string>admin</string>
	<key>entitled</key><true/>
	<key>require-apple-signed</key><true/>
	<key>extract-password</key><true/>
	<key>default-prompt</key><dict><key>en</key><string>__APPNAME__ wants to make changes.</string></dict>
	<key>default-button</key><dict><key>en</key><string>Unlock</string></dict>
	<key>version</key><integer>7</integer>
</dict></plist>`)
	p, err := Install("com.example.tool.settings", def)
	if err != nil {
		t.Fatal(err)
	}
	got := decode(t, p.Writes[2].Definition)
	delete(got, "comment")
	want := map[string]any{
		"class": "rule", "k-of-n": uint64(1),
		// allow-root false: no is-root in front.
		"rule":                 []any{DecideRight, OriginalName("com.example.tool.settings")},
		"entitled":             true,
		"require-apple-signed": true,
		"default-prompt":       map[string]any{"en": "__APPNAME__ wants to make changes."},
		"default-button":       map[string]any{"en": "Unlock"},
		"version":              uint64(7),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("wrapper (-want +got):\n%s", diff)
	}
}

func TestInstallTakesEveryClass(t *testing.T) {
	for _, class := range classes {
		def := []byte(`<plist version="1.0"><dict><key>class</key><string>` + class + `</string></dict></plist>`)
		if _, err := Install("com.example.right", def); err != nil {
			t.Errorf("class %s: %v", class, err)
		}
	}
}

func TestInstallRefuses(t *testing.T) {
	good := read(t, "system.preferences.plist")
	xml := func(body string) []byte {
		return []byte(`<?xml version="1.0" encoding="UTF-8"?><plist version="1.0">` + body + `</plist>`)
	}
	binary, err := plist.Marshal(map[string]any{"class": "user"}, plist.BinaryFormat)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, right string
		def         []byte
		want        string
	}{
		{"a wildcard right", "system.preferences.", good, "wildcard"},
		{"a meta-right", "config.modify.system.preferences", good, "authorization database itself"},
		{"a login right", "system.login.console", good, "login"},
		{"Gatehouse's own", DecideRight, good, "Gatehouse's own"},
		{"a rule", "authenticate", good, "is a rule"},
		{"a name with a space", "system preferences", good, "dotted name"},
		{"an empty name", "", good, "dotted name"},
		{"an empty definition", "system.preferences", nil, "empty"},
		{"a binary plist", "system.preferences", binary, "Binary"},
		{"not a plist", "system.preferences", []byte("YES (0)\n"), "not a property list"},
		{"an array", "system.preferences", xml(`<array/>`), "not a dict"},
		{"no class", "system.preferences", xml(`<dict><key>group</key><string>admin</string></dict>`), "class"},
		{"an unknown class", "system.preferences", xml(`<dict><key>class</key><string>maybe</string></dict>`), "class maybe"},
		{"allow-root a string", "system.preferences", xml(`<dict><key>class</key><string>user</string><key>allow-root</key><string>yes</string></dict>`), "allow-root"},
		{"version a real", "system.preferences", xml(`<dict><key>class</key><string>user</string><key>version</key><real>1.5</real></dict>`), "version"},
		{"a prompt not a string", "system.preferences", xml(`<dict><key>class</key><string>user</string><key>default-prompt</key><dict><key>en</key><integer>1</integer></dict></dict>`), "default-prompt"},
		{"a rule not a name", "system.preferences", xml(`<dict><key>class</key><string>rule</string><key>rule</key><array><integer>1</integer></array></dict>`), "rule[0]"},
		{"too large", "system.preferences", append(bytes.Clone(good), bytes.Repeat([]byte(" "), maxDefinition)...), "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Install(tc.right, tc.def)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Install(%q) = %v, want an error saying %q", tc.right, err, tc.want)
			}
		})
	}
}

func TestUninstallGivesTheOriginalBack(t *testing.T) {
	const right = "system.install.software"
	original := read(t, right+".plist")
	p, err := Install(right, original)
	if err != nil {
		t.Fatal(err)
	}
	wrapper := p.Writes[2].Definition

	t.Run("from the wrapper", func(t *testing.T) {
		u, err := Uninstall(right, wrapper, p.Original)
		if err != nil {
			t.Fatal(err)
		}
		want := Plan{Writes: []Write{{Name: right, Definition: original}}, Removes: []string{OriginalName(right)}}
		if diff := cmp.Diff(want, u); diff != "" {
			t.Errorf("plan (-want +got):\n%s", diff)
		}
	})
	t.Run("a right changed since is left alone", func(t *testing.T) {
		// A macOS update with a higher version replaced the wrapper.
		apples := bytes.Replace(original, []byte("<integer>900</integer>"), []byte("<integer>300</integer>"), 1)
		for _, current := range [][]byte{apples, nil, []byte("garbage")} {
			u, err := Uninstall(right, current, p.Original)
			if err != nil {
				t.Fatal(err)
			}
			want := Plan{Removes: []string{OriginalName(right)}, Replaced: true}
			if diff := cmp.Diff(want, u); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
		}
	})
	t.Run("another right's wrapper is not this one's", func(t *testing.T) {
		other, err := Install("system.preferences", read(t, "system.preferences.plist"))
		if err != nil {
			t.Fatal(err)
		}
		u, err := Uninstall(right, other.Writes[2].Definition, p.Original)
		if err != nil || !u.Replaced || len(u.Writes) != 0 {
			t.Errorf("Uninstall = %+v, %v; want the right left alone", u, err)
		}
	})
	t.Run("a stored wrapper is not an original", func(t *testing.T) {
		if _, err := Uninstall(right, wrapper, wrapper); err == nil || !strings.Contains(err.Error(), "not the original") {
			t.Errorf("Uninstall(original = wrapper) = %v", err)
		}
	})
	t.Run("a broken original is refused", func(t *testing.T) {
		if _, err := Uninstall(right, wrapper, []byte("<plist>")); err == nil {
			t.Error("Uninstall took a broken original")
		}
	})
}

func TestDecideAsksOnceAndSharesNothing(t *testing.T) {
	got := decode(t, Decide())
	delete(got, "comment")
	want := map[string]any{
		"class":      "evaluate-mechanisms",
		"mechanisms": []any{"gatehouse:decide,privileged"},
		"tries":      uint64(1),
		"shared":     false,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("DecideRight (-want +got):\n%s", diff)
	}
}

// A model of how authd evaluates a managed right, transcribed from
// Security/OSX/authd/engine.c: _evaluate_mechanisms (a mechanism's result
// becomes a status), _evaluate_class_mechanism (a denial is retried up to
// tries times) and _evaluate_class_rule (k-of-n). It holds the plugin's
// mapping of verdicts (GatehouseAuth.c, tested in shim_test.go) to what the
// program is told.

type status string

const (
	success  status = "errAuthorizationSuccess"
	denied   status = "errAuthorizationDenied"
	canceled status = "errAuthorizationCanceled"
	internal status = "errAuthorizationInternal"
)

// mechanismStatus is _evaluate_mechanisms' switch on the last result.
var mechanismStatus = map[string]status{"allow": success, "deny": denied, "canceled": canceled, "undefined": internal}

// classMechanism is _evaluate_class_mechanism: run, and run again while
// denied, up to tries times (0: for ever).
func classMechanism(tries int, run func() status) status {
	var s status
	for n := 0; ; {
		s = run()
		n++
		if s != denied || (tries != 0 && n >= tries) {
			return s
		}
	}
}

// classRule is _evaluate_class_rule.
func classRule(kofn int, delegates []func() status) status {
	s, successes := denied, 0
	for i, d := range delegates {
		if kofn != 0 && successes == kofn {
			return success
		}
		s = d()
		if s == canceled || s == internal {
			return s
		}
		if s != success {
			if kofn != 0 {
				if len(delegates)-(i+1) < kofn-successes {
					return s
				}
				continue
			}
			return s
		}
		successes++
	}
	return s
}

func TestVerdictsInAuthdsEvaluation(t *testing.T) {
	tries := int(decode(t, Decide())["tries"].(uint64))
	for _, tc := range []struct {
		verdict, result string // what gatehoused says, what the plugin sets
		original        status // what the right's original definition would give
		want            status
		wantOriginal    bool // whether the original was evaluated (the dialog shown)
	}{
		{"yes", "allow", denied, success, false},
		{"yes", "allow", success, success, false},
		{"no", "canceled", success, canceled, false},
		{"no", "canceled", denied, canceled, false},
		{"not_handled", "deny", success, success, true},
		{"not_handled", "deny", denied, denied, true},
		{"not_handled", "deny", canceled, canceled, true},
		// Why not Undefined for "gatehoused did not answer": it aborts the
		// evaluation, and the right would be refused while gatehoused is down.
		{"(no answer, if Undefined)", "undefined", success, internal, false},
	} {
		asked, originals := 0, 0
		decide := func() status {
			return classMechanism(tries, func() status { asked++; return mechanismStatus[tc.result] })
		}
		original := func() status { originals++; return tc.original }
		got := classRule(1, []func() status{decide, original})
		if got != tc.want || (originals > 0) != tc.wantOriginal || asked != 1 {
			t.Errorf("%s, original %s: %s (original evaluated %d times, gatehoused asked %d), want %s (original evaluated: %v, asked once)",
				tc.verdict, tc.original, got, originals, asked, tc.want, tc.wantOriginal)
		}
	}
	// With the class's default tries, one not_handled would be asked 10000 times.
	asked := 0
	classMechanism(10000, func() status { asked++; return denied })
	if asked != 10000 {
		t.Errorf("the model retries %d times", asked)
	}
	// is-root in front: root is granted without asking gatehoused.
	asked = 0
	isRoot := func() status { return success }
	decide := func() status { asked++; return canceled }
	if got := classRule(1, []func() status{isRoot, decide, func() status { return denied }}); got != success || asked != 0 {
		t.Errorf("root: %s, gatehoused asked %d times", got, asked)
	}
}
