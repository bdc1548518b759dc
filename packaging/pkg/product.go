package pkg

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"howett.net/plist"

	"github.com/gatehouse/gatehouse/packaging/bom"
	"github.com/gatehouse/gatehouse/packaging/xar"
)

// Product is what goes into Gatehouse's flat product archive: the darwin
// programs and the repository they are packaged from.
type Product struct {
	Version string
	// Daemon, CLI and Agent are the built programs. The agent (Wails,
	// cgo) is built on a Mac; a package built elsewhere carries a
	// stand-in the caller marks as one.
	Daemon, CLI, Agent string
	// Root is the repository (build/darwin, build/linux/debian).
	Root string
	// MTime is every file's time (the commit's, for reproducible builds).
	MTime time.Time
	// Sign, if not nil, signs every program in the payload before it is
	// archived (Sign.go). The product signature over the archive is the
	// caller's next step (codesign.SignProduct).
	Sign *Signing
}

// Component identifiers and names in the product archive.
const (
	componentID   = "com.gatehouse.pkg.gatehouse"
	componentName = "gatehouse.pkg"
	minMacOS      = "13.0"
)

// stagedFile is one file of the payload: where it comes from, where it is
// installed (relative to /), its mode, and an Info.plist whose versions
// are set to the product's.
type stagedFile struct {
	src, dst  string
	mode      os.FileMode
	infoPlist bool
}

func (p Product) layout() []stagedFile {
	darwin := filepath.Join(p.Root, "build", "darwin")
	return []stagedFile{
		{src: p.Agent, dst: "Applications/Gatehouse.app/Contents/MacOS/gatehouse-agent", mode: 0o755},
		{src: filepath.Join(darwin, "Info.plist"), dst: "Applications/Gatehouse.app/Contents/Info.plist", mode: 0o644, infoPlist: true},
		{src: p.Daemon, dst: "Library/Gatehouse/Gatehoused.app/Contents/MacOS/gatehoused", mode: 0o755},
		{src: filepath.Join(darwin, "Gatehoused-Info.plist"), dst: "Library/Gatehouse/Gatehoused.app/Contents/Info.plist", mode: 0o644, infoPlist: true},
		{src: p.CLI, dst: "Library/Gatehouse/bin/gatehouse", mode: 0o755},
		{src: filepath.Join(darwin, "gatehoused.yaml"), dst: "Library/Gatehouse/defaults/gatehoused.yaml", mode: 0o644},
		{src: filepath.Join(p.Root, "build", "linux", "debian", "policy.yaml"), dst: "Library/Gatehouse/defaults/policy.yaml", mode: 0o644},
		{src: filepath.Join(darwin, "pkg", "uninstall.sh"), dst: "Library/Gatehouse/uninstall.sh", mode: 0o755},
		{src: filepath.Join(darwin, "com.gatehouse.gatehoused.plist"), dst: "Library/LaunchDaemons/com.gatehouse.gatehoused.plist", mode: 0o644},
		{src: filepath.Join(darwin, "com.gatehouse.agent.plist"), dst: "Library/LaunchAgents/com.gatehouse.agent.plist", mode: 0o644},
		{src: filepath.Join(darwin, "com.gatehouse.sync.plist"), dst: "Library/LaunchDaemons/com.gatehouse.sync.plist", mode: 0o644},
	}
}

