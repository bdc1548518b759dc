package localapi

// startHint says how to start the daemon here (the .deb's systemd unit).
const startHint = "start it with `sudo systemctl start gatehoused`"
