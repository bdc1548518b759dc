package localapi

// startHint says how to start the daemon here. The LaunchDaemon's label
// is settled by the macOS packaging; until then this says what to run.
const startHint = "start it as root: `sudo gatehoused` (installed, it runs as a LaunchDaemon)"
