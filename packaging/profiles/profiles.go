// Package profiles builds the configuration profiles (.mobileconfig files)
// that IT deploys with an MDM, so that macOS grants Gatehouse what it would
// otherwise ask a user or an admin for (docs/packaging.md):
//
//   - Gatehouse-PPPC (com.apple.TCC.configuration-profile-policy): Full Disk
//     Access for gatehoused, without which es_new_client fails with "not
//     permitted"; Accessibility for the agent; and the agent's AppleEvents to
//     System Events, through which it closes macOS's "can't be opened" alert;
//   - Gatehouse-Notifications (com.apple.notificationsettings): the agent's
//     notifications on, as alerts that stay, with sound and badges;
//   - Gatehouse-LoginItems (com.apple.servicemanagement): gatehoused's
//     LaunchDaemon and the agent's LaunchAgent managed, so they are allowed
//     in the background and users cannot switch them off.
//
// Each program is named by its bundle identifier (internal/launchjobs) and
// pinned by a code requirement on the Developer ID certificate of the given
// team, so a look-alike signed by anyone else gets nothing.
//
// What it does not build: a system-extension policy
// (com.apple.system-extension-policy). gatehoused is a LaunchDaemon that
// holds the Endpoint Security entitlement itself, not a system extension,
// so that payload would have nothing to allow. Nor does it install
// anything: PPPC and managed login items take effect only when a
// user-approved MDM installs them, and macOS ignores them in a profile
// installed by hand ([Profile.UserApprovedMDM] says whether a profile
// has such a payload).
//
// A profile is an XML property list written with howett.net/plist, the same
// bytes for the same inputs: every PayloadUUID is a name-based (SHA-1,
// version 5) UUID of the identifier beside it, so a regenerated profile is,
// to an MDM and to macOS, the same profile updated rather than a new one.
// [Signer] wraps a profile in CMS SignedData (relic's lib/pkcs7) when IT
// wants it signed.
package profiles

import (
	"crypto/sha1"
	"errors"
	"fmt"
	"regexp"

	"howett.net/plist"
)

// Profile is one configuration profile: the outer dictionary (PayloadType
// Configuration, PayloadScope System) and its payloads.
type Profile struct {
	// Identifier is the profile's reverse-DNS PayloadIdentifier: macOS
	// replaces an installed profile with the same one. Its PayloadUUID is
	// derived from it.
	Identifier   string
	DisplayName  string
	Description  string
	Organization string
	Payloads     []Payload
}

// Payload is one dictionary of the profile's PayloadContent.
type Payload struct {
	// Identifier is the payload's reverse-DNS PayloadIdentifier, unique in
	// its profile; its PayloadUUID is derived from it.
	Identifier  string
	DisplayName string
	Description string
	Settings    Settings
}

// Settings are a payload's own keys: [PrivacyPreferences],
// [Notifications] or [LoginItems].
type Settings interface {
	// PayloadType is the payload's PayloadType.
	PayloadType() string
	// UserApprovedMDM reports whether macOS applies the payload only when
	// a user-approved MDM installs it (and ignores it installed by hand).
	UserApprovedMDM() bool
	// keys returns the payload's own keys, checked.
	keys() (map[string]any, error)
}

// reverseDNS is what this package accepts as a payload identifier: labels
// of letters, digits and hyphens, separated by dots.
var reverseDNS = regexp.MustCompile(`^[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$`)

// UserApprovedMDM reports whether any of p's payloads takes effect only
// through a user-approved MDM.
func (p Profile) UserApprovedMDM() bool {
	for _, pl := range p.Payloads {
		if pl.Settings != nil && pl.Settings.UserApprovedMDM() {
			return true
		}
	}
	return false
}

