package pkg

import (
	"encoding/xml"
	"strings"
	"testing"
)

func TestPackageInfoAndDistribution(t *testing.T) {
	c := Component{ID: "com.gatehouse.pkg.gatehouse", Version: "1.2.0", Name: "gatehouse.pkg", Files: 12, KBytes: 40960,
		Scripts: []string{"preinstall", "postinstall"},
		Bundles: []Bundle{{ID: "com.gatehouse.agent", ShortVersion: "1.2.0", Version: "1.2.0", Path: "./Applications/Gatehouse.app"}}}
	pi, err := PackageInfo(c)
	if err != nil {
		t.Fatal(err)
	}
	var back struct {
		Identifier string `xml:"identifier,attr"`
		Location   string `xml:"install-location,attr"`
		Relocate   string `xml:"relocatable,attr"`
		Payload    struct {
			Files  int   `xml:"numberOfFiles,attr"`
			KBytes int64 `xml:"installKBytes,attr"`
		} `xml:"payload"`
		Post struct {
			File string `xml:"file,attr"`
		} `xml:"scripts>postinstall"`
		Bundle struct {
			Path string `xml:"path,attr"`
		} `xml:"bundle-version>bundle"`
	}
	if err := xml.Unmarshal(pi, &back); err != nil {
		t.Fatalf("%v\n%s", err, pi)
	}
	if back.Identifier != c.ID || back.Location != "/" || back.Relocate != "false" || back.Payload.Files != 12 || back.Payload.KBytes != 40960 ||
		back.Post.File != "./postinstall" || back.Bundle.Path != "./Applications/Gatehouse.app" {
		t.Errorf("PackageInfo read back as %+v\n%s", back, pi)
	}

	d, err := Distribution("Gatehouse", "13.0", []Component{c})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`<installer-gui-script minSpecVersion="2">`, `hostArchitectures="arm64,x86_64"`, `enable_localSystem="true"`,
		`<os-version min="13.0">`, `<line choice="com.gatehouse.pkg.gatehouse">`, `#gatehouse.pkg</pkg-ref>`, `<choice id="com.gatehouse.pkg.gatehouse" visible="false">`} {
		if !strings.Contains(string(d), want) {
			t.Errorf("Distribution lacks %s:\n%s", want, d)
		}
	}
	var any struct{}
	if err := xml.Unmarshal(d, &any); err != nil {
		t.Errorf("Distribution is not XML: %v", err)
	}

	for _, bad := range []Component{
		{ID: "com gatehouse", Version: "1", Name: "a.pkg", Files: 1},
		{ID: "com.x", Version: "one", Name: "a.pkg", Files: 1},
		{ID: "com.x", Version: "1", Name: "../a.pkg", Files: 1},
		{ID: "com.x", Version: "1", Name: "a.pkg", Files: 1, Scripts: []string{"postflight"}},
	} {
		if _, err := PackageInfo(bad); err == nil {
			t.Errorf("%+v was accepted", bad)
		}
	}
	if _, err := PackageInfo(Component{ID: "com.x", Version: "1", Name: "a.pkg", Files: 1, Bundles: []Bundle{{ID: "com.x", Path: "/Applications/X.app"}}}); err == nil {
		t.Error("an absolute bundle path was accepted")
	}
}
