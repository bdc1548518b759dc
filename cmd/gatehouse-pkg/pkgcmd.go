package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/packaging/codesign"
	"github.com/gatehouse/gatehouse/packaging/pkg"
)

// appleTimestamp is Apple's time-stamping server, which codesign and
// productsign use; notarization requires a secure timestamp.
const appleTimestamp = "http://timestamp.apple.com/ts01"

// identityFlags are the flags naming one signing identity: a .p12 and
// the environment variable holding its password, a PEM certificate and
// key, or a key on the PKCS#11 token (tokenFlags) with its certificate.
type identityFlags struct {
	p12, passwordEnv, cert, key, tokenKey string
}

// tokenFlags name the PKCS#11 token both identities' keys may be on.
type tokenFlags struct {
	module, label, pinEnv string
}

func (f *tokenFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.module, "pkcs11-module", "", "the PKCS#11 library of the token holding the keys (an HSM's, libykcs11 for a YubiKey, libsofthsm2.so)")
	fs.StringVar(&f.label, "pkcs11-token", "", "the token's label (default: the module's only token)")
	fs.StringVar(&f.pinEnv, "pkcs11-pin-env", "GATEHOUSE_PKCS11_PIN", "the environment variable holding the token's user PIN")
}

func (f *identityFlags) register(fs *flag.FlagSet, prefix, what, env string) {
	fs.StringVar(&f.p12, prefix+"-p12", "", "the "+what+" identity, a .p12 (PKCS#12) file")
	fs.StringVar(&f.passwordEnv, prefix+"-password-env", env, "the environment variable holding the .p12's password")
	fs.StringVar(&f.cert, prefix+"-cert", "", "or: the "+what+" certificate, PEM, its intermediate after it")
	fs.StringVar(&f.key, prefix+"-key", "", "and its private key, PEM, unencrypted")
	fs.StringVar(&f.tokenKey, prefix+"-pkcs11-key", "", "or: the label of the "+what+" private key on the PKCS#11 token (--pkcs11-module), with --"+prefix+"-cert")
}

func (f *identityFlags) given() bool {
	return f.p12 != "" || f.cert != "" || f.key != "" || f.tokenKey != ""
}

func (f *identityFlags) load(flagPrefix string, kind codesign.Kind, tok tokenFlags) (*codesign.Identity, error) {
	switch {
	case f.tokenKey != "" && (f.p12 != "" || f.key != ""):
		return nil, fmt.Errorf("--%s-pkcs11-key is a key on the token: give it with --%s-cert, without --%s-p12 or --%s-key", flagPrefix, flagPrefix, flagPrefix, flagPrefix)
	case f.tokenKey != "":
		if tok.module == "" {
			return nil, fmt.Errorf("--%s-pkcs11-key needs --pkcs11-module, the token's PKCS#11 library", flagPrefix)
		}
		if f.cert == "" {
			return nil, fmt.Errorf("--%s-pkcs11-key needs --%s-cert: the key's certificate, PEM, its intermediate after it (tokens often hold the key alone)", flagPrefix, flagPrefix)
		}
		pin, ok := os.LookupEnv(tok.pinEnv)
		if !ok {
			return nil, fmt.Errorf("--%s-pkcs11-key %s: put the token's PIN in $%s (not on the command line, where other users see it)", flagPrefix, f.tokenKey, tok.pinEnv)
		}
		return codesign.LoadToken(codesign.Token{Module: tok.module, Label: tok.label, PIN: pin}, f.tokenKey, f.cert, kind)
	case f.p12 != "" && (f.cert != "" || f.key != ""):
		return nil, fmt.Errorf("--%s-p12 or --%s-cert and --%s-key, not both", flagPrefix, flagPrefix, flagPrefix)
	case f.p12 != "":
		pw, ok := os.LookupEnv(f.passwordEnv)
		if !ok {
			return nil, fmt.Errorf("--%s-p12 %s: put its password in $%s (not on the command line, where other users see it)", flagPrefix, f.p12, f.passwordEnv)
		}
		return codesign.LoadP12(f.p12, pw, kind)
	case f.cert != "" && f.key != "":
		return codesign.LoadPEM(f.cert, f.key, kind)
	default:
		return nil, fmt.Errorf("--%s-cert and --%s-key go together (or --%s-cert and --%s-pkcs11-key)", flagPrefix, flagPrefix, flagPrefix, flagPrefix)
	}
}