// Marshal returns p as an XML property list, the contents of a .mobileconfig.
func (p Profile) Marshal() ([]byte, error) {
	d, err := p.dict()
	if err != nil {
		return nil, err
	}
	b, err := plist.MarshalIndent(d, plist.XMLFormat, "\t")
	if err != nil {
		return nil, fmt.Errorf("profile %s: %w", p.Identifier, err)
	}
	return append(b, '\n'), nil
}

func (p Profile) dict() (map[string]any, error) {
	if !reverseDNS.MatchString(p.Identifier) {
		return nil, fmt.Errorf("profile identifier %q: want a reverse-DNS name such as com.example.gatehouse", p.Identifier)
	}
	if len(p.Payloads) == 0 {
		return nil, fmt.Errorf("profile %s: no payloads", p.Identifier)
	}
	seen := map[string]bool{p.Identifier: true}
	content := make([]any, 0, len(p.Payloads))
	for _, pl := range p.Payloads {
		if !reverseDNS.MatchString(pl.Identifier) {
			return nil, fmt.Errorf("profile %s: payload identifier %q: want a reverse-DNS name", p.Identifier, pl.Identifier)
		}
		// CommonPayloadKeys: "This string must be unique within the
		// profile" — and the UUIDs derive from it.
		if seen[pl.Identifier] {
			return nil, fmt.Errorf("profile %s: identifier %s used twice", p.Identifier, pl.Identifier)
		}
		seen[pl.Identifier] = true
		if pl.Settings == nil {
			return nil, fmt.Errorf("profile %s: payload %s has no settings", p.Identifier, pl.Identifier)
		}
		d, err := pl.Settings.keys()
		if err != nil {
			return nil, fmt.Errorf("profile %s: payload %s: %w", p.Identifier, pl.Identifier, err)
		}
		d["PayloadType"] = pl.Settings.PayloadType()
		d["PayloadIdentifier"] = pl.Identifier
		d["PayloadUUID"] = UUID(pl.Identifier)
		d["PayloadVersion"] = 1
		setIf(d, "PayloadDisplayName", pl.DisplayName)
		setIf(d, "PayloadDescription", pl.Description)
		setIf(d, "PayloadOrganization", p.Organization)
		content = append(content, d)
	}
	d := map[string]any{
		"PayloadType":       "Configuration",
		"PayloadIdentifier": p.Identifier,
		"PayloadUUID":       UUID(p.Identifier),
		"PayloadVersion":    1,
		// Installed for the machine, not for the user who happens to be
		// logged in: PPPC and managed login items exist only there.
		"PayloadScope":   "System",
		"PayloadContent": content,
	}
	setIf(d, "PayloadDisplayName", p.DisplayName)
	setIf(d, "PayloadDescription", p.Description)
	setIf(d, "PayloadOrganization", p.Organization)
	return d, nil
}

func setIf(d map[string]any, key, value string) {
	if value != "" {
		d[key] = value
	}
}

// namespace is the UUID namespace of every PayloadUUID this package makes.
// Never change it: every UUID would change with it, and MDMs would take
// the regenerated profiles for new ones next to the old.
var namespace = [16]byte{0x4a, 0xca, 0xeb, 0x8a, 0x08, 0x98, 0x4b, 0x9a, 0xa5, 0x7f, 0x5c, 0x5b, 0x95, 0x69, 0xed, 0x65}

// UUID is the PayloadUUID of identifier: a version 5 (SHA-1, name-based)
// UUID in this package's namespace, upper case as uuidgen prints it.
func UUID(identifier string) string {
	return uuid5(namespace, identifier)
}

// uuid5 is RFC 9562's version 5 UUID of name in namespace ns.
func uuid5(ns [16]byte, name string) string {
	h := sha1.New()
	h.Write(ns[:])
	h.Write([]byte(name))
	var u [16]byte
	copy(u[:], h.Sum(nil))
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // variant 10
	return fmt.Sprintf("%X-%X-%X-%X-%X", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// errNoEntries is returned by settings with nothing in them.
var errNoEntries = errors.New("no entries")