// Build writes p's product archive to w: one component package (Bom,
// Payload, Scripts, PackageInfo) and the Distribution, its programs
// signed if p.Sign says how. The archive itself is not signed here
// (codesign.SignProduct does that).
func Build(p Product, w io.Writer) error {
	if !versionPattern.MatchString(p.Version) {
		return fmt.Errorf("version %q: digits and dots, such as 1.2.0", p.Version)
	}
	if p.MTime.IsZero() {
		p.MTime = time.Now().UTC().Truncate(time.Second)
	}
	work, err := os.MkdirTemp("", "gatehouse-pkg-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	root := filepath.Join(work, "root")
	if err := p.stage(root); err != nil {
		return err
	}
	if p.Sign != nil {
		if err := p.Sign.sign(root); err != nil {
			return err
		}
	}
	scripts := filepath.Join(work, "scripts")
	for _, s := range []string{"preinstall", "postinstall"} {
		if err := copyFile(filepath.Join(p.Root, "build", "darwin", "pkg", s), filepath.Join(scripts, s), 0o755, p.MTime); err != nil {
			return err
		}
	}
	if err := touchDirs(root, p.MTime); err != nil {
		return err
	}
	if err := touchDirs(scripts, p.MTime); err != nil {
		return err
	}

	entries, err := Walk(root)
	if err != nil {
		return err
	}
	var payload, scriptArchive, bomFile bytes.Buffer
	if _, err := WriteArchive(&payload, entries, Owner{0, 0}, p.MTime); err != nil {
		return fmt.Errorf("payload: %w", err)
	}
	se, err := Walk(scripts)
	if err != nil {
		return err
	}
	if _, err := WriteArchive(&scriptArchive, se, Owner{0, 0}, p.MTime); err != nil {
		return fmt.Errorf("scripts: %w", err)
	}
	be, err := bom.EntriesFromDir(root, 0, 0)
	if err != nil {
		return fmt.Errorf("bom: %w", err)
	}
	if err := bom.Write(&bomFile, be); err != nil {
		return fmt.Errorf("bom: %w", err)
	}
	comp := Component{ID: componentID, Version: p.Version, Name: componentName, Files: len(entries), KBytes: InstallKBytes(entries),
		Scripts: []string{"preinstall", "postinstall"},
		Bundles: []Bundle{{ID: "com.gatehouse.agent", ShortVersion: p.Version, Version: p.Version, Path: "./Applications/Gatehouse.app"}}}
	info, err := PackageInfo(comp)
	if err != nil {
		return err
	}
	dist, err := Distribution("Gatehouse", minMacOS, []Component{comp})
	if err != nil {
		return err
	}
	// The archives are gzip already: stored as they are, as productbuild
	// does; the XML and the Bom compressed.
	return xar.Write(w, []xar.File{
		{Name: "Distribution", Mode: 0o644, MTime: p.MTime, Data: dist, Compress: true},
		{Name: componentName + "/Bom", Mode: 0o644, MTime: p.MTime, Data: bomFile.Bytes(), Compress: true},
		{Name: componentName + "/PackageInfo", Mode: 0o644, MTime: p.MTime, Data: info, Compress: true},
		{Name: componentName + "/Payload", Mode: 0o644, MTime: p.MTime, Data: payload.Bytes()},
		{Name: componentName + "/Scripts", Mode: 0o644, MTime: p.MTime, Data: scriptArchive.Bytes()},
	})
}

// stage lays the payload out under root.
func (p Product) stage(root string) error {
	for _, f := range p.layout() {
		dst := filepath.Join(root, filepath.FromSlash(f.dst))
		if !f.infoPlist {
			if err := copyFile(f.src, dst, f.mode, p.MTime); err != nil {
				return err
			}
			continue
		}
		b, err := versioned(f.src, p.Version)
		if err != nil {
			return err
		}
		if err := writeFile(dst, b, f.mode, p.MTime); err != nil {
			return err
		}
	}
	return nil
}

// versioned is the Info.plist at path with the bundle versions set to v.
func versioned(path, v string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var info map[string]any
	if _, err := plist.Unmarshal(b, &info); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	info["CFBundleShortVersionString"], info["CFBundleVersion"] = v, v
	out, err := plist.MarshalIndent(info, plist.XMLFormat, "\t")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

func copyFile(src, dst string, mode os.FileMode, mtime time.Time) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("package input: %w", err)
	}
	return writeFile(dst, b, mode, mtime)
}

func writeFile(dst string, b []byte, mode os.FileMode, mtime time.Time) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(dst, b, mode); err != nil {
		return err
	}
	if err := os.Chmod(dst, mode); err != nil { // not the umask's
		return err
	}
	return os.Chtimes(dst, mtime, mtime)
}

// touchDirs gives every directory under root (root too) mtime and mode
// 0755, after their files are in place.
func touchDirs(root string, mtime time.Time) error {
	return filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		if err := os.Chmod(p, 0o755); err != nil {
			return err
		}
		return os.Chtimes(p, mtime, mtime)
	})
}
