package main

// syncService is the console sync's job the .pkg installs.
const syncService = "launchd job com.gatehouse.sync"
