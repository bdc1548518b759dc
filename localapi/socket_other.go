//go:build !darwin

package localapi

// DefaultSocket is where gatehoused listens unless configured otherwise.
const DefaultSocket = "/run/gatehouse/gatehoused.sock"

// DefaultSyncIdentity is where "gatehoused enroll" writes the console
// sync's identity and where "gatehouse sync" reads it: in a directory of
// sync_user's, with the sync's state beside it.
const DefaultSyncIdentity = "/var/lib/gatehouse-sync/identity.json"
