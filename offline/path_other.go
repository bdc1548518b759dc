//go:build !darwin

package offline

// DefaultSecretPath is where the daemon keeps the machine's offline
// secret (next to its database).
const DefaultSecretPath = "/var/lib/gatehouse/offline.key"
