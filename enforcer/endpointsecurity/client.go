package endpointsecurity

import (
	"fmt"
	"math/bits"
	"time"
)

// NewClientError explains an es_new_client result other than success:
// what was wrong and what to do.
func NewClientError(code int) error {
	switch code {
	case newClientSuccess:
		return nil
	case newClientNotEntitled:
		return fmt.Errorf("es_new_client: not entitled (%d): gatehoused must be signed with the com.apple.developer.endpoint-security.client entitlement and a provisioning profile that grants it; an unsigned or re-signed build cannot be an Endpoint Security client", code)
	case newClientNotPermitted:
		return fmt.Errorf("es_new_client: not permitted (%d): gatehoused needs Full Disk Access — approve it in System Settings > Privacy & Security > Full Disk Access, or deploy a PPPC configuration profile granting it (SystemPolicyAllFiles) through MDM", code)
	case newClientNotPrivileged:
		return fmt.Errorf("es_new_client: not privileged (%d): gatehoused must run as root (as its LaunchDaemon does)", code)
	case newClientTooManyClients:
		return fmt.Errorf("es_new_client: too many clients (%d): the system's limit of Endpoint Security clients is reached; another security product may hold them — check with `sudo eslogger` or the other product's vendor", code)
	case newClientInvalidArgument:
		return fmt.Errorf("es_new_client: invalid argument (%d): a bug in gatehoused, please report it", code)
	case newClientInternal:
		return fmt.Errorf("es_new_client: internal error (%d) in Endpoint Security; see the unified log (log show --predicate 'subsystem == \"com.apple.endpointsecurity\"')", code)
	}
	return fmt.Errorf("es_new_client: unknown result %d", code)
}

// Timebase is mach_timebase_info: mach ticks × Numer / Denom = ns.
type Timebase struct{ Numer, Denom uint32 }

// DeadlineTime turns a message's deadline (mach_absolute_time ticks) into
// wall-clock time, given the mach time now and the wall time now. A
// deadline already past gives now; zero (no deadline) gives the zero time.
func DeadlineTime(deadline, machNow uint64, tb Timebase, now time.Time) time.Time {
	if deadline == 0 {
		return time.Time{}
	}
	if deadline <= machNow || tb.Denom == 0 {
		return now
	}
	hi, lo := bits.Mul64(deadline-machNow, uint64(tb.Numer))
	if hi >= uint64(tb.Denom) { // over 2^64 ns: no deadline that matters
		return now.Add(time.Duration(1<<63 - 1))
	}
	ns, _ := bits.Div64(hi, lo, uint64(tb.Denom))
	if ns > 1<<63-1 {
		ns = 1<<63 - 1
	}
	return now.Add(time.Duration(ns))
}
