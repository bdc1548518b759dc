package main

import (
	"errors"
	"log/slog"

	"github.com/gatehouse/gatehouse/enforcer"
)

// The macOS platform pieces: Endpoint Security as the event source comes
// with its own issue. Until then gatehoused starts nothing on a Mac.

func newTasks() enforcer.Tasks { return nil }

func newSource(cfg enforcer.Config, log *slog.Logger) (enforcer.Source, error) {
	return nil, errors.New("gatehoused has no event source on macOS yet: the Endpoint Security client is not built")
}
