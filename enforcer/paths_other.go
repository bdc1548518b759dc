//go:build !darwin

package enforcer

// DefaultSocket is where the local API listens unless configured
// otherwise: localapi.DefaultSocket, the clients' side of the contract
// (a test holds the two equal; the engine does not import the wire).
// DefaultConfigPath is where gatehoused reads its configuration.
const (
	DefaultSocket       = "/run/gatehouse/gatehoused.sock"
	DefaultConfigPath   = "/etc/gatehouse/gatehoused.yaml"
	defaultPolicyPath   = "/etc/gatehouse/policy.yaml"
	defaultDatabasePath = "/var/lib/gatehouse/gatehouse.db"
)

// Linux has no applications folder, and fanotify cannot hold renames or
// removals, so there are no installs or deletes to decide and no files
// the source could protect.
const defaultApplicationsDir = ""

var defaultProtectFiles []string
