// Package deb builds Gatehouse's Debian packages with nfpm
// (github.com/goreleaser/nfpm, used as a library; docs/packaging.md):
//
//   - gatehouse: gatehoused and the gatehouse CLI, the systemd unit, the
//     default configuration and a monitor-mode policy (conffiles), the
//     polkit rule, and the maintainer scripts that enable, start, restart
//     on upgrade and stop the service;
//   - gatehouse-agent: the menu-bar agent and its XDG autostart entry, apart
//     so that servers do not pull in WebKit.
//
// The files come from the repository's build/linux; the binaries from the
// caller (cmd/gatehouse-pkg builds them).
package deb

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
)

// Build says what to package.
type Build struct {
	// Version is the packages' version (Debian's: digits, dots, and
	// ~+-  as Debian allows, e.g. 1.2.0 or 1.2.0~rc1).
	Version string
	// Arch is Debian's architecture: amd64 or arm64.
	Arch string
	// Daemon, CLI and Agent are the built binaries; Agent "" builds no
	// agent package.
	Daemon, CLI, Agent string
	// Root is the repository (for build/linux and the README).
	Root string
	// Out is the directory the .deb files are written to.
	Out string
	// MTime is every file's modification time (reproducible builds: the
	// commit's time); zero: now.
	MTime time.Time
}

