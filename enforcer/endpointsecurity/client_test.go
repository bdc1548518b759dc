package endpointsecurity

import (
	"strings"
	"testing"
	"time"
)

func TestNewClientErrorNamesTheFix(t *testing.T) {
	for code, want := range map[int]string{
		newClientNotEntitled:    "entitlement",
		newClientNotPermitted:   "Full Disk Access",
		newClientNotPrivileged:  "root",
		newClientTooManyClients: "another security product",
		99:                      "unknown result 99",
	} {
		if err := NewClientError(code); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("code %d: %v, want it to say %q", code, err, want)
		}
	}
	if err := NewClientError(newClientSuccess); err != nil {
		t.Errorf("success: %v", err)
	}
}

func TestDeadlineTime(t *testing.T) {
	now := time.Unix(1_764_000_000, 0)
	arm := Timebase{125, 3} // Apple silicon: 24 MHz ticks
	intel := Timebase{1, 1}
	for _, tt := range []struct {
		name           string
		deadline, mach uint64
		tb             Timebase
		want           time.Time
	}{
		{"no deadline", 0, 5, arm, time.Time{}},
		{"Apple silicon, 60 s left", 1000 + 1_440_000_000, 1000, arm, now.Add(60 * time.Second)},
		{"Intel, 1.5 s left", 2e9 + 1.5e9, 2e9, intel, now.Add(1500 * time.Millisecond)},
		{"already past", 10, 20, arm, now},
		{"no timebase", 30, 20, Timebase{}, now},
		{"absurdly far", 1 << 63, 0, Timebase{1 << 31, 1}, now.Add(time.Duration(1<<63 - 1))},
	} {
		if got := DeadlineTime(tt.deadline, tt.mach, tt.tb, now); !got.Equal(tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
