package app

// launchCommand starts a bundle's main executable through LaunchServices
// (/usr/bin/open), anything else directly. Not yet run on a Mac.
func launchCommand(path string, args []string) (string, []string) {
	if argv, ok := openBundle(path, args); ok {
		return "/usr/bin/open", argv
	}
	return path, args
}
