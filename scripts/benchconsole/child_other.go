//go:build !linux

package main

import "syscall"

// childAttr: elsewhere the machines' process ends when its stdin closes
// (the console node's exit closes it).
func childAttr() *syscall.SysProcAttr { return nil }
