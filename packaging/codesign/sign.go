package codesign

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"howett.net/plist"

	"github.com/sassoftware/relic/v8/lib/fruit/csblob"
	"github.com/sassoftware/relic/v8/lib/fruit/machos"
)

// Entitlements is the XML property list of the entitlements given, as
// the signature carries them.
func Entitlements(e map[string]any) ([]byte, error) {
	if len(e) == 0 {
		return nil, nil
	}
	b, err := plist.MarshalIndent(e, plist.XMLFormat, "\t")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

const emptyEntitlements = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict/></plist>
`

// MachO is one program to sign.
type MachO struct {
	// Path is the thin Mach-O, signed in place (mode and times kept).
	Path string
	// Identifier names the code (the bundle id for a bundle's main
	// executable); code requirements match it.
	Identifier string
	// Entitlements is an XML property list, or nil for none.
	Entitlements []byte
	// InfoPlist and Resources are the bundle's Info.plist and seal the
	// signature binds, nil for a program outside a bundle.
	InfoPlist, Resources []byte
}

// SignMachO signs m with id: hardened runtime, m's entitlements, the
// requirement codesign would make (identifier, Apple anchor, the leaf's
// name and the Developer ID intermediate), the team from the
// certificate, SHA-256 page hashes, and a timestamp if id has a
// Timestamper. A signature already there (Go's linker signs ad hoc) is
// replaced.
func SignMachO(ctx context.Context, m MachO, id *Identity) error {
	if m.Identifier == "" {
		return fmt.Errorf("%s: no identifier to sign it as", m.Path)
	}
	f, err := os.Open(m.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	params := &csblob.SignatureParams{
		HashFunc:        hashFor,
		InfoPlist:       m.InfoPlist,
		Resources:       m.Resources,
		Flags:           csblob.FlagRuntime,
		Entitlement:     m.Entitlements,
		SigningIdentity: m.Identifier,
	}
	if params.Entitlement == nil {
		// An empty set rather than nil: nil would copy the old
		// signature's (an agent built by Xcode may carry
		// get-task-allow, which notarization refuses).
		params.Entitlement = []byte(emptyEntitlements)
	}
	patch, _, err := machos.Sign(ctx, f, id, params)
	if err != nil {
		return fmt.Errorf("signing %s: %w", m.Path, err)
	}
	tmp := m.Path + ".signing"
	if err := patch.Apply(f, tmp); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("signing %s: %w", m.Path, err)
	}
	if err := os.Chmod(tmp, info.Mode().Perm()); err != nil {
		return err
	}
	if err := os.Chtimes(tmp, info.ModTime(), info.ModTime()); err != nil {
		return err
	}
	return os.Rename(tmp, m.Path)
}

// Bundle is an application bundle to sign.
type Bundle struct {
	// Dir is the .app directory.
	Dir string
	// Entitlements is an XML property list, or nil for none.
	Entitlements []byte
	// ProvisioningProfile, if not nil, goes in as
	// Contents/embedded.provisionprofile before the bundle is sealed.
	ProvisioningProfile []byte
}

// SignBundle signs b inside out: the provisioning profile put in place,
// the resource seal (Contents/_CodeSignature/CodeResources) written over
// every other file, then the main executable (CFBundleExecutable) signed
// as CFBundleIdentifier with the Info.plist and the seal bound to its
// signature.
func SignBundle(ctx context.Context, b Bundle, id *Identity) error {
	contents := filepath.Join(b.Dir, "Contents")
	info, err := os.ReadFile(filepath.Join(contents, "Info.plist"))
	if err != nil {
		return fmt.Errorf("%s: %w", b.Dir, err)
	}
	bi, err := readBundleInfo(info)
	if err != nil {
		return fmt.Errorf("%s: %w", b.Dir, err)
	}
	mtime := time0(contents)
	if b.ProvisioningProfile != nil {
		if err := writeKeepingTime(filepath.Join(contents, "embedded.provisionprofile"), b.ProvisioningProfile, mtime); err != nil {
			return err
		}
	}
	seal, err := CodeResources(contents, "MacOS/"+bi.Executable)
	if err != nil {
		return err
	}
	sigDir := filepath.Join(contents, "_CodeSignature")
	if err := os.MkdirAll(sigDir, 0o755); err != nil {
		return err
	}
	if err := writeKeepingTime(filepath.Join(sigDir, "CodeResources"), seal, mtime); err != nil {
		return err
	}
	return SignMachO(ctx, MachO{
		Path:         filepath.Join(contents, "MacOS", bi.Executable),
		Identifier:   bi.ID,
		Entitlements: b.Entitlements,
		InfoPlist:    info,
		Resources:    seal,
	}, id)
}

type bundleInfo struct {
	ID         string `plist:"CFBundleIdentifier"`
	Executable string `plist:"CFBundleExecutable"`
}

func readBundleInfo(b []byte) (bundleInfo, error) {
	var bi bundleInfo
	if _, err := plist.Unmarshal(b, &bi); err != nil {
		return bi, fmt.Errorf("Info.plist: %w", err)
	}
	if bi.ID == "" || bi.Executable == "" || filepath.Base(bi.Executable) != bi.Executable {
		return bi, fmt.Errorf("Info.plist: CFBundleIdentifier and CFBundleExecutable (a file name in Contents/MacOS) are required")
	}
	return bi, nil
}

// time0 is path's modification time (the package's files share one).
func time0(path string) (t0 time.Time) {
	if fi, err := os.Stat(path); err == nil {
		t0 = fi.ModTime()
	}
	return t0
}

func writeKeepingTime(path string, b []byte, mtime time.Time) error {
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return err
	}
	if err := os.Chmod(path, 0o644); err != nil {
		return err
	}
	if mtime.IsZero() {
		return nil
	}
	return os.Chtimes(path, mtime, mtime)
}
