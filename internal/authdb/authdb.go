// Package authdb works out the changes to macOS's authorization database
// that put a right under Gatehouse's decision (docs/macos.md,
// "Authorization requests (the padlock)"), and the changes that give it
// back. It reads and writes right definitions as `security authorizationdb
// read RIGHT` prints them and `security authorizationdb write RIGHT` takes
// them (XML property lists); it runs no command and touches no database,
// so it builds and is tested on every platform. The caller (gatehoused's
// install step) runs the writes and removals in the order given.
//
// # The change
//
// A managed right R becomes
//
//	class   rule
//	k-of-n  1
//	rule    [is-root,]  com.gatehouse.decide  com.gatehouse.original.R
//
// where com.gatehouse.decide (DecideRight) is a right of class
// evaluate-mechanisms whose one mechanism is "gatehouse:decide,privileged"
// (the plugin in build/darwin/authplugin), and com.gatehouse.original.R is
// R's definition as it was, written verbatim under a name of ours.
//
// Why this shape, from authd's engine.c and rule.c (Apple's open source,
// Security/OSX/authd): a right of class rule with k-of-n 1 evaluates its
// delegates in order and is granted as soon as one grants it; a delegate
// that denies lets the next one be evaluated; a delegate that ends in
// errAuthorizationCanceled or errAuthorizationInternal aborts the whole
// evaluation (_evaluate_class_rule). The mechanism maps gatehoused's
// verdicts onto exactly these: yes grants (the right is granted with no
// password asked), not_handled or any failure denies (so R's original
// definition is evaluated next, as it would have been without Gatehouse),
// and no cancels (the original is never reached, so no administrator's
// password can override the policy).
//
// The tempting alternative, turning R into class evaluate-mechanisms with
// gatehouse:decide in front of the authentication mechanisms, is wrong
// twice over: mechanisms are a conjunction (an Allow from ours only lets
// the password dialog run), and class evaluate-mechanisms does none of
// class user's checks (group membership, credential timeout and sharing,
// allow-root), so any user who authenticates would get the right.
//
// Delegating to the original as a right of its own keeps every class
// (user, rule, evaluate-mechanisms, allow, deny) and every attribute of it
// evaluated by authd's own code, unchanged. What the wrapper itself must
// carry, because authd reads it only from the right being asked for:
//
//   - version: authd replaces a right from /System/Library/Security/
//     authorization.plist when that file's version is higher than the
//     database's (authdb.c). The wrapper keeps R's version, so a macOS
//     update that changes R still wins over Gatehouse (Uninstall then
//     leaves Apple's new R alone) rather than being held back by it.
//   - default-prompt and default-button: the dialog's texts come from the
//     right being asked for (_set_localization_hints).
//   - entitled and require-apple-signed: checked before a right's class is
//     evaluated, so an entitled program is granted, and one that Apple did
//     not sign is refused, before gatehoused is asked, as they were before.
//   - allow-root of a class user right: its test, that the process that
//     created the AuthorizationRef runs as root, is the standard rule
//     is-root, put first, so root is granted without asking gatehoused as
//     before.
//
// And DecideRight carries tries 1, because class evaluate-mechanisms
// retries a denial up to tries times (default 10000: it would ask
// gatehoused that often for one not_handled), and shared false, because a
// mechanism right that succeeds turns a uid left in the context into a
// credential, shared with the session when the right is shared (the
// default for this class).
//
// Known differences: R is now of class rule, so kAuthorizationFlagPreAuthorize
// no longer marks a granted class user right with timeout 0 as
// pre-authorized (engine_authorize looks at the right's own class); and each
// managed right adds one right to the database, of which authd lets one
// signed writer add 30 (MAX_PROCESS_RIGHTS in server.c).
//
// # Reversal
//
// authd keeps only the keys it knows (rule_create_with_plist), so the
// original cannot ride along inside the wrapper: Install returns it
// (Plan.Original, R's definition byte for byte) and the caller stores it.
// Uninstall writes it back and removes the copy, unless R is no longer the
// wrapper (a macOS update or an administrator changed it since): then R is
// left as it is. authd sets created and modified itself; the rest of R is
// back as it was.
package authdb

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"howett.net/plist"
)

// Names Gatehouse uses in the authorization database and for the plugin.
const (
	// PluginDir is where authd loads third-party plugins from; the bundle
	// is PluginDir/Plugin.bundle (authd's mechanism.c).
	PluginDir = "/Library/Security/SecurityAgentPlugins"
	// Plugin is the plugin's name in mechanism strings and its bundle's.
	Plugin = "gatehouse"
	// BundleID and BundleExecutable are the bundle's Info.plist values
	// (build/darwin/authplugin/Info.plist).
	BundleID         = "com.gatehouse.authplugin"
	BundleExecutable = "GatehouseAuth"
	// Mechanism is the plugin's one mechanism, run as root in
	// authorizationhost.
	Mechanism = Plugin + ":decide,privileged"
	// DecideRight is the right whose only mechanism is Mechanism; every
	// managed right delegates to it. Remove it after the last managed
	// right is given back.
	DecideRight = "com.gatehouse.decide"
	// OriginalPrefix names the copy of a managed right's original
	// definition: OriginalPrefix + the right.
	OriginalPrefix = "com.gatehouse.original."
	// isRoot is authd's standard rule for allow-root: the creator of the
	// AuthorizationRef runs as root.
	isRoot = "is-root"
)

