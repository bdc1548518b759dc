package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/gatehouse/gatehouse/packaging/profiles"
)

// cmdProfile writes the macOS configuration profiles IT deploys with an
// MDM (packaging/profiles, docs/packaging.md):
//
//	gatehouse-pkg profile --team-id TEAMID [--org NAME] [--out dist] [--sign-cert cert.pem --sign-key key.pem]
//
// Gatehouse-PPPC.mobileconfig, Gatehouse-Notifications.mobileconfig and
// Gatehouse-LoginItems.mobileconfig, in --out; signed (CMS, DER) when a
// certificate and key are given. Runs anywhere: nothing is built.
func cmdProfile(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gatehouse-pkg profile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	team := fs.String("team-id", "", "the Apple Developer team that signs Gatehouse: 10 capital letters and digits (required)")
	org := fs.String("org", "", "the organisation the profiles name (default Gatehouse)")
	out := fs.String("out", "dist", "where the .mobileconfig files go")
	certFile := fs.String("sign-cert", "", "sign the profiles with this PEM certificate (intermediates may follow it); needs --sign-key")
	keyFile := fs.String("sign-key", "", "the unencrypted PEM private key of --sign-cert")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "gatehouse-pkg profile: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *team == "" {
		fmt.Fprintln(stderr, "gatehouse-pkg profile: --team-id is required: the team id of the Developer ID certificate that signs Gatehouse (codesign -dv shows it as TeamIdentifier)")
		return 2
	}
	if (*certFile == "") != (*keyFile == "") {
		fmt.Fprintln(stderr, "gatehouse-pkg profile: give --sign-cert and --sign-key together, or neither for unsigned profiles")
		return 2
	}
	files, err := profiles.Gatehouse(profiles.Config{TeamID: *team, Organization: *org})
	if err != nil {
		fmt.Fprintln(stderr, "gatehouse-pkg profile:", err)
		return 2
	}
	var signer *profiles.Signer
	if *certFile != "" {
		if signer, err = loadSigner(*certFile, *keyFile); err != nil {
			fmt.Fprintln(stderr, "gatehouse-pkg profile:", err)
			return 1
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(stderr, "gatehouse-pkg profile:", err)
		return 1
	}
	now := time.Now()
	for _, f := range files {
		b, err := f.Profile.Marshal()
		if err == nil && signer != nil {
			b, err = signer.Sign(b, now)
		}
		if err != nil {
			fmt.Fprintln(stderr, "gatehouse-pkg profile:", err)
			return 1
		}
		path := filepath.Join(*out, f.Name)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			fmt.Fprintln(stderr, "gatehouse-pkg profile:", err)
			return 1
		}
		fmt.Fprintln(stdout, path)
		if f.Profile.UserApprovedMDM() {
			fmt.Fprintf(stderr, "gatehouse-pkg: %s takes effect only when a user-approved MDM installs it; installed by hand, macOS ignores it\n", f.Name)
		}
	}
	if signer != nil {
		fmt.Fprintf(stderr, "gatehouse-pkg: signed by %q\n", signer.Certificate().Subject.String())
	}
	return 0
}

func loadSigner(certFile, keyFile string) (*profiles.Signer, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("read --sign-cert: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("read --sign-key: %w", err)
	}
	s, err := profiles.LoadSigner(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("%s, %s: %w", certFile, keyFile, err)
	}
	return s, nil
}
