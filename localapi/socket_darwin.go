package localapi

// DefaultSocket is where gatehoused listens unless configured otherwise.
const DefaultSocket = "/var/run/gatehouse/gatehoused.sock"
