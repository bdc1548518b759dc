//go:build !darwin

package facts

// OriginalPath is for macOS's App Translocation: elsewhere nothing is
// translocated.
func OriginalPath(path string) (string, bool) { return "", false }
