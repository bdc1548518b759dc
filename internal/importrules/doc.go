// Package importrules holds no code: its test states which package may
// import which (docs/architecture.md draws the same picture), checked with
// `go list -deps` for Linux and for macOS.
package importrules
