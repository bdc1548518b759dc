package profiles

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/gatehouse/gatehouse/internal/launchjobs"
)

// Config is what differs from one organisation's profiles to another's.
type Config struct {
	// TeamID is the Apple Developer team that signs Gatehouse's programs:
	// the OU of its Developer ID Application certificate.
	TeamID string
	// Organization is each profile's PayloadOrganization, shown in System
	// Settings; "" is "Gatehouse".
	Organization string
}

// File is a profile and the name of the file it is written to.
type File struct {
	Name    string
	Profile Profile
}

// Identifiers of Gatehouse's profiles. Never change them: macOS and MDMs
// recognise an update by them (and by the UUIDs derived from them).
const (
	PPPCIdentifier          = "com.gatehouse.profile.pppc"
	NotificationsIdentifier = "com.gatehouse.profile.notifications"
	LoginItemsIdentifier    = "com.gatehouse.profile.loginitems"
)

// systemEventsRequirement is System Events' own designated requirement:
// Apple's code, named by its identifier (as the vendors' PPPC examples IT
// already deploys have it).
const systemEventsRequirement = `identifier "com.apple.systemevents" and anchor apple`

// teamID is an Apple Developer team identifier: ten capital letters and
// digits.
var teamID = regexp.MustCompile(`^[A-Z0-9]{10}$`)

// Gatehouse returns Gatehouse's three profiles, separate so that IT can
// scope and ship them on their own: PPPC and managed login items need a
// user-approved MDM, notification settings do not (docs/packaging.md).
// There is no system-extension policy among them: gatehoused is a
// LaunchDaemon, not a system extension (see the package doc).
//
// The code requirements assume each program's signing identifier is its
// bundle id, which codesign uses for a bundle unless told otherwise.
func Gatehouse(c Config) ([]File, error) {
	if !teamID.MatchString(c.TeamID) {
		return nil, fmt.Errorf("team id %q: want the 10 capital letters and digits of the Apple Developer team that signs Gatehouse (the OU of its Developer ID Application certificate; developer.apple.com shows it under Membership details)", c.TeamID)
	}
	org := c.Organization
	if org == "" {
		org = "Gatehouse"
	}
	if strings.ContainsFunc(org, unicode.IsControl) {
		return nil, fmt.Errorf("organization %q: control characters cannot go in a profile; give a plain name", org)
	}
	agentReq := DeveloperIDRequirement(launchjobs.AgentBundleID, c.TeamID)
	daemonReq := DeveloperIDRequirement(launchjobs.DaemonBundleID, c.TeamID)
	pppc := Profile{
		Identifier:   PPPCIdentifier,
		DisplayName:  "Gatehouse: privacy permissions",
		Description:  "Full Disk Access for the Gatehouse daemon, which Endpoint Security requires; Accessibility and control of System Events for the Gatehouse agent, which closes macOS's \"can't be opened\" alert about a program your organisation's policy stopped.",
		Organization: org,
		Payloads: []Payload{{
			Identifier:  PPPCIdentifier + ".tcc",
			DisplayName: "Privacy Preferences Policy Control",
			Settings: PrivacyPreferences{Grants: []Grant{
				{
					// gatehoused runs from an app-like bundle
					// (launchjobs.DaemonExecutable), so it is named by
					// bundle id, as the schema wants bundled programs.
					Service: SystemPolicyAllFiles, Identifier: launchjobs.DaemonBundleID, IdentifierType: BundleID,
					CodeRequirement: daemonReq, Allowed: true,
					Comment: "gatehoused: Endpoint Security clients need Full Disk Access",
				},
				{
					Service: Accessibility, Identifier: launchjobs.AgentBundleID, IdentifierType: BundleID,
					CodeRequirement: agentReq, Allowed: true,
					Comment: "the agent presses the Cancel button of macOS's \"can't be opened\" alert when Apple events are refused",
				},
				{
					Service: AppleEvents, Identifier: launchjobs.AgentBundleID, IdentifierType: BundleID,
					CodeRequirement: agentReq, Allowed: true,
					Comment:  "the agent closes macOS's \"can't be opened\" alert through System Events",
					Receiver: &Receiver{Identifier: "com.apple.systemevents", IdentifierType: BundleID, CodeRequirement: systemEventsRequirement},
				},
			}},
		}},
	}
	notif := Profile{
		Identifier:   NotificationsIdentifier,
		DisplayName:  "Gatehouse: notifications",
		Description:  "Shows the Gatehouse agent's notifications (requests answered, programs stopped) as alerts that stay until dealt with, with sound and badges.",
		Organization: org,
		Payloads: []Payload{{
			Identifier:  NotificationsIdentifier + ".settings",
			DisplayName: "Notifications",
			Settings: Notifications{Apps: []AppNotifications{{
				BundleIdentifier: launchjobs.AgentBundleID,
				Enabled:          true, ShowInNotificationCenter: true, ShowInLockScreen: true,
				Badges: true, Sounds: true,
				// Persistent: the agent's notifications carry buttons
				// (relaunch, request) and wait for an answer; a banner
				// that goes by itself hides them.
				Alerts: AlertsPersistent,
			}}},
		}},
	}
	// By launchd label, each constrained to the team: the jobs are plists
	// in /Library/LaunchDaemons and /Library/LaunchAgents, not
	// SMAppService items of an app. No rule for the whole team: it would
	// also lock on whatever else that team ships.
	login := Profile{
		Identifier:   LoginItemsIdentifier,
		DisplayName:  "Gatehouse: background items",
		Description:  "Keeps the Gatehouse daemon and agent allowed to run in the background; they cannot be switched off in Login Items settings.",
		Organization: org,
		Payloads: []Payload{{
			Identifier:  LoginItemsIdentifier + ".servicemanagement",
			DisplayName: "Managed Login Items",
			Settings: LoginItems{Rules: []Rule{
				{Type: RuleLabel, Value: launchjobs.DaemonLabel, TeamIdentifier: c.TeamID, Comment: "gatehoused's LaunchDaemon"},
				{Type: RuleLabel, Value: launchjobs.AgentLabel, TeamIdentifier: c.TeamID, Comment: "the agent's LaunchAgent"},
				{Type: RuleLabel, Value: launchjobs.SyncLabel, TeamIdentifier: c.TeamID, Comment: "the console sync's LaunchDaemon"},
			}},
		}},
	}
	return []File{
		{Name: "Gatehouse-PPPC.mobileconfig", Profile: pppc},
		{Name: "Gatehouse-Notifications.mobileconfig", Profile: notif},
		{Name: "Gatehouse-LoginItems.mobileconfig", Profile: login},
	}, nil
}