// debVersion is what this builder accepts as a version: Debian's syntax
// without an epoch, starting with a digit.
var debVersion = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*(-[A-Za-z0-9.+~]+)?$`)

const (
	maintainer = "Gatehouse <packaging@gatehouse.invalid>"
	homepage   = "https://github.com/gatehouse/gatehouse"
)

// Packages returns the package definitions of b, checked.
func Packages(b Build) ([]*nfpm.Info, error) {
	if !debVersion.MatchString(b.Version) {
		return nil, fmt.Errorf("version %q: use a Debian version such as 1.2.0 or 1.2.0~rc1", b.Version)
	}
	switch b.Arch {
	case "amd64", "arm64":
	default:
		return nil, fmt.Errorf("arch %q: amd64 or arm64", b.Arch)
	}
	linux := filepath.Join(b.Root, "build", "linux")
	need := []string{b.Daemon, b.CLI, filepath.Join(linux, "gatehoused.service"), filepath.Join(linux, "gatehoused.yaml"),
		filepath.Join(linux, "debian", "policy.yaml"), filepath.Join(linux, "polkit", "10-gatehouse.rules")}
	if b.Agent != "" {
		need = append(need, b.Agent, filepath.Join(linux, "gatehouse-agent.desktop"))
	}
	for _, p := range need {
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("package input: %w", err)
		}
	}
	mtime := b.MTime
	if mtime.IsZero() {
		mtime = time.Now().UTC().Truncate(time.Second)
	}
	file := func(src, dst string, mode os.FileMode, typ string) *files.Content {
		return &files.Content{Source: src, Destination: dst, Type: typ,
			FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: mode, MTime: mtime}}
	}
	changelog, err := writeChangelog(b, mtime)
	if err != nil {
		return nil, err
	}
	doc := func(pkg string) files.Contents {
		return files.Contents{
			file(filepath.Join(linux, "debian", "copyright"), "/usr/share/doc/"+pkg+"/copyright", 0o644, ""),
			file(changelog[pkg], "/usr/share/doc/"+pkg+"/changelog.gz", 0o644, ""),
			file(filepath.Join(linux, "debian", pkg+".lintian-overrides"), "/usr/share/lintian/overrides/"+pkg, 0o644, ""),
		}
	}
	core := &nfpm.Info{
		Name: "gatehouse", Arch: b.Arch, Platform: "linux", Version: b.Version, VersionSchema: "none",
		Section: "admin", Priority: "optional", Maintainer: maintainer, Homepage: homepage, License: "proprietary",
		Description: "application control and privilege elevation: the enforcer\n" +
			"gatehoused decides every program start through fanotify under an\n" +
			"administrator's policy, records it, and grants sudo commands and timed\n" +
			"admin sessions; the gatehouse command line talks to it.",
		MTime: mtime,
		Overridables: nfpm.Overridables{
			Depends:    []string{"libc6", "adduser"},
			Recommends: []string{"sudo", "polkitd"},
			Suggests:   []string{"gatehouse-agent"},
			Contents: append(files.Contents{
				file(b.Daemon, "/usr/sbin/gatehoused", 0o755, ""),
				file(b.CLI, "/usr/bin/gatehouse", 0o755, ""),
				file(filepath.Join(linux, "gatehoused.service"), "/lib/systemd/system/gatehoused.service", 0o644, ""),
				file(filepath.Join(linux, "gatehouse-sync.service"), "/lib/systemd/system/gatehouse-sync.service", 0o644, ""),
				file(filepath.Join(linux, "gatehouse-sync.path"), "/lib/systemd/system/gatehouse-sync.path", 0o644, ""),
				file(filepath.Join(linux, "gatehoused.yaml"), "/etc/gatehouse/gatehoused.yaml", 0o644, files.TypeConfig),
				file(filepath.Join(linux, "debian", "policy.yaml"), "/etc/gatehouse/policy.yaml", 0o644, files.TypeConfig),
				file(filepath.Join(linux, "polkit", "10-gatehouse.rules"), "/etc/polkit-1/rules.d/10-gatehouse.rules", 0o644, files.TypeConfig),
				file(filepath.Join(b.Root, "README.md"), "/usr/share/doc/gatehouse/README.md", 0o644, ""),
			}, doc("gatehouse")...),
			Scripts: nfpm.Scripts{
				PostInstall: filepath.Join(linux, "debian", "postinst"),
				PreRemove:   filepath.Join(linux, "debian", "prerm"),
				PostRemove:  filepath.Join(linux, "debian", "postrm"),
			},
			Deb: nfpm.Deb{Compression: "xz"},
		},
	}
	out := []*nfpm.Info{core}
	if b.Agent != "" {
		out = append(out, &nfpm.Info{
			Name: "gatehouse-agent", Arch: b.Arch, Platform: "linux", Version: b.Version, VersionSchema: "none",
			Section: "admin", Priority: "optional", Maintainer: maintainer, Homepage: homepage, License: "proprietary",
			Description: "application control and privilege elevation: the user's agent\n" +
				"The tray icon, dialogs and notifications of Gatehouse: it asks for\n" +
				"reasons, approvals and admin rights when the policy wants them.",
			MTime: mtime,
			Overridables: nfpm.Overridables{
				Depends:    []string{"libc6", "libgtk-3-0", "libwebkit2gtk-4.1-0"},
				Recommends: []string{"gatehouse (= " + b.Version + ")"},
				Contents: append(files.Contents{
					file(b.Agent, "/usr/bin/gatehouse-agent", 0o755, ""),
					file(filepath.Join(linux, "gatehouse-agent.desktop"), "/etc/xdg/autostart/gatehouse-agent.desktop", 0o644, files.TypeConfig),
				}, doc("gatehouse-agent")...),
				Deb: nfpm.Deb{Compression: "xz"},
			},
		})
	}
	for i, info := range out {
		out[i] = nfpm.WithDefaults(info)
		if err := nfpm.Validate(out[i]); err != nil {
			return nil, fmt.Errorf("package %s: %w", info.Name, err)
		}
	}
	return out, nil
}

// writeChangelog writes each package's Debian changelog (one entry: this
// version) gzipped into b.Out/.changelog (Write removes it), and returns
// their paths by package.
func writeChangelog(b Build, mtime time.Time) (map[string]string, error) {
	dir := filepath.Join(b.Out, ".changelog")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, pkg := range []string{"gatehouse", "gatehouse-agent"} {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		zw.ModTime = mtime // the same build makes the same bytes
		fmt.Fprintf(zw, "%s (%s) unstable; urgency=medium\n\n  * Gatehouse %s; its history is the repository's.\n\n -- %s  %s\n",
			pkg, b.Version, b.Version, maintainer, mtime.Format("Mon, 02 Jan 2006 15:04:05 -0700"))
		if err := zw.Close(); err != nil {
			return nil, err
		}
		p := filepath.Join(dir, pkg+".changelog.gz")
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			return nil, err
		}
		out[pkg] = p
	}
	return out, nil
}

// Write builds b's packages into b.Out and returns their paths.
func Write(b Build) ([]string, error) {
	infos, err := Packages(b)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(filepath.Join(b.Out, ".changelog"))
	pk, err := nfpm.Get("deb")
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(b.Out, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, info := range infos {
		p := filepath.Join(b.Out, pk.ConventionalFileName(info))
		if err := writeOne(pk, info, p); err != nil {
			return nil, fmt.Errorf("package %s: %w", info.Name, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// writeOne writes one package next to p and renames it into place, so a
// failed build leaves no half-written .deb under the final name.
func writeOne(pk nfpm.Packager, info *nfpm.Info, p string) (err error) {
	f, err := os.CreateTemp(filepath.Dir(p), ".deb-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	if err := pk.Package(info, f); err != nil {
		f.Close()
		return err
	}
	if err := errors.Join(f.Sync(), f.Close()); err != nil {
		return err
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return err
	}
	return os.Rename(f.Name(), p)
}