// maxDefinition bounds what is parsed: a right's definition is a few
// hundred bytes.
const maxDefinition = 64 << 10

// ErrManaged is returned by Install for a right that already delegates to
// DecideRight: its original is the one stored at install.
var ErrManaged = errors.New("the right is already under Gatehouse (it delegates to " + DecideRight + "); its original definition is the one stored when it was installed")

// Write is one `security authorizationdb write Name`, with Definition on
// its standard input.
type Write struct {
	Name       string
	Definition []byte // an XML property list
}

// Plan is what to do to the authorization database, in order: the writes,
// then the removals (`security authorizationdb remove NAME`).
type Plan struct {
	Writes  []Write
	Removes []string
	// Original, from Install, is the right's definition as read, byte for
	// byte. Store it: Uninstall needs it.
	Original []byte
	// Replaced, from Uninstall, says that the right was no longer
	// Gatehouse's wrapper (changed since the install) and is left as it
	// is; only the copy is removed.
	Replaced bool
}

// OriginalName is the name of the copy of right's original definition.
func OriginalName(right string) string { return OriginalPrefix + right }

// Install returns the plan that puts right, whose definition is current
// (as `security authorizationdb read` prints it), under Gatehouse's
// decision: DecideRight, then the copy of the original, then the wrapper
// (authd refuses a delegate that does not exist yet).
func Install(right string, current []byte) (Plan, error) {
	if err := checkRight(right); err != nil {
		return Plan{}, err
	}
	d, err := parse(current)
	if err != nil {
		return Plan{}, fmt.Errorf("definition of %s: %w", right, err)
	}
	if delegatesTo(d, DecideRight) {
		return Plan{}, fmt.Errorf("%s: %w", right, ErrManaged)
	}
	w, err := wrapper(right, d)
	if err != nil {
		return Plan{}, fmt.Errorf("definition of %s: %w", right, err)
	}
	return Plan{
		Writes: []Write{
			{Name: DecideRight, Definition: Decide()},
			{Name: OriginalName(right), Definition: bytes.Clone(current)},
			{Name: right, Definition: w},
		},
		Original: bytes.Clone(current),
	}, nil
}

// Uninstall returns the plan that gives right back: original (what Install
// returned in Plan.Original) written over it, then its copy removed. When
// current (right's definition now; nil when it has none) is not
// Gatehouse's wrapper of right, right is left alone and Replaced is set.
func Uninstall(right string, current, original []byte) (Plan, error) {
	if err := checkRight(right); err != nil {
		return Plan{}, err
	}
	o, err := parse(original)
	if err != nil {
		return Plan{}, fmt.Errorf("stored original definition of %s: %w", right, err)
	}
	if delegatesTo(o, DecideRight) {
		return Plan{}, fmt.Errorf("stored original definition of %s is Gatehouse's own wrapper, not the original; restore the right by hand from `security authorizationdb read %s`", right, OriginalName(right))
	}
	p := Plan{Removes: []string{OriginalName(right)}}
	ours := false
	if current != nil {
		c, err := parse(current)
		ours = err == nil && delegatesTo(c, DecideRight) && delegatesTo(c, OriginalName(right))
	}
	if !ours {
		p.Replaced = true
		return p, nil
	}
	p.Writes = []Write{{Name: right, Definition: bytes.Clone(original)}}
	return p, nil
}

// Managed reports whether def (a right's definition) is under Gatehouse:
// it delegates to DecideRight.
func Managed(def []byte) (bool, error) {
	d, err := parse(def)
	if err != nil {
		return false, err
	}
	return delegatesTo(d, DecideRight), nil
}

// Decide is DecideRight's definition.
func Decide() []byte {
	b, err := encode(map[string]any{
		"class":   "evaluate-mechanisms",
		"comment": "Gatehouse: asks gatehoused about the right being evaluated (docs/macos.md). The rights Gatehouse manages delegate to it; remove it only after they are given back.",
		// One mechanism, run as root; tries 1 and shared false: see the
		// package doc.
		"mechanisms": []string{Mechanism},
		"tries":      uint64(1),
		"shared":     false,
	})
	if err != nil {
		panic("authdb: encode " + DecideRight + ": " + err.Error()) // constant input; TestDecide
	}
	return b
}

