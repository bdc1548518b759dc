package profiles

import (
	"fmt"
)

// PrivacyPreferences is a Privacy Preferences Policy Control payload
// (com.apple.TCC.configuration-profile-policy): access to privacy-protected
// services granted (or denied) to programs, which neither the user nor an
// admin is then asked about or can change. macOS applies it only from a
// user-approved MDM.
type PrivacyPreferences struct {
	Grants []Grant
}

// Service is a TCC service: a key of the payload's Services dictionary.
// Only those Gatehouse needs are defined.
type Service string

const (
	// Accessibility: controlling other programs through the Accessibility
	// API (the agent's fallback for pressing the alert's button).
	Accessibility Service = "Accessibility"
	// AppleEvents: sending Apple events to another program (the agent's
	// script through System Events); each grant names its receiver.
	AppleEvents Service = "AppleEvents"
	// SystemPolicyAllFiles: Full Disk Access, which Endpoint Security
	// requires of its clients.
	SystemPolicyAllFiles Service = "SystemPolicyAllFiles"
)

// IdentifierType says what an identifier is: Apple's schema wants bundled
// programs named by bundle ID and others by path.
type IdentifierType string

const (
	BundleID IdentifierType = "bundleID"
	Path     IdentifierType = "path"
)

// Grant is one identity dictionary of a service: the program, the code
// requirement it must satisfy, and the answer.
type Grant struct {
	Service         Service
	Identifier      string
	IdentifierType  IdentifierType
	CodeRequirement string
	Allowed         bool
	Comment         string
	// Receiver is the program receiving the Apple events: required for
	// AppleEvents, not valid for the other services.
	Receiver *Receiver
}

// Receiver is the target of an AppleEvents grant.
type Receiver struct {
	Identifier      string
	IdentifierType  IdentifierType
	CodeRequirement string
}

func (PrivacyPreferences) PayloadType() string   { return "com.apple.TCC.configuration-profile-policy" }
func (PrivacyPreferences) UserApprovedMDM() bool { return true }

func (p PrivacyPreferences) keys() (map[string]any, error) {
	if len(p.Grants) == 0 {
		return nil, fmt.Errorf("privacy preferences: %w", errNoEntries)
	}
	services := map[string]any{}
	for _, g := range p.Grants {
		d, err := g.dict()
		if err != nil {
			return nil, fmt.Errorf("%s grant to %s: %w", g.Service, g.Identifier, err)
		}
		list, _ := services[string(g.Service)].([]any)
		services[string(g.Service)] = append(list, d)
	}
	return map[string]any{"Services": services}, nil
}

func (g Grant) dict() (map[string]any, error) {
	switch g.Service {
	case Accessibility, AppleEvents, SystemPolicyAllFiles:
	default:
		return nil, fmt.Errorf("service %q: not one this package writes", g.Service)
	}
	if err := checkIdentity(g.Identifier, g.IdentifierType, g.CodeRequirement); err != nil {
		return nil, err
	}
	// Allowed, not its replacement Authorization (macOS 11): the schema
	// marks Allowed required and forbids both together, and Allowed is
	// what every macOS reads. A boolean, as Apple's schema types it — not
	// the integer 1 that some vendors' examples carry.
	d := map[string]any{
		"Identifier":      g.Identifier,
		"IdentifierType":  string(g.IdentifierType),
		"CodeRequirement": g.CodeRequirement,
		"Allowed":         g.Allowed,
	}
	setIf(d, "Comment", g.Comment)
	switch {
	case g.Service == AppleEvents && g.Receiver == nil:
		return nil, fmt.Errorf("an AppleEvents grant needs its receiver")
	case g.Service != AppleEvents && g.Receiver != nil:
		return nil, fmt.Errorf("only an AppleEvents grant has a receiver")
	case g.Receiver != nil:
		r := g.Receiver
		if err := checkIdentity(r.Identifier, r.IdentifierType, r.CodeRequirement); err != nil {
			return nil, fmt.Errorf("receiver: %w", err)
		}
		d["AEReceiverIdentifier"] = r.Identifier
		d["AEReceiverIdentifierType"] = string(r.IdentifierType)
		d["AEReceiverCodeRequirement"] = r.CodeRequirement
	}
	return d, nil
}

func checkIdentity(id string, t IdentifierType, req string) error {
	switch {
	case id == "":
		return fmt.Errorf("no identifier")
	case t != BundleID && t != Path:
		return fmt.Errorf("identifier type %q: want %q or %q", t, BundleID, Path)
	case req == "":
		// TCC matches the running program against it; without one any
		// program with that bundle id or path would do.
		return fmt.Errorf("no code requirement for %s", id)
	}
	return nil
}

