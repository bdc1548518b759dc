//go:build !darwin

package localapi

// DefaultSocket is where gatehoused listens unless configured otherwise.
const DefaultSocket = "/run/gatehouse/gatehoused.sock"
