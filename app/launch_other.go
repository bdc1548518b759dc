//go:build !darwin

package app

// launchCommand starts the program directly: only macOS has bundles to
// open through a launch service.
func launchCommand(path string, args []string) (string, []string) { return path, args }
