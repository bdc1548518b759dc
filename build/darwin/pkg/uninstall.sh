#!/bin/sh
# Removes everything the Gatehouse .pkg put down (docs/packaging.md), as
# "gatehouse uninstall" does; this script is for a machine whose CLI is gone.
# The audit database (/var/db/gatehouse), the console enrollment
# (/var/db/gatehouse-sync and the _gatehousesync account) and the
# configuration stay unless --all is given.
#   sudo "/Library/Gatehouse/uninstall.sh" [--all]
set -u
if [ "$(id -u)" != 0 ]; then
	echo "uninstall.sh: run it as root (sudo)" >&2
	exit 1
fi
all=false
[ "${1:-}" = --all ] && all=true
# The rights first, while the mechanism is still there to restore them.
/Library/Gatehouse/bin/gatehouse authdb uninstall 2>/dev/null || true
launchctl bootout system/com.gatehouse.sync 2>/dev/null || true
launchctl bootout system/com.gatehouse.gatehoused 2>/dev/null || true
for uid in $(ps -axo uid=,comm= | awk '$2 ~ /gatehouse-agent$/ {print $1}' | sort -u); do
	launchctl bootout "gui/$uid/com.gatehouse.agent" 2>/dev/null || true
done
# Users an admin session made members of admin leave it (gatehoused would
# at the session's end; it is stopped now, so nothing writes the database).
db=/var/db/gatehouse/gatehouse.db
if [ -f "$db" ] && command -v sqlite3 >/dev/null; then
	for uid in $(sqlite3 "$db" "SELECT DISTINCT uid FROM grants WHERE kind = 'admin' AND group_added = 1" 2>/dev/null); do
		user=$(id -un "$uid" 2>/dev/null) && dseditgroup -o edit -d "$user" -t user admin 2>/dev/null || true
	done
fi
rm -f /Library/LaunchDaemons/com.gatehouse.gatehoused.plist /Library/LaunchDaemons/com.gatehouse.sync.plist /Library/LaunchAgents/com.gatehouse.agent.plist
rm -rf /Applications/Gatehouse.app /Library/Security/SecurityAgentPlugins/gatehouse.bundle /var/run/gatehouse
rm -f /etc/sudoers.d/gatehouse-sudo-* /etc/sudoers.d/gatehouse-admin-*
if $all; then
	rm -rf /var/db/gatehouse /var/db/gatehouse-sync "/Library/Application Support/Gatehouse"
	dscl . -delete /Users/_gatehousesync 2>/dev/null || true
	dscl . -delete /Groups/_gatehousesync 2>/dev/null || true
else
	echo "uninstall.sh: kept the audit database (/var/db/gatehouse), the console enrollment (/var/db/gatehouse-sync, its account _gatehousesync) and the configuration; --all removes them"
fi
pkgutil --forget com.gatehouse.pkg.gatehouse >/dev/null 2>&1 || true
rm -rf /Library/Gatehouse
exit 0
