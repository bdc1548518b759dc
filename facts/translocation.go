package facts

import "strings"

// App Translocation: macOS runs a quarantined app that has not been moved
// by Finder from a random read-only mount,
// /private/var/folders/XX/YYYY/T/AppTranslocation/UUID/d/Name.app, so the
// path the kernel reports is not where the user put it. OriginalPath
// (macOS) asks the Security framework where it really is; the policy
// still decides on the path that runs, and the record names both.

// Translocated reports whether path lies on an App Translocation mount.
func Translocated(path string) bool {
	rest, ok := strings.CutPrefix(path, "/private/var/folders/")
	if !ok {
		return false
	}
	_, after, ok := strings.Cut(rest, "/AppTranslocation/")
	if !ok {
		return false
	}
	// UUID/d/...
	uuid, below, ok := strings.Cut(after, "/")
	return ok && len(uuid) == 36 && strings.HasPrefix(below, "d/")
}