// Notifications is a notification settings payload
// (com.apple.notificationsettings): how each app's notifications are
// shown, enforced (the user cannot change them). It also applies from a
// profile installed by hand.
type Notifications struct {
	Apps []AppNotifications
}

// AppNotifications are one app's notification settings.
type AppNotifications struct {
	BundleIdentifier         string
	Enabled                  bool
	ShowInNotificationCenter bool
	ShowInLockScreen         bool
	Badges                   bool
	Sounds                   bool
	// Alerts is the alert style; unset leaves macOS's default (banners
	// that go away by themselves).
	Alerts AlertStyle
}

// AlertStyle is how a notification is presented. Ours start at one (zero
// is unset); Apple's AlertType values are what [AlertStyle.appleValue]
// returns.
type AlertStyle int

const (
	// AlertsNone: no banner or alert (AlertType 0).
	AlertsNone AlertStyle = iota + 1
	// AlertsBanner: a banner that goes away by itself (AlertType 1).
	AlertsBanner
	// AlertsPersistent: an alert that stays until the user acts on it,
	// buttons showing — "Alerts" in System Settings (AlertType 2).
	AlertsPersistent
)

func (s AlertStyle) appleValue() (int, bool) {
	switch s {
	case AlertsNone:
		return 0, true
	case AlertsBanner:
		return 1, true
	case AlertsPersistent:
		return 2, true
	}
	return 0, false
}

func (Notifications) PayloadType() string   { return "com.apple.notificationsettings" }
func (Notifications) UserApprovedMDM() bool { return false }

func (n Notifications) keys() (map[string]any, error) {
	if len(n.Apps) == 0 {
		return nil, fmt.Errorf("notification settings: %w", errNoEntries)
	}
	var list []any
	for _, a := range n.Apps {
		if a.BundleIdentifier == "" {
			return nil, fmt.Errorf("notification settings without a bundle identifier")
		}
		// Every flag written out, though most default to true: what the
		// profile enforces is then read in the profile, not in Apple's
		// defaults.
		d := map[string]any{
			"BundleIdentifier":         a.BundleIdentifier,
			"NotificationsEnabled":     a.Enabled,
			"ShowInNotificationCenter": a.ShowInNotificationCenter,
			"ShowInLockScreen":         a.ShowInLockScreen,
			"BadgesEnabled":            a.Badges,
			"SoundsEnabled":            a.Sounds,
		}
		if a.Alerts != 0 {
			v, ok := a.Alerts.appleValue()
			if !ok {
				return nil, fmt.Errorf("%s: alert style %d unknown", a.BundleIdentifier, a.Alerts)
			}
			d["AlertType"] = v
		}
		list = append(list, d)
	}
	return map[string]any{"NotificationSettings": list}, nil
}

// LoginItems is a managed login items payload
// (com.apple.servicemanagement, macOS 13): the login items, LaunchAgents
// and LaunchDaemons its rules match are enabled and allowed in the
// background, and users cannot switch them off in Login Items settings.
// macOS applies it only from a user-approved MDM.
type LoginItems struct {
	Rules []Rule
}

// Rule matches login items by one of their values.
type Rule struct {
	Type  RuleType
	Value string
	// TeamIdentifier, when set, is checked after Type and Value matched:
	// the item must also be signed by that team.
	TeamIdentifier string
	Comment        string
}

// RuleType is what a rule compares, in Apple's spelling.
type RuleType string

const (
	RuleBundleIdentifier       RuleType = "BundleIdentifier"
	RuleBundleIdentifierPrefix RuleType = "BundleIdentifierPrefix"
	RuleLabel                  RuleType = "Label"
	RuleLabelPrefix            RuleType = "LabelPrefix"
	RuleTeamIdentifier         RuleType = "TeamIdentifier"
)

func (LoginItems) PayloadType() string   { return "com.apple.servicemanagement" }
func (LoginItems) UserApprovedMDM() bool { return true }

func (l LoginItems) keys() (map[string]any, error) {
	if len(l.Rules) == 0 {
		return nil, fmt.Errorf("login items: %w", errNoEntries)
	}
	var rules []any
	for _, r := range l.Rules {
		switch r.Type {
		case RuleBundleIdentifier, RuleBundleIdentifierPrefix, RuleLabel, RuleLabelPrefix, RuleTeamIdentifier:
		default:
			return nil, fmt.Errorf("login item rule type %q unknown", r.Type)
		}
		if r.Value == "" {
			return nil, fmt.Errorf("login item rule %s without a value", r.Type)
		}
		d := map[string]any{"RuleType": string(r.Type), "RuleValue": r.Value}
		setIf(d, "TeamIdentifier", r.TeamIdentifier)
		setIf(d, "Comment", r.Comment)
		rules = append(rules, d)
	}
	return map[string]any{"Rules": rules}, nil
}
