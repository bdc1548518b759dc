//go:build !linux && !darwin

package main

import (
	"errors"
	"log/slog"

	"github.com/gatehouse/gatehouse/enforcer"
)

func newTasks() enforcer.Tasks { return nil }

func peerCode() enforcer.PeerCode { return nil }

func adminGroup(*slog.Logger) enforcer.AdminGroup { return nil }

func newSource(cfg enforcer.Config, log *slog.Logger) (enforcer.Source, error) {
	return nil, errors.ErrUnsupported
}