// DeveloperIDRequirement is the code requirement of a program whose
// signing identifier is identifier, signed with a Developer ID Application
// certificate of team teamID:
//
//   - anchor apple generic: the chain ends at Apple's root;
//   - certificate 1[field.1.2.840.113635.100.6.2.6]: the intermediate is
//     Apple's Developer ID CA (its marker extension);
//   - certificate leaf[field.1.2.840.113635.100.6.1.13]: the leaf is a
//     Developer ID Application certificate;
//   - certificate leaf[subject.OU]: of that team.
//
// That is the Developer ID branch of the designated requirement Apple's
// codesign makes (Security's drmaker.cpp), without the Mac App Store
// alternative (leaf 6.1.9) in front of it: Gatehouse is not sold there.
// The team id is quoted — always valid in the requirement language, and
// team ids may begin with a digit, which codesign -dr - prints quoted.
// identifier and teamID are not escaped: pass bundle ids and checked team
// ids only.
func DeveloperIDRequirement(identifier, teamID string) string {
	return `identifier "` + identifier + `" and anchor apple generic` +
		` and certificate 1[field.1.2.840.113635.100.6.2.6] /* exists */` +
		` and certificate leaf[field.1.2.840.113635.100.6.1.13] /* exists */` +
		` and certificate leaf[subject.OU] = "` + teamID + `"`
}
