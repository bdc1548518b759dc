package pkg

import (
	"encoding/xml"
	"fmt"
	"regexp"
	"strings"
)

// The two XML files of a flat product archive: each component package's
// PackageInfo (what pkgbuild writes) and the archive's Distribution (what
// productbuild writes), after Apple's "Distribution XML Reference" and the
// PackageInfo that pkgbuild produces.

// Component describes one component package.
type Component struct {
	// ID is the package identifier (com.gatehouse.pkg.gatehouse): what
	// pkgutil --pkgs lists and receipts are named by.
	ID      string
	Version string
	// Name is the component's file name inside the product archive
	// (gatehouse.pkg).
	Name string
	// Files and KBytes are the payload's file count and installed size.
	Files  int
	KBytes int64
	// Scripts are the scripts in the Scripts archive the component runs
	// (preinstall, postinstall); none: no Scripts archive.
	Scripts []string
	// Bundles are the app bundles the payload holds, for Installer's
	// version checks (path relative to the install location).
	Bundles []Bundle
}

// Bundle is an app bundle of a payload.
type Bundle struct {
	ID, ShortVersion, Version, Path string
}

var (
	idPattern      = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,199}$`)
	versionPattern = regexp.MustCompile(`^[0-9][0-9A-Za-z.+~-]{0,63}$`)
	namePattern    = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.pkg$`)
)

func (c Component) check() error {
	switch {
	case !idPattern.MatchString(c.ID):
		return fmt.Errorf("package identifier %q: a reverse-DNS name (letters, digits, '.', '-')", c.ID)
	case !versionPattern.MatchString(c.Version):
		return fmt.Errorf("version %q: digits and dots, such as 1.2.0", c.Version)
	case !namePattern.MatchString(c.Name):
		return fmt.Errorf("component name %q: a file name ending in .pkg", c.Name)
	case c.Files < 1 || c.KBytes < 0:
		return fmt.Errorf("component %s: %d files, %d KiB", c.ID, c.Files, c.KBytes)
	}
	for _, s := range c.Scripts {
		if s != "preinstall" && s != "postinstall" {
			return fmt.Errorf("script %q: preinstall or postinstall", s)
		}
	}
	return nil
}

type pkgInfoXML struct {
	XMLName       xml.Name    `xml:"pkg-info"`
	FormatVersion string      `xml:"format-version,attr"`
	Identifier    string      `xml:"identifier,attr"`
	Version       string      `xml:"version,attr"`
	Location      string      `xml:"install-location,attr"`
	Auth          string      `xml:"auth,attr"`
	OverwritePerm string      `xml:"overwrite-permissions,attr"`
	Relocatable   string      `xml:"relocatable,attr"`
	Payload       payloadXML  `xml:"payload"`
	Scripts       *scriptsXML `xml:"scripts"`
	Bundles       []bundleXML `xml:"bundle-version>bundle"`
}

type payloadXML struct {
	Files  int   `xml:"numberOfFiles,attr"`
	KBytes int64 `xml:"installKBytes,attr"`
}

type scriptsXML struct {
	Pre  *scriptXML `xml:"preinstall"`
	Post *scriptXML `xml:"postinstall"`
}

type scriptXML struct {
	File string `xml:"file,attr"`
}

type bundleXML struct {
	ID           string `xml:"id,attr"`
	ShortVersion string `xml:"CFBundleShortVersionString,attr"`
	Version      string `xml:"CFBundleVersion,attr"`
	Path         string `xml:"path,attr"`
}

// PackageInfo is c's PackageInfo file: installed at /, as root, not
// relocatable (Installer must not put the app where a copy of it was
// found), permissions set from the payload.
func PackageInfo(c Component) ([]byte, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	p := pkgInfoXML{FormatVersion: "2", Identifier: c.ID, Version: c.Version, Location: "/", Auth: "root",
		OverwritePerm: "true", Relocatable: "false", Payload: payloadXML{Files: c.Files, KBytes: c.KBytes}}
	if len(c.Scripts) > 0 {
		p.Scripts = &scriptsXML{}
		for _, s := range c.Scripts {
			if s == "preinstall" {
				p.Scripts.Pre = &scriptXML{File: "./preinstall"}
			} else {
				p.Scripts.Post = &scriptXML{File: "./postinstall"}
			}
		}
	}
	for _, b := range c.Bundles {
		if !idPattern.MatchString(b.ID) || !strings.HasPrefix(b.Path, "./") || strings.Contains(b.Path, "..") {
			return nil, fmt.Errorf("bundle %q at %q: a bundle identifier and a ./ path inside the payload", b.ID, b.Path)
		}
		p.Bundles = append(p.Bundles, bundleXML(b))
	}
	return marshal(p)
}

