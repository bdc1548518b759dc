//go:build !linux

package enforcer

import (
	"context"
	"errors"
	"log/slog"
)

// Daemon is a running enforcer. On this platform there is no kernel
// adapter yet (Endpoint Security comes with the macOS issue).
type Daemon struct{ Engine *Engine }

// Start reports that this platform has no event source yet.
func Start(cfg Config, log *slog.Logger) (*Daemon, error) {
	return nil, errors.New("gatehoused has no event source on this platform yet: the Endpoint Security adapter is not built")
}

// Wait returns at once.
func (d *Daemon) Wait(ctx context.Context) error { return nil }
