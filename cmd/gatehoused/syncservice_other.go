//go:build !darwin

package main

// syncService is the console sync's unit the .deb installs, and
// packagedSyncUser the account the .deb makes for it.
const (
	syncService      = "gatehouse-sync.service"
	packagedSyncUser = "gatehouse-sync"
)