type distributionXML struct {
	XMLName    xml.Name    `xml:"installer-gui-script"`
	MinSpec    string      `xml:"minSpecVersion,attr"`
	Title      string      `xml:"title"`
	Options    optionsXML  `xml:"options"`
	Domains    domainsXML  `xml:"domains"`
	OSVersions []osVersion `xml:"volume-check>allowed-os-versions>os-version"`
	Outline    outlineXML  `xml:"choices-outline"`
	Choices    []choiceXML `xml:"choice"`
	PkgRefs    []pkgRefXML `xml:"pkg-ref"`
}

type optionsXML struct {
	Customize      string `xml:"customize,attr"`
	RequireScripts string `xml:"require-scripts,attr"`
	HostArch       string `xml:"hostArchitectures,attr"`
}

type domainsXML struct {
	LocalSystem     string `xml:"enable_localSystem,attr"`
	Anywhere        string `xml:"enable_anywhere,attr"`
	CurrentUserHome string `xml:"enable_currentUserHome,attr"`
}

type osVersion struct {
	Min string `xml:"min,attr"`
}

type outlineXML struct {
	Line lineXML `xml:"line"`
}

type lineXML struct {
	Choice string    `xml:"choice,attr"`
	Lines  []lineXML `xml:"line"`
}

type choiceXML struct {
	ID      string      `xml:"id,attr"`
	Visible string      `xml:"visible,attr,omitempty"`
	Refs    []pkgRefXML `xml:"pkg-ref"`
}

type pkgRefXML struct {
	ID           string `xml:"id,attr"`
	Version      string `xml:"version,attr,omitempty"`
	OnConclusion string `xml:"onConclusion,attr,omitempty"`
	KBytes       int64  `xml:"installKBytes,attr,omitempty"`
	Ref          string `xml:",chardata"`
}

// Distribution is the product archive's Distribution: one default choice
// installing every component, to the startup volume only (the local
// system domain), on macOS minOS or later, on Apple silicon and Intel.
func Distribution(title, minOS string, comps []Component) ([]byte, error) {
	if title == "" || len(comps) == 0 {
		return nil, fmt.Errorf("a distribution needs a title and at least one component")
	}
	if !versionPattern.MatchString(minOS) {
		return nil, fmt.Errorf("minimum macOS %q: a version such as 13.0", minOS)
	}
	d := distributionXML{MinSpec: "2", Title: title,
		Options:    optionsXML{Customize: "never", RequireScripts: "false", HostArch: "arm64,x86_64"},
		Domains:    domainsXML{LocalSystem: "true", Anywhere: "false", CurrentUserHome: "false"},
		OSVersions: []osVersion{{Min: minOS}},
		Outline:    outlineXML{Line: lineXML{Choice: "default"}},
		Choices:    []choiceXML{{ID: "default"}}}
	for _, c := range comps {
		if err := c.check(); err != nil {
			return nil, err
		}
		d.Outline.Line.Lines = append(d.Outline.Line.Lines, lineXML{Choice: c.ID})
		d.Choices = append(d.Choices, choiceXML{ID: c.ID, Visible: "false", Refs: []pkgRefXML{{ID: c.ID}}})
		d.PkgRefs = append(d.PkgRefs, pkgRefXML{ID: c.ID, Version: c.Version, OnConclusion: "none", KBytes: c.KBytes, Ref: "#" + c.Name})
	}
	return marshal(d)
}

func marshal(v any) ([]byte, error) {
	b, err := xml.MarshalIndent(v, "", "    ")
	if err != nil {
		return nil, err
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}
