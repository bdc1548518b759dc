package main

// syncService is the console sync's job the .pkg installs, and
// packagedSyncUser the account the .pkg makes for it.
const (
	syncService      = "launchd job com.gatehouse.sync"
	packagedSyncUser = "_gatehousesync"
)
