//go:build !darwin

package main

// syncService is the console sync's unit the .deb installs.
const syncService = "gatehouse-sync.service"
