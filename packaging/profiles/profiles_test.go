package profiles

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"howett.net/plist"

	"github.com/gatehouse/gatehouse/internal/scratch"
)

var update = flag.Bool("update", false, "rewrite the golden profiles in testdata")

// The team id of the golden files and most tests: the shape of a real
// one, no real team's.
const testTeam = "ABCDE12345"

func gatehouseFiles(t *testing.T, c Config) []File {
	t.Helper()
	files, err := Gatehouse(c)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func marshal(t *testing.T, p Profile) []byte {
	t.Helper()
	b, err := p.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parse(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var d map[string]any
	format, err := plist.Unmarshal(b, &d)
	if err != nil {
		t.Fatalf("parse back: %v", err)
	}
	if format != plist.XMLFormat && format != plist.BinaryFormat {
		t.Fatalf("parsed as %s, want XML (or binary from plistutil)", plist.FormatNames[format])
	}
	return d
}

// Every profile, and every payload in it, keeps to Apple's schema as the
// tables in schema_test.go restate it: required keys present, types
// right, values in their rangelists, no key the schema lacks (nor one
// macOS lacks), the TCC rules its text states; and each payload says
// truly whether it needs a user-approved MDM.
func TestProfilePayloadsFollowApplesSchema(t *testing.T) {
	for _, f := range gatehouseFiles(t, Config{TeamID: testTeam, Organization: "Example Corp"}) {
		t.Run(f.Name, func(t *testing.T) {
			top := parse(t, marshal(t, f.Profile))
			errs := checkKeys("", top, topLevelKeys)
			if top["PayloadScope"] != "System" {
				errs = append(errs, fmt.Sprintf("PayloadScope %v, want System", top["PayloadScope"]))
			}
			content, _ := top["PayloadContent"].([]any)
			if len(content) != len(f.Profile.Payloads) {
				t.Fatalf("%d payloads in PayloadContent, want %d", len(content), len(f.Profile.Payloads))
			}
			for i, c := range content {
				d, _ := c.(map[string]any)
				typ, _ := d["PayloadType"].(string)
				spec, ok := payloadSpecs[typ]
				if !ok {
					t.Fatalf("PayloadContent[%d]: no schema restated for PayloadType %q", i, typ)
				}
				path := fmt.Sprintf("PayloadContent[%d]", i)
				keys := map[string]keySpec{}
				for k, s := range commonPayloadKeys {
					keys[k] = s
				}
				for k, s := range spec.keys {
					keys[k] = s
				}
				errs = append(errs, checkKeys(path, d, keys)...)
				if typ == "com.apple.TCC.configuration-profile-policy" {
					errs = append(errs, checkTCC(path, d)...)
				}
				settings := f.Profile.Payloads[i].Settings
				if got, want := settings.UserApprovedMDM(), spec.userApprovedMDM && !spec.manualInstall; got != want {
					errs = append(errs, fmt.Sprintf("%s: UserApprovedMDM() %v, but %s says userapprovedmdm %v, allowmanualinstall %v", path, got, spec.source, spec.userApprovedMDM, spec.manualInstall))
				}
				if !spec.deviceChannel {
					errs = append(errs, fmt.Sprintf("%s: %s is not a device-channel payload, but the profile's scope is System", path, typ))
				}
			}
			for _, e := range errs {
				t.Error(e)
			}
		})
	}
}

// checkTCC applies what the TCC schema states in prose: the AEReceiver
// keys in every AppleEvents identity and in no other; Allowed or
// Authorization, not both; nothing allowed that can only be denied.
func checkTCC(path string, payload map[string]any) []string {
	var errs []string
	services, _ := payload["Services"].(map[string]any)
	for _, name := range sortedKeys(services) {
		list, _ := services[name].([]any)
		for i, it := range list {
			id, _ := it.(map[string]any)
			p := fmt.Sprintf("%s.Services.%s[%d]", path, name, i)
			for _, k := range tccAppleEventsOnly {
				_, has := id[k]
				if name == "AppleEvents" && !has {
					errs = append(errs, p+": AppleEvents without "+k)
				}
				if name != "AppleEvents" && has {
					errs = append(errs, p+": "+k+" is valid for AppleEvents only")
				}
			}
			_, allowed := id["Allowed"]
			_, auth := id["Authorization"]
			if allowed == auth {
				errs = append(errs, p+": wants Allowed or Authorization, not both or neither")
			}
			if tccDenyOnly[name] && (id["Allowed"] == true || id["Authorization"] == "Allow") {
				errs = append(errs, p+": "+name+" can only be denied by a profile")
			}
		}
	}
	return errs
}

// checkKeys reports where dictionary d breaks keys: a required key
// missing, a key the schema (or macOS) lacks, a value of the wrong type or
// out of its rangelist.
func checkKeys(path string, d map[string]any, keys map[string]keySpec) []string {
	var errs []string
	for _, k := range sortedKeys(keys) {
		if _, ok := d[k]; keys[k].required && !ok {
			errs = append(errs, fmt.Sprintf("%s: required key %s missing", join(path, k), k))
		}
	}
	for _, k := range sortedKeys(d) {
		s, ok := keys[k]
		switch {
		case !ok:
			errs = append(errs, fmt.Sprintf("%s: not a key of the schema", join(path, k)))
		case s.notOnMacOS:
			errs = append(errs, fmt.Sprintf("%s: not supported on macOS", join(path, k)))
		default:
			errs = append(errs, checkValue(join(path, k), d[k], s)...)
		}
	}
	return errs
}

func checkValue(path string, v any, s keySpec) []string {
	if !hasType(v, s.typ) {
		return []string{fmt.Sprintf("%s: %T, want <%s>", path, v, s.typ)}
	}
	var errs []string
	if s.rangelist != nil && !slices.ContainsFunc(s.rangelist, func(r any) bool { return sameValue(v, r) }) {
		errs = append(errs, fmt.Sprintf("%s: %v is not one of %v", path, v, s.rangelist))
	}
	switch v := v.(type) {
	case map[string]any:
		if s.keys != nil {
			errs = append(errs, checkKeys(path, v, s.keys)...)
		}
	case []any:
		if s.items != nil {
			for i, it := range v {
				errs = append(errs, checkValue(fmt.Sprintf("%s[%d]", path, i), it, *s.items)...)
			}
		}
	}
	return errs
}

func hasType(v any, t plistType) bool {
	switch v.(type) {
	case string:
		return t == tString
	case int64, uint64:
		return t == tInteger
	case bool:
		return t == tBoolean
	case float64, float32:
		return t == tReal
	case time.Time:
		return t == tDate
	case []byte:
		return t == tData
	case []any:
		return t == tArray
	case map[string]any:
		return t == tDictionary
	}
	return false
}

// sameValue compares a parsed value with a rangelist entry: integers by
// value, whatever their Go types.
func sameValue(v, r any) bool {
	if ri, ok := r.(int); ok {
		switch v := v.(type) {
		case int64:
			return v == int64(ri)
		case uint64:
			return ri >= 0 && v == uint64(ri)
		}
		return false
	}
	return v == r
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// The schema check finds what it is there to find, so that its silence
// above means something.
func TestProfileSchemaCheckCatchesMistakes(t *testing.T) {
	rules := payloadSpecs["com.apple.servicemanagement"].keys
	tcc := payloadSpecs["com.apple.TCC.configuration-profile-policy"]
	tests := []struct {
		name string
		got  []string
		want string
	}{
		{"a missing required key", checkKeys("", map[string]any{"Rules": []any{map[string]any{"RuleType": "Label"}}}, rules), "RuleValue missing"},
		{"an unknown key", checkKeys("", map[string]any{"Rules": []any{}, "Rulez": true}, rules), "Rulez: not a key"},
		{"a wrong type", checkKeys("", map[string]any{"Rules": map[string]any{}}, rules), "want <array>"},
		{"a value out of its rangelist", checkKeys("", map[string]any{"Rules": []any{map[string]any{"RuleType": "Path", "RuleValue": "x"}}}, rules), "Path is not one of"},
		{"an integer out of its rangelist", checkKeys("", map[string]any{"PayloadVersion": uint64(2)}, commonPayloadKeys), "2 is not one of"},
		{"a key macOS lacks", checkKeys("", map[string]any{"NotificationSettings": []any{map[string]any{"BundleIdentifier": "a.b", "ShowInCarPlay": true}}}, payloadSpecs["com.apple.notificationsettings"].keys), "not supported on macOS"},
		{"an integer for a boolean (as some vendors write Allowed)", checkKeys("", map[string]any{"Services": map[string]any{"Accessibility": []any{map[string]any{"Identifier": "a.b", "IdentifierType": "bundleID", "CodeRequirement": "x", "Allowed": uint64(1)}}}}, tcc.keys), "want <boolean>"},
		{"an unknown service", checkKeys("", map[string]any{"Services": map[string]any{"FullDiskAccess": []any{}}}, tcc.keys), "FullDiskAccess: not a key"},
		{"AppleEvents without a receiver", checkTCC("", map[string]any{"Services": map[string]any{"AppleEvents": []any{map[string]any{"Allowed": true}}}}), "AppleEvents without AEReceiverIdentifier"},
		{"a receiver outside AppleEvents", checkTCC("", map[string]any{"Services": map[string]any{"Accessibility": []any{map[string]any{"Allowed": true, "AEReceiverIdentifier": "x"}}}}), "valid for AppleEvents only"},
		{"Allowed and Authorization both", checkTCC("", map[string]any{"Services": map[string]any{"Accessibility": []any{map[string]any{"Allowed": true, "Authorization": "Allow"}}}}), "not both"},
		{"the camera allowed", checkTCC("", map[string]any{"Services": map[string]any{"Camera": []any{map[string]any{"Allowed": true}}}}), "can only be denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !slices.ContainsFunc(tt.got, func(e string) bool { return strings.Contains(e, tt.want) }) {
				t.Errorf("errors %q, want one containing %q", tt.got, tt.want)
			}
		})
	}
}

// What each profile grants, payload keys only (the Payload* keys are the
// schema test's): the programs as build/darwin names them, pinned to the
// team's Developer ID.
func TestProfileGrantsWhatGatehouseNeeds(t *testing.T) {
	agentReq := `identifier "com.gatehouse.agent" and anchor apple generic and certificate 1[field.1.2.840.113635.100.6.2.6] /* exists */ and certificate leaf[field.1.2.840.113635.100.6.1.13] /* exists */ and certificate leaf[subject.OU] = "ABCDE12345"`
	daemonReq := `identifier "com.gatehouse.gatehoused" and anchor apple generic and certificate 1[field.1.2.840.113635.100.6.2.6] /* exists */ and certificate leaf[field.1.2.840.113635.100.6.1.13] /* exists */ and certificate leaf[subject.OU] = "ABCDE12345"`
	want := map[string]map[string]any{
		"Gatehouse-PPPC.mobileconfig": {"Services": map[string]any{
			"SystemPolicyAllFiles": []any{map[string]any{
				"Identifier": "com.gatehouse.gatehoused", "IdentifierType": "bundleID", "CodeRequirement": daemonReq, "Allowed": true,
				"Comment": "gatehoused: Endpoint Security clients need Full Disk Access",
			}},
			"Accessibility": []any{map[string]any{
				"Identifier": "com.gatehouse.agent", "IdentifierType": "bundleID", "CodeRequirement": agentReq, "Allowed": true,
				"Comment": `the agent presses the Cancel button of macOS's "can't be opened" alert when Apple events are refused`,
			}},
			"AppleEvents": []any{map[string]any{
				"Identifier": "com.gatehouse.agent", "IdentifierType": "bundleID", "CodeRequirement": agentReq, "Allowed": true,
				"AEReceiverIdentifier": "com.apple.systemevents", "AEReceiverIdentifierType": "bundleID",
				"AEReceiverCodeRequirement": `identifier "com.apple.systemevents" and anchor apple`,
				"Comment":                   `the agent closes macOS's "can't be opened" alert through System Events`,
			}},
		}},
		"Gatehouse-Notifications.mobileconfig": {"NotificationSettings": []any{map[string]any{
			"BundleIdentifier": "com.gatehouse.agent", "NotificationsEnabled": true, "ShowInNotificationCenter": true,
			"ShowInLockScreen": true, "AlertType": uint64(2), "BadgesEnabled": true, "SoundsEnabled": true,
		}}},
		"Gatehouse-LoginItems.mobileconfig": {"Rules": []any{
			map[string]any{"RuleType": "Label", "RuleValue": "com.gatehouse.gatehoused", "TeamIdentifier": "ABCDE12345", "Comment": "gatehoused's LaunchDaemon"},
			map[string]any{"RuleType": "Label", "RuleValue": "com.gatehouse.agent", "TeamIdentifier": "ABCDE12345", "Comment": "the agent's LaunchAgent"},
			map[string]any{"RuleType": "Label", "RuleValue": "com.gatehouse.sync", "TeamIdentifier": "ABCDE12345", "Comment": "the console sync's LaunchDaemon"},
		}},
	}
	files := gatehouseFiles(t, Config{TeamID: testTeam})
	var names []string
	for _, f := range files {
		names = append(names, f.Name)
		t.Run(f.Name, func(t *testing.T) {
			top := parse(t, marshal(t, f.Profile))
			content, _ := top["PayloadContent"].([]any)
			if len(content) != 1 {
				t.Fatalf("%d payloads, want 1", len(content))
			}
			got, _ := content[0].(map[string]any)
			for k := range got {
				if strings.HasPrefix(k, "Payload") {
					delete(got, k)
				}
			}
			if d := cmp.Diff(want[f.Name], got); d != "" {
				t.Errorf("payload keys (-want +got):\n%s", d)
			}
			if top["PayloadOrganization"] != "Gatehouse" {
				t.Errorf("PayloadOrganization %v, want the default Gatehouse", top["PayloadOrganization"])
			}
		})
	}
	if d := cmp.Diff([]string{"Gatehouse-PPPC.mobileconfig", "Gatehouse-Notifications.mobileconfig", "Gatehouse-LoginItems.mobileconfig"}, names); d != "" {
		t.Errorf("file names (-want +got):\n%s", d)
	}
}

// The code requirement is the Developer ID form, exactly.
func TestProfileRequirementIsTheDeveloperIDForm(t *testing.T) {
	got := DeveloperIDRequirement("com.gatehouse.agent", "0BCDE12345")
	want := `identifier "com.gatehouse.agent" and anchor apple generic and certificate 1[field.1.2.840.113635.100.6.2.6] /* exists */ and certificate leaf[field.1.2.840.113635.100.6.1.13] /* exists */ and certificate leaf[subject.OU] = "0BCDE12345"`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// The same inputs give the same bytes, and UUIDs that depend on the
// identifiers only: a new team id or organisation is an update of the
// same profiles, not new ones beside them.
func TestProfileUUIDsAndBytesAreStable(t *testing.T) {
	a := gatehouseFiles(t, Config{TeamID: testTeam, Organization: "Example Corp"})
	b := gatehouseFiles(t, Config{TeamID: testTeam, Organization: "Example Corp"})
	other := gatehouseFiles(t, Config{TeamID: "ZYXWV98765", Organization: "Other Org"})
	uuidRE := regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-5[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$`)
	seen := map[string]string{}
	for i := range a {
		ba, bb, bo := marshal(t, a[i].Profile), marshal(t, b[i].Profile), marshal(t, other[i].Profile)
		if !bytes.Equal(ba, bb) {
			t.Errorf("%s: two runs with the same inputs differ", a[i].Name)
		}
		if bytes.Equal(ba, bo) {
			t.Errorf("%s: another team id and organisation made the same bytes", a[i].Name)
		}
		if d := cmp.Diff(uuids(parse(t, ba)), uuids(parse(t, bo))); d != "" {
			t.Errorf("%s: UUIDs changed with the team id (-before +after):\n%s", a[i].Name, d)
		}
		for id, u := range uuids(parse(t, ba)) {
			if !uuidRE.MatchString(u) {
				t.Errorf("%s: %s: %q is not an upper-case version 5 UUID", a[i].Name, id, u)
			}
			if prev, dup := seen[u]; dup {
				t.Errorf("%s: UUID %s of %s is also %s's", a[i].Name, u, id, prev)
			}
			seen[u] = id
			if u != UUID(id) {
				t.Errorf("%s: %s has UUID %s, want UUID(identifier) %s", a[i].Name, id, u, UUID(id))
			}
		}
	}
}

// uuids maps each PayloadIdentifier of a parsed profile to its UUID.
func uuids(top map[string]any) map[string]string {
	m := map[string]string{top["PayloadIdentifier"].(string): top["PayloadUUID"].(string)}
	for _, c := range top["PayloadContent"].([]any) {
		d := c.(map[string]any)
		m[d["PayloadIdentifier"].(string)] = d["PayloadUUID"].(string)
	}
	return m
}

// uuid5 is RFC 9562's: its appendix A.4 example, "www.example.com" in the
// DNS namespace.
func TestProfileUUIDIsRFC9562Version5(t *testing.T) {
	dns := [16]byte{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	if got, want := uuid5(dns, "www.example.com"), "2ED6657D-E927-568B-95E1-2665A8AEA6A2"; got != want {
		t.Errorf("uuid5 = %s, want %s", got, want)
	}
}

// The profiles are the golden files in testdata, which show a reviewer
// what IT gets (go test ./packaging/profiles -run Profile -update
// rewrites them).
func TestProfileMatchesGoldenFiles(t *testing.T) {
	for _, f := range gatehouseFiles(t, Config{TeamID: testTeam, Organization: "Example Corp"}) {
		got := marshal(t, f.Profile)
		path := filepath.Join("testdata", f.Name)
		if *update {
			if err := os.WriteFile(path, got, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(string(want), string(got)); d != "" {
			t.Errorf("%s differs from the golden file (-want +got); if intended, run go test ./packaging/profiles -run Profile -update:\n%s", path, d)
		}
	}
}

// Debian's plistutil (libplist) reads each profile and converts it to a
// binary property list holding the same values.
func TestProfileParsesWithPlistutil(t *testing.T) {
	tool, err := exec.LookPath("plistutil")
	scratch.Need(t, err == nil, "plistutil (Debian's libplist-utils; scripts/setup installs it)")
	dir := t.TempDir()
	for _, f := range gatehouseFiles(t, Config{TeamID: testTeam, Organization: `Example & "Sons" <IT>`}) {
		t.Run(f.Name, func(t *testing.T) {
			xml := marshal(t, f.Profile)
			path := filepath.Join(dir, f.Name)
			if err := os.WriteFile(path, xml, 0o644); err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd := exec.Command(tool, "-i", path, "-o", "-")
			cmd.Stderr = &stderr
			bin, err := cmd.Output()
			if err != nil {
				t.Fatalf("plistutil -i %s -o -: %v\n%s", path, err, stderr.Bytes())
			}
			if !bytes.HasPrefix(bin, []byte("bplist00")) {
				t.Fatalf("plistutil wrote %q…, want a binary property list", bin[:min(len(bin), 16)])
			}
			if d := cmp.Diff(parse(t, xml), parse(t, bin)); d != "" {
				t.Errorf("plistutil's reading differs (-ours +plistutil's):\n%s", d)
			}
		})
	}
}

// A wrong team id is refused, saying what a right one looks like.
func TestProfileTeamIDIsChecked(t *testing.T) {
	for _, id := range []string{"", "abcde12345", "ABCDE1234", "ABCDE123456", "ABCDE-1234", "ABCDE 1234", `ABCD"12345`, "ABCDE12345\n"} {
		t.Run(fmt.Sprintf("%q", id), func(t *testing.T) {
			_, err := Gatehouse(Config{TeamID: id})
			if err == nil || !strings.Contains(err.Error(), "10 capital letters and digits") {
				t.Errorf("Gatehouse(%q) = %v, want the team id refused", id, err)
			}
		})
	}
	if _, err := Gatehouse(Config{TeamID: testTeam, Organization: "Bad\x00Org"}); err == nil {
		t.Error("an organisation with a NUL was accepted")
	}
}

// Settings that Apple's schema would refuse are refused when the profile
// is built, not when an MDM or a Mac reads it.
func TestProfileSettingsAreChecked(t *testing.T) {
	req := DeveloperIDRequirement("com.example.app", testTeam)
	recv := &Receiver{Identifier: "com.apple.systemevents", IdentifierType: BundleID, CodeRequirement: systemEventsRequirement}
	tests := []struct {
		name string
		p    Profile
		want string
	}{
		{"AppleEvents without a receiver", profileWith(PrivacyPreferences{Grants: []Grant{{Service: AppleEvents, Identifier: "com.example.app", IdentifierType: BundleID, CodeRequirement: req, Allowed: true}}}), "needs its receiver"},
		{"a receiver outside AppleEvents", profileWith(PrivacyPreferences{Grants: []Grant{{Service: Accessibility, Identifier: "com.example.app", IdentifierType: BundleID, CodeRequirement: req, Allowed: true, Receiver: recv}}}), "only an AppleEvents grant"},
		{"no code requirement", profileWith(PrivacyPreferences{Grants: []Grant{{Service: Accessibility, Identifier: "com.example.app", IdentifierType: BundleID, Allowed: true}}}), "no code requirement"},
		{"an unknown identifier type", profileWith(PrivacyPreferences{Grants: []Grant{{Service: Accessibility, Identifier: "com.example.app", IdentifierType: "bundleId", CodeRequirement: req}}}), "identifier type"},
		{"a service not written here", profileWith(PrivacyPreferences{Grants: []Grant{{Service: "Camera", Identifier: "com.example.app", IdentifierType: BundleID, CodeRequirement: req}}}), "not one this package writes"},
		{"no grants", profileWith(PrivacyPreferences{}), "no entries"},
		{"an unknown alert style", profileWith(Notifications{Apps: []AppNotifications{{BundleIdentifier: "com.example.app", Alerts: 7}}}), "alert style 7"},
		{"an unknown rule type", profileWith(LoginItems{Rules: []Rule{{Type: "Path", Value: "/x"}}}), `rule type "Path"`},
		{"a rule without a value", profileWith(LoginItems{Rules: []Rule{{Type: RuleLabel}}}), "without a value"},
		{"a profile identifier that is not reverse DNS", Profile{Identifier: "gatehouse", Payloads: profileWith(LoginItems{}).Payloads}, "reverse-DNS"},
		{"a payload identifier used twice", Profile{Identifier: "com.example.p", Payloads: []Payload{
			{Identifier: "com.example.p.x", Settings: LoginItems{Rules: []Rule{{Type: RuleLabel, Value: "a"}}}},
			{Identifier: "com.example.p.x", Settings: LoginItems{Rules: []Rule{{Type: RuleLabel, Value: "b"}}}},
		}}, "used twice"},
		{"no payloads", Profile{Identifier: "com.example.p"}, "no payloads"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.p.Marshal()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Marshal() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func profileWith(s Settings) Profile {
	return Profile{Identifier: "com.example.p", Payloads: []Payload{{Identifier: "com.example.p.x", Settings: s}}}
}
