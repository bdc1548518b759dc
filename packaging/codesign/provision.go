package codesign

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"howett.net/plist"

	"github.com/sassoftware/relic/v8/lib/pkcs7"
)

// Profile is what Gatehouse reads of a provisioning profile (the
// .provisionprofile Apple's developer site issues: a CMS-signed property
// list): whose it is, for which app, what it grants, until when.
type Profile struct {
	Name         string         `plist:"Name"`
	TeamIDs      []string       `plist:"TeamIdentifier"`
	Entitlements map[string]any `plist:"Entitlements"`
	Expiration   time.Time      `plist:"ExpirationDate"`
}

// maxProfile bounds a provisioning profile (they are a few kilobytes).
const maxProfile = 1 << 20

// ParseProfile reads a provisioning profile. Its CMS signature (Apple's)
// is checked by macOS when the program starts, not here.
func ParseProfile(b []byte) (*Profile, error) {
	if len(b) > maxProfile {
		return nil, fmt.Errorf("provisioning profile: %d bytes, more than a profile is", len(b))
	}
	psd, err := pkcs7.Unmarshal(b)
	if err != nil {
		return nil, fmt.Errorf("provisioning profile: not CMS signed data: %w", err)
	}
	content, err := psd.Content.ContentInfo.Bytes()
	if err != nil {
		return nil, fmt.Errorf("provisioning profile: %w", err)
	}
	var p Profile
	if _, err := plist.Unmarshal(content, &p); err != nil {
		return nil, fmt.Errorf("provisioning profile: %w", err)
	}
	return &p, nil
}

// AppID is the application identifier the profile is for
// (TEAMID.bundle.id, or TEAMID.* for any of the team's).
func (p *Profile) AppID() string {
	s, _ := p.Entitlements["com.apple.application-identifier"].(string)
	return s
}

// Check says whether the profile can carry entitlement for the program
// bundleID signed by team, now: macOS refuses to start a program whose
// restricted entitlement its embedded profile does not grant.
func (p *Profile) Check(team, bundleID, entitlement string, now time.Time) error {
	name := fmt.Sprintf("provisioning profile %q", p.Name)
	if !slices.Contains(p.TeamIDs, team) {
		return fmt.Errorf("%s is team %s's, the signing certificate is team %s's", name, strings.Join(p.TeamIDs, ", "), team)
	}
	app := p.AppID()
	if app != team+"."+bundleID && app != team+".*" {
		return fmt.Errorf("%s is for %q, not %s.%s", name, app, team, bundleID)
	}
	if v, ok := p.Entitlements[entitlement]; !ok || v == false {
		return fmt.Errorf("%s does not grant %s; ask Apple for it and make a new profile with it", name, entitlement)
	}
	if !p.Expiration.IsZero() && now.After(p.Expiration) {
		return fmt.Errorf("%s expired on %s", name, p.Expiration.Format(time.DateOnly))
	}
	return nil
}
