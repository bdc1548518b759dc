//go:build !linux && !darwin

package localapi

const startHint = "start gatehoused as root"
