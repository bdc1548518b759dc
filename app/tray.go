package app

import (
	"fmt"

	"github.com/gatehouse/gatehouse/localapi"
	"github.com/gatehouse/gatehouse/request"
)

// TrayStatus is the tray's first line: the connection and the policy.
func TrayStatus(s Snapshot) string {
	if !s.Connected {
		if s.Error == "" {
			return "Connecting to gatehoused…"
		}
		return "Not connected: " + s.Error
	}
	st := fmt.Sprintf("Connected · policy %s revision %d", s.PolicyID, s.PolicyRevision)
	if s.Warning != "" {
		st += " · " + s.Warning
	}
	return st
}

// TrayLines describes requests, one line each.
func TrayLines(rs []localapi.Request) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s — %s", programName(r.Path), stateText(r)))
	}
	return out
}

func stateText(r localapi.Request) string {
	switch r.State {
	case request.Pending:
		if r.Kind.Notice() {
			return "blocked"
		}
		return "waiting for you"
	case request.Submitted:
		return "waiting for approval"
	case request.Answered:
		return "allowed"
	case request.Cancelled:
		if r.Kind.Notice() {
			return "blocked"
		}
		return "cancelled"
	}
	return string(r.State)
}
