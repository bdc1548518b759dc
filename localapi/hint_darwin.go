package localapi

// startHint says how to start the daemon here: the LaunchDaemon of
// build/darwin, or by hand.
const startHint = "start it as root: `sudo launchctl kickstart system/com.gatehouse.gatehoused` (the LaunchDaemon in build/darwin), or `sudo gatehoused`"
