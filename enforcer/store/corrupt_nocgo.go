//go:build !cgo

package store

// Without cgo the driver is a stub that never opens a file: there is no
// SQLite error to describe or class.

func corruptHint(error) string { return "" }

func writeHint(error) string { return "" }

func lasting(error) bool { return false }
