package enforcer

// DefaultSocket is where the local API listens unless configured
// otherwise: localapi.DefaultSocket, the clients' side of the contract
// (a test holds the two equal; the engine does not import the wire).
// DefaultConfigPath is where gatehoused reads its configuration.
// On macOS the socket is under /var/run, the configuration and policy in
// /Library/Application Support/Gatehouse, the database in /var/db (as
// other system daemons keep theirs).
const (
	DefaultSocket       = "/var/run/gatehouse/gatehoused.sock"
	DefaultConfigPath   = "/Library/Application Support/Gatehouse/gatehoused.yaml"
	defaultPolicyPath   = "/Library/Application Support/Gatehouse/policy.yaml"
	defaultDatabasePath = "/var/db/gatehouse/gatehouse.db"
)

// The applications folder, and the daemon's own files (its program, its
// database, its launchd job), which the source holds changes to.
const defaultApplicationsDir = "/Applications"

var defaultProtectFiles = []string{
	"/Library/Gatehouse",
	"/var/db/gatehouse",
	"/Library/LaunchDaemons/com.gatehouse.gatehoused.plist",
}
