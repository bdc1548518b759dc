// Package version names the build of Gatehouse's programs: the release
// the packaging stamps in (-ldflags "-X
// github.com/gatehouse/gatehouse/internal/version.release=1.2.0"), else
// the commit Go recorded when it built from a git checkout
// ("dev+0123abcd4567", "-dirty" with uncommitted changes), else "dev".
// The daemon, the agent and the sync report it to the console (its
// Computers page shows them).
package version

import "runtime/debug"

var release string

// String is this build's version.
func String() string {
	if release != "" {
		return release
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "dev"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev, dirty string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "-dirty"
			}
		}
	}
	if rev == "" {
		return "dev"
	}
	return "dev+" + rev[:min(12, len(rev))] + dirty
}