// cmdPkg: gatehouse-pkg pkg builds the flat product archive, signed if
// given the identities.
func cmdPkg(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("gatehouse-pkg pkg", flag.ContinueOnError)
	fs.SetOutput(stderr)
	version := fs.String("version", "", "the package's version, e.g. 1.2.0 (default: 0.0.0)")
	arch := fs.String("arch", "arm64", "arm64 or amd64")
	out := fs.String("out", "dist", "where the .pkg goes")
	agent := fs.String("agent", "", "a gatehouse-agent built on a Mac (default: a stand-in that says it is one)")
	var app, inst identityFlags
	app.register(fs, "sign", "Developer ID Application", "GATEHOUSE_SIGN_PASSWORD")
	inst.register(fs, "installer", "Developer ID Installer", "GATEHOUSE_INSTALLER_PASSWORD")
	var tok tokenFlags
	tok.register(fs)
	profile := fs.String("provisioning-profile", "", "the provisioning profile granting com.gatehouse.gatehoused the Endpoint Security entitlement")
	tsURL := fs.String("timestamp-url", appleTimestamp, `the RFC 3161 time-stamping server signatures are stamped by ("none": no timestamp, and no notarization)`)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || (*arch != "arm64" && *arch != "amd64") {
		fmt.Fprintln(stderr, "gatehouse-pkg pkg: flags only; --arch is arm64 or amd64")
		return 2
	}
	fail := func(err error) int {
		fmt.Fprintln(stderr, "gatehouse-pkg pkg:", err)
		return 1
	}
	if _, err := os.Stat("go.mod"); err != nil {
		return fail(errors.New("run it from the repository's top directory (where go.mod is)"))
	}
	if *version == "" {
		*version = "0.0.0"
	}
	// The identities first: a mistake there is found before minutes of
	// building.
	var sign *pkg.Signing
	var installer *codesign.Identity
	if app.given() || inst.given() || *profile != "" {
		var missing []string
		if !app.given() {
			missing = append(missing, "--sign-p12 (or --sign-cert and --sign-key or --sign-pkcs11-key)")
		}
		if !inst.given() {
			missing = append(missing, "--installer-p12 (or --installer-cert and --installer-key or --installer-pkcs11-key)")
		}
		if *profile == "" {
			missing = append(missing, "--provisioning-profile")
		}
		if len(missing) > 0 {
			return fail(fmt.Errorf("a signed package needs %s too", strings.Join(missing, ", ")))
		}
		id, err := app.load("sign", codesign.Application, tok)
		if err != nil {
			return fail(err)
		}
		if installer, err = inst.load("installer", codesign.Installer, tok); err != nil {
			return fail(err)
		}
		if a, i := codesign.TeamIDOf(id.Leaf), codesign.TeamIDOf(installer.Leaf); a != i {
			return fail(fmt.Errorf("the application identity is team %s's, the installer identity team %s's", a, i))
		}
		prof, err := os.ReadFile(*profile)
		if err != nil {
			return fail(err)
		}
		if *tsURL != "none" {
			id.Timestamper = codesign.Timestamper{URL: *tsURL}
			installer.Timestamper = codesign.Timestamper{URL: *tsURL}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		sign = &pkg.Signing{App: id, Profile: prof, Context: ctx}
		fmt.Fprintf(stderr, "gatehouse-pkg: signing as %q and %q (team %s)\n", id.Leaf.Subject.CommonName, installer.Leaf.Subject.CommonName, codesign.TeamIDOf(id.Leaf))
	}

	tmp, err := os.MkdirTemp("", "gatehouse-pkg-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(tmp)
	p := pkg.Product{Version: *version, Root: ".", MTime: sourceDate(), Sign: sign,
		Daemon: filepath.Join(tmp, "gatehoused"), CLI: filepath.Join(tmp, "gatehouse"), Agent: *agent}
	builds := []struct{ out, pkg string }{{p.Daemon, "./cmd/gatehoused"}, {p.CLI, "./cmd/gatehouse"}}
	if p.Agent == "" {
		p.Agent = filepath.Join(tmp, "gatehouse-agent")
		builds = append(builds, struct{ out, pkg string }{p.Agent, "./cmd/gatehouse-pkg/agent-standin"})
	}
	for _, b := range builds {
		fmt.Fprintf(stderr, "gatehouse-pkg: building %s (%s) for darwin/%s\n", filepath.Base(b.out), b.pkg, *arch)
		start := time.Now()
		if err := (goBuild{out: b.out, pkg: b.pkg}).runFor("darwin", *arch, *version); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stderr, "gatehouse-pkg: built %s in %s\n", filepath.Base(b.out), time.Since(start).Round(100*time.Millisecond))
	}
	if *agent == "" {
		fmt.Fprintln(stderr, "gatehouse-pkg: the agent is a stand-in (build it on a Mac and pass --agent)")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fail(err)
	}
	name := fmt.Sprintf("Gatehouse-%s-%s.pkg", *version, *arch)
	if sign == nil {
		name = fmt.Sprintf("Gatehouse-%s-%s-unsigned.pkg", *version, *arch)
	}
	dst := filepath.Join(*out, name)
	if err := writePkg(p, installer, tmp, dst, stderr); err != nil {
		return fail(err)
	}
	fmt.Fprintln(stdout, dst)
	return 0
}

// writePkg builds p and, with an installer identity, signs the product,
// then puts the package at dst: nothing is left at dst unless all of it
// worked.
func writePkg(p pkg.Product, installer *codesign.Identity, tmp, dst string, stderr io.Writer) error {
	unsigned := filepath.Join(tmp, "unsigned.pkg")
	f, err := os.Create(unsigned)
	if err != nil {
		return err
	}
	if p.Sign != nil {
		fmt.Fprintln(stderr, "gatehouse-pkg: signing the programs (hardened runtime, entitlements, resource seals)")
	}
	err = pkg.Build(p, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	final := unsigned
	if installer != nil {
		fmt.Fprintln(stderr, "gatehouse-pkg: signing the package")
		final = filepath.Join(tmp, "signed.pkg")
		ctx := p.Sign.Context
		if err := codesign.SignProduct(ctx, unsigned, final, installer); err != nil {
			return err
		}
	}
	part, err := os.CreateTemp(filepath.Dir(dst), ".pkg-*")
	if err != nil {
		return err
	}
	defer os.Remove(part.Name())
	in, err := os.Open(final)
	if err != nil {
		part.Close()
		return err
	}
	_, err = io.Copy(part, in)
	in.Close()
	if cerr := part.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(part.Name(), 0o644)
	}
	if err != nil {
		return err
	}
	return os.Rename(part.Name(), dst)
}
