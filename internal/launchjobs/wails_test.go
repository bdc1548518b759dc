package launchjobs

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// wails.json builds the agent the way the README's plain go build does:
// the same tags (wails build adds production itself), the same output
// name, the frontend directory that holds the dialogs, and the bundle the
// Info.plist here describes.
func TestWailsJSONAgreesWithTheREADMEsBuild(t *testing.T) {
	b, err := os.ReadFile("../../wails.json")
	if err != nil {
		t.Fatal(err)
	}
	var w map[string]any
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatalf("wails.json: %v", err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("go build -tags ([a-z0-9_,]+) -o bin/([a-z-]+) \\.`").FindStringSubmatch(string(readme))
	if m == nil {
		t.Fatal("README.md has no `go build -tags … -o bin/… .` line for the agent")
	}
	readmeTags := strings.Split(m[1], ",")
	wailsTags := append(strings.Fields(strings.ReplaceAll(w["build:tags"].(string), ",", " ")), "production")
	slices.Sort(readmeTags)
	slices.Sort(wailsTags)
	if !slices.Equal(readmeTags, wailsTags) {
		t.Errorf("README builds with tags %v, wails.json with %v (+ production)", readmeTags, wailsTags)
	}
	if w["outputfilename"] != m[2] || w["outputfilename"] != AgentInfo("")["CFBundleExecutable"] {
		t.Errorf("outputfilename %v, README's %s, Info.plist's %v", w["outputfilename"], m[2], AgentInfo("")["CFBundleExecutable"])
	}
	dir, _ := w["frontend:dir"].(string)
	if _, err := os.Stat("../../" + dir + "/dist/index.html"); err != nil {
		t.Errorf("frontend:dir %q holds no dist/index.html (the dialogs main.go embeds): %v", dir, err)
	}
	if w["build:dir"] != "./build" {
		t.Errorf("build:dir %v: wails reads build/darwin/Info.plist from it", w["build:dir"])
	}
}
