// Package enforcer is gatehoused's core: it composes an event source (the
// kernel adapter), fact gathering with a cache, grants, the compiled policy,
// the audit store and the local API into allow/deny answers.
//
// The hot path — an exec whose file facts are cached — reads only memory
// and /proc, evaluates the policy and answers at once. It never waits for a
// person, the network, the GUI or a disk write: audit events, new requests
// and grant use counts go through bounded queues to writer goroutines, and
// terminal messages are written by their own goroutine with a timeout.
// A cache miss (hashing a file seen for the first time) runs in a bounded
// pool of workers so a large file does not hold up other execs, raced by a
// watchdog that answers by itself when the decision budget runs out
// (fail-open by default; fail-closed when configured), logged and counted.
//
// Kernel adapters only translate (enforcer/fanotify on Linux; Endpoint
// Security on macOS later) and plug in through Source.
package enforcer
