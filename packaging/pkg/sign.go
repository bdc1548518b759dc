package pkg

import (
	"context"
	"path/filepath"
	"time"

	"github.com/gatehouse/gatehouse/packaging/codesign"
)

// Signing is how the payload's programs are signed.
type Signing struct {
	// App is the Developer ID Application identity.
	App *codesign.Identity
	// Profile is the provisioning profile that grants gatehoused the
	// Endpoint Security entitlement, embedded in Gatehoused.app.
	Profile []byte
	// Context bounds the signing (timestamp requests); nil is
	// context.Background().
	Context context.Context
}

// The identities and entitlements the programs are signed with
// (docs/packaging.md).
const (
	daemonID            = "com.gatehouse.gatehoused"
	agentID             = "com.gatehouse.agent"
	cliID               = "com.gatehouse.cli"
	entitlementES       = "com.apple.developer.endpoint-security.client"
	entitlementAppleEvt = "com.apple.security.automation.apple-events"
)

// sign signs the staged payload under root inside out: each bundle's
// resources sealed and its main executable signed, and the CLI on its
// own; hardened runtime everywhere.
func (s *Signing) sign(root string) error {
	ctx := s.Context
	if ctx == nil {
		ctx = context.Background()
	}
	team := codesign.TeamIDOf(s.App.Leaf)
	prof, err := codesign.ParseProfile(s.Profile)
	if err != nil {
		return err
	}
	if err := prof.Check(team, daemonID, entitlementES, time.Now()); err != nil {
		return err
	}
	// With a profile the entitlements name the app and team it is for:
	// macOS matches them against the profile's.
	daemonEnts, err := codesign.Entitlements(map[string]any{
		entitlementES:                         true,
		"com.apple.application-identifier":    team + "." + daemonID,
		"com.apple.developer.team-identifier": team,
	})
	if err != nil {
		return err
	}
	agentEnts, err := codesign.Entitlements(map[string]any{entitlementAppleEvt: true})
	if err != nil {
		return err
	}
	bundles := []codesign.Bundle{
		{Dir: filepath.Join(root, "Library", "Gatehouse", "Gatehoused.app"), Entitlements: daemonEnts, ProvisioningProfile: s.Profile},
		{Dir: filepath.Join(root, "Applications", "Gatehouse.app"), Entitlements: agentEnts},
	}
	for _, b := range bundles {
		if err := codesign.SignBundle(ctx, b, s.App); err != nil {
			return err
		}
	}
	if err := codesign.SignMachO(ctx, codesign.MachO{Path: filepath.Join(root, "Library", "Gatehouse", "bin", "gatehouse"), Identifier: cliID}, s.App); err != nil {
		return err
	}
	return nil
}

// SignedPrograms are the payload's signed programs (relative to /) and
// how each is signed, for checking a built package.
var SignedPrograms = []struct {
	Path, Identifier, Entitlement string
	Bundle                        bool
}{
	{"Library/Gatehouse/Gatehoused.app", daemonID, entitlementES, true},
	{"Applications/Gatehouse.app", agentID, entitlementAppleEvt, true},
	{"Library/Gatehouse/bin/gatehouse", cliID, "", false},
}