// rightName is what gatehoused accepts as a right (enforcer/authreq.go),
// and what the plugin sends without escaping.
var rightName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$`)

// checkRight refuses the rights Gatehouse must not manage.
func checkRight(right string) error {
	switch {
	case !rightName.MatchString(right):
		return fmt.Errorf("right %q: a right is a dotted name of letters, digits, '.', '_' and '-' (at most 255)", right)
	case strings.HasSuffix(right, "."):
		return fmt.Errorf("right %q is a wildcard (it ends in '.'): name the rights themselves", right)
	case strings.HasPrefix(right, "com.gatehouse."):
		return fmt.Errorf("right %q is Gatehouse's own", right)
	case strings.HasPrefix(right, "config."):
		return fmt.Errorf("right %q guards changes to the authorization database itself; Gatehouse does not manage it", right)
	case strings.HasPrefix(right, "system.login."):
		// Evaluated by loginwindow before any user session: a "no" would
		// lock every user out.
		return fmt.Errorf("right %q is a login right; Gatehouse does not manage login", right)
	case right == "authenticate":
		return fmt.Errorf("%q is a rule, not a right (authd refuses to change rules)", right)
	}
	return nil
}

var classes = []string{"user", "rule", "evaluate-mechanisms", "allow", "deny"}

// parse reads a definition: one XML property list holding a dict, with a
// class authd knows and the keys the wrapper copies of the types authd
// reads them as.
func parse(b []byte) (map[string]any, error) {
	if len(b) == 0 {
		return nil, errors.New("empty; give what `security authorizationdb read` prints")
	}
	if len(b) > maxDefinition {
		return nil, fmt.Errorf("%d bytes, more than a right's definition (%d)", len(b), maxDefinition)
	}
	var v any
	format, err := plist.Unmarshal(b, &v)
	if err != nil {
		return nil, fmt.Errorf("not a property list: %w", err)
	}
	if format != plist.XMLFormat {
		return nil, fmt.Errorf("a %s property list; `security authorizationdb read` prints XML", plist.FormatNames[format])
	}
	d, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("a property list of %T, not a dict", v)
	}
	class, ok := d["class"].(string)
	if !ok || !slices.Contains(classes, class) {
		return nil, fmt.Errorf("class %v: want one of %s", d["class"], strings.Join(classes, ", "))
	}
	for _, k := range []string{"allow-root", "entitled", "require-apple-signed"} {
		if x, ok := d[k]; ok {
			if _, ok := x.(bool); !ok {
				return nil, fmt.Errorf("%s is %T, not a boolean", k, x)
			}
		}
	}
	if x, ok := d["version"]; ok {
		switch x.(type) {
		case uint64, int64:
		default:
			return nil, fmt.Errorf("version is %T, not an integer", x)
		}
	}
	for _, k := range []string{"default-prompt", "default-button"} {
		if x, ok := d[k]; ok {
			m, ok := x.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("%s is %T, not a dict", k, x)
			}
			for lang, s := range m {
				if _, ok := s.(string); !ok {
					return nil, fmt.Errorf("%s[%q] is %T, not a string", k, lang, s)
				}
			}
		}
	}
	if x, ok := d["rule"]; ok && class == "rule" {
		if _, err := delegates(x); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// delegates reads a class rule right's "rule": one name or an array of them.
func delegates(x any) ([]string, error) {
	switch x := x.(type) {
	case string:
		return []string{x}, nil
	case []any:
		out := make([]string, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("rule[%d] is %T, not a rule's name", i, e)
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("rule is %T, not a rule's name or an array of them", x)
}

// delegatesTo reports whether d (parsed) is a class rule right naming name.
func delegatesTo(d map[string]any, name string) bool {
	if d["class"] != "rule" {
		return false
	}
	names, _ := delegates(d["rule"])
	return slices.Contains(names, name)
}

// wrapper is the definition that replaces right's (d, parsed).
func wrapper(right string, d map[string]any) ([]byte, error) {
	rules := []string{DecideRight, OriginalName(right)}
	if d["class"] == "user" && d["allow-root"] == true {
		rules = append([]string{isRoot}, rules...)
	}
	w := map[string]any{
		"class":   "rule",
		"k-of-n":  uint64(1),
		"rule":    rules,
		"comment": "Gatehouse manages this right: gatehoused decides first (" + DecideRight + "), then the original definition (" + OriginalName(right) + ") as before. Uninstalling Gatehouse writes the original back.",
	}
	for _, k := range []string{"version", "default-prompt", "default-button", "entitled", "require-apple-signed"} {
		if x, ok := d[k]; ok {
			w[k] = x
		}
	}
	b, err := encode(w)
	if err != nil {
		return nil, fmt.Errorf("encode the wrapper: %w", err)
	}
	if _, err := parse(b); err != nil {
		return nil, fmt.Errorf("the wrapper does not read back: %w", err)
	}
	return b, nil
}

// encode writes v as an XML property list, as `security` prints one.
func encode(v any) ([]byte, error) {
	b, err := plist.MarshalIndent(v, plist.XMLFormat, "\t")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
