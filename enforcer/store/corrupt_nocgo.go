//go:build !cgo

package store

// corruptHint has nothing to add without cgo: the driver is a stub that
// never opens a file.
func corruptHint(error) string { return "" }
